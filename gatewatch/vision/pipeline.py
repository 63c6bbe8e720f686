"""The analysis loop of one camera: source -> detector/tracker -> gate logic -> evidence drafts.

It knows nothing of storage: every finished ``EventDraft`` goes to the sink it is given. Frames
are decoded ahead on a thread of their own (``analysis.read_ahead``); a live source drops its
oldest waiting frames rather than let analysis lag ever further behind. Clips are encoded on a
thread of their own too (``clips.ClipEncoder``), so three threads share the work of a camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from gatewatch.settings import AnalysisSettings, CameraSettings, EvidenceSettings
from gatewatch.vision.analyser import FrameAnalyser
from gatewatch.vision.clips import ClipEncoder
from gatewatch.vision.detector import YoloTracker
from gatewatch.vision.reader import ReadAhead
from gatewatch.vision.recorder import EventDraft, EvidenceRecorder
from gatewatch.vision.runstats import RunStats, StageTimes
from gatewatch.vision.sources import Frame, FrameSource

log = logging.getLogger(__name__)


def _timed(frames: Iterable[Frame], times: StageTimes) -> Iterator[Frame]:
    """``frames``, adding the time spent waiting for each to the decode stage."""
    iterator = iter(frames)
    while True:
        with times.measure("decode"):
            frame = next(iterator, None)
        if frame is None:
            return
        yield frame


class GatePipeline:
    """Runs one camera's analysis over a source until it ends or ``stop`` is set."""

    def __init__(self, camera: CameraSettings, tracker: YoloTracker, evidence: EvidenceSettings,
                 analysis: AnalysisSettings | None = None) -> None:
        self.camera = camera
        self.tracker = tracker
        self.evidence = evidence
        self.analysis = analysis or AnalysisSettings()

    def run(
        self,
        source: FrameSource,
        sink: Callable[[EventDraft], None],
        *,
        stop: threading.Event | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        stats: RunStats | None = None,
    ) -> RunStats:
        """Analyse ``source`` to its end; ``stats``, when given, is filled as the run goes."""
        stats = stats if stats is not None else RunStats()
        started = time.perf_counter()
        logged, last_log = stats.snapshot(), started
        analyser: FrameAnalyser | None = None
        recorder: EvidenceRecorder | None = None
        clips: ClipEncoder | None = None
        reader = self._reader(source)

        def emit(drafts: list[EventDraft]) -> None:
            for draft in drafts:
                stats.crossings[(draft.crossing.label, draft.crossing.direction.value)] += 1
                sink(draft)

        try:
            for frame in _timed(reader if reader is not None else source.frames(), stats.stages):
                if analyser is None or recorder is None:
                    analyser = FrameAnalyser(self.camera, self.tracker, self.analysis, frame.size, stats)
                    clips = ClipEncoder(self.evidence, name=f"clips-{self.camera.id}", times=stats.stages)
                    recorder = EvidenceRecorder(self.evidence, source.fps, *frame.size, clips=clips)
                result = analyser.analyse(frame)
                with stats.stages.measure("record"):
                    emit(recorder.add(frame, result.objects, result.crossings, measured=result.measured))
                stats.frames += 1
                now = time.perf_counter()
                stats.seconds = now - started
                if now - last_log >= self.analysis.stats_log_seconds:
                    log.info("%s: %s", self.camera.id, stats.since(logged).describe(source.fps))
                    logged, last_log = stats.snapshot(), now
                if on_frame is not None:
                    on_frame(frame)
                if stop is not None and stop.is_set():
                    break
        finally:
            if reader is not None:
                reader.close()
            # Stopped, ended or broken off: crossings already seen are still stored.
            try:
                if recorder is not None:
                    emit(recorder.flush())
            finally:
                if clips is not None:
                    clips.close()
        stats.seconds = time.perf_counter() - started
        return stats

    def _reader(self, source: FrameSource) -> ReadAhead | None:
        # A live source always gets one: analysis must never fall ever further behind it.
        capacity = max(1, self.analysis.read_ahead) if source.is_live else self.analysis.read_ahead
        if not capacity:
            return None
        return ReadAhead(source.frames(), capacity, drop_oldest=source.is_live, name=f"read-{self.camera.id}")
