"""The analysis loop of one camera: source -> detector/tracker -> gate logic -> evidence drafts.

It knows nothing of storage: every finished ``EventDraft`` goes to the sink it is given. Frames
are decoded ahead on a thread of their own (``analysis.read_ahead``); a live source drops
waiting frames rather than let analysis lag ever further behind. In ``fast`` mode a live camera
first thins out detection far from the line and then drops only frames analysis can do without
(``overload``).

A source whose stream a browser plays (H.264) gets clips of its own packets: a ``PacketRing``
listens to the source from before its first packet and keeps the recent ones, and a crossing's
clip is cut from it (``recorder``). Any other source (H.265, MJPEG, a webcam, or
``evidence.clip_mode: encode``) gets its clips encoded on a thread of their own
(``clips.ClipEncoder``), so three threads share the work of such a camera.

A camera with a detect stream (``paired.PairedSource``) is analysed on that stream's frames; the
recorder gets each one as the main stream's frame for the same moment, its boxes scaled to the
main stream's pixels, so clips, snapshots and plates come from the main stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import numpy as np

from gatewatch.models.enums import ClipKind
from gatewatch.settings import (
    PLATED_CLASSES,
    AnalysisSettings,
    CameraSettings,
    EvidenceSettings,
    GateSettings,
    PlateSettings,
)
from gatewatch.vision.analyser import FrameAnalyser, analysed_window, detector_for
from gatewatch.vision.clips import ClipEncoder
from gatewatch.vision.detector import YoloTracker
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.overload import Overload
from gatewatch.vision.packets import PacketRing, clip_kind_of
from gatewatch.vision.paired import FILE_LEAD_SECONDS, PairedSource
from gatewatch.vision.reader import ReadAhead
from gatewatch.vision.recorder import EventDraft, EvidenceRecorder
from gatewatch.vision.runstats import RunStats, StageTimes
from gatewatch.vision.sources import ArrayPicture, Frame, FrameSource, Size
from gatewatch.vision.views import LargestViews

log = logging.getLogger(__name__)

#: Seconds of packets kept beyond a clip's own, for the frames decoded ahead of analysis and
#: those inside the decoder (B-frames, frame threads) when the clip is cut.
PACKET_SLACK_SECONDS = 2.0


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
                 analysis: AnalysisSettings | None = None, plates: PlateSettings | None = None,
                 lines: Callable[[], GateSettings] | None = None) -> None:
        self.camera = camera
        self.tracker = tracker
        self.evidence = evidence
        self.analysis = analysis or AnalysisSettings()
        self.plates = plates  # None: no vehicle's views are kept for its plate
        # Asked before each frame for the gate line in force (None: the camera's, always); it hands back
        # the same object while the line stays, so the per-frame check is an identity test.
        self.lines = lines

    def run(
        self,
        source: FrameSource,
        sink: Callable[[EventDraft], None],
        *,
        stop: threading.Event | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        on_analysed: Callable[[Frame, list[TrackedObject], GateSettings], None] | None = None,
        stats: RunStats | None = None,
    ) -> RunStats:
        """Analyse ``source`` to its end; ``stats``, when given, is filled as the run goes.

        ``on_frame`` gets each frame once it is analysed; ``on_analysed`` gets it too, as analysed
        (a detect stream's frame, not the main stream's), with the tracks followed in it and the
        gate line they were counted against (the live view draws them).
        """
        stats = stats if stats is not None else RunStats()
        started = time.perf_counter()
        logged, last_log = stats.snapshot(), started
        analyser: FrameAnalyser | None = None
        recorder: EvidenceRecorder | None = None
        clips: ClipEncoder | None = None
        packets = self._packets(source)  # listening before the first packet is read
        paired = source if isinstance(source, PairedSource) else None
        overload = self._overload(source)
        reader = self._reader(source, overload, stats)

        def emit(drafts: list[EventDraft]) -> None:
            for draft in drafts:
                stats.crossings[(draft.crossing.label, draft.crossing.direction.value)] += 1
                sink(draft)

        try:
            for frame in _timed(reader if reader is not None else source.frames(), stats.stages):
                if analyser is None or recorder is None:
                    analyser = FrameAnalyser(self.camera, self.tracker, self._analysis_for(source, frame.size),
                                             frame.size, stats, overload)
                    if packets is None:
                        clips = ClipEncoder(self.evidence, name=f"clips-{self.camera.id}", times=stats.stages)
                    size = frame.size if paired is None else paired.main_size
                    recorder = EvidenceRecorder(self.evidence, source.fps, *size, clips=clips,
                                                packets=packets, views=self._views())
                if self.lines is not None and (gate := self.lines()) is not analyser.gate and gate != analyser.gate:
                    log.info("%s: the gate line moved to %s, inside %s; counting against it from frame %d",
                             self.camera.id, gate.line, gate.inside, frame.index)
                    analyser.move_line(gate)
                result = analyser.analyse(frame)
                if on_analysed is not None:
                    on_analysed(frame, result.objects, analyser.gate)
                with stats.stages.measure("record"):
                    shown, objects, crossings = frame, result.objects, result.crossings
                    if paired is not None:  # the main stream's frame and pixels
                        shown, objects, crossings = paired.to_main(frame, objects, crossings)
                    emit(recorder.add(shown, objects, crossings, measured=result.measured))
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

    def warm_up(self, source: FrameSource) -> bool:
        """Compile the model for the input sizes ``source``'s analysis will use, on a blank frame.

        Run before the stream is played: compiling takes seconds, and a live stream's frames
        would meanwhile pile up and be dropped. False when the size is not known from the
        opened stream (a webcam): the first frame then compiles.
        """
        size = analysed_size(source)
        if size is None:
            return False
        blank = Frame(0, datetime.now(UTC), ArrayPicture(np.zeros((size[1], size[0], 3), np.uint8)))
        analysis = self._analysis_for(source, size)
        window = analysed_window(self.camera.gate, analysis, size, self.tracker.settings.image_size)
        detector_for(self.tracker, analysis, window, size).detect(blank)
        return True

    def _analysis_for(self, source: FrameSource, size: Size) -> AnalysisSettings:
        """The analysis settings for frames of ``size``: a detect stream's are in its own pixels."""
        return self.analysis if not isinstance(source, PairedSource) else source.detect_analysis(self.analysis, size)

    def _packets(self, source: FrameSource) -> PacketRing | None:
        """A ring of ``source``'s packets, listening to it, when its clips are copied; None when encoded."""
        if clip_kind_of(source.stream, self.evidence.clip_mode) is not ClipKind.COPY:
            return None
        ahead = max(1, self.analysis.read_ahead) / source.fps
        keep = self.evidence.pre_seconds + self.evidence.post_seconds + ahead + PACKET_SLACK_SECONDS
        if isinstance(source, PairedSource):  # its ring, which its main-stream frames are decoded from too
            source.ring.keep_seconds = max(source.ring.keep_seconds, keep + FILE_LEAD_SECONDS)
            return source.ring
        ring = PacketRing(keep)
        source.listen(ring.add)
        return ring

    def _views(self) -> LargestViews | None:
        if self.plates is None or not self.plates.enabled:
            return None
        return LargestViews(PLATED_CLASSES, self.plates.crops_per_track)

    def _overload(self, source: FrameSource) -> Overload | None:
        """A live camera's overload policy; None for a file (analysed whole) and for the reference mode."""
        if not source.is_live or self.analysis.mode != "fast":
            return None
        return Overload(max(1, self.analysis.read_ahead))

    def _reader(self, source: FrameSource, overload: Overload | None, stats: RunStats) -> ReadAhead | None:
        # A live source always gets one: analysis must never fall ever further behind it.
        capacity = max(1, self.analysis.read_ahead) if source.is_live else self.analysis.read_ahead
        if not capacity:
            return None
        return ReadAhead(source.frames(), capacity, drop_oldest=source.is_live, name=f"read-{self.camera.id}",
                         overload=overload, stats=stats)


def analysed_size(source: FrameSource) -> Size | None:
    """The size of the frames analysis gets from ``source`` (its detect stream's, when paired), as
    the opened stream says before any frame is decoded; None when it does not say."""
    if isinstance(source, PairedSource):
        return source.detect_size
    context = source.stream.codec_context if source.stream is not None else None
    return (context.width, context.height) if context is not None and context.width else None
