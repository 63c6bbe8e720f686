"""The analysis loop of one camera: source -> detector/tracker -> gate logic -> evidence drafts.

It knows nothing of storage: every finished ``EventDraft`` goes to the sink it is given.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gatewatch.settings import CameraSettings, EvidenceSettings
from gatewatch.vision.detector import TrackedObject
from gatewatch.vision.gate import GateCounter, GateLine
from gatewatch.vision.recorder import EventDraft, EvidenceRecorder
from gatewatch.vision.sources import Frame, FrameSource


class ObjectTracker(Protocol):
    def update(self, image: np.ndarray) -> list[TrackedObject]: ...


@dataclass
class RunStats:
    frames: int = 0
    seconds: float = 0.0
    crossings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, direction) -> count

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class GatePipeline:
    """Runs one camera's analysis over a source until it ends or ``stop`` is set."""

    def __init__(self, camera: CameraSettings, tracker: ObjectTracker, evidence: EvidenceSettings) -> None:
        self.camera = camera
        self.tracker = tracker
        self.evidence = evidence

    def run(
        self,
        source: FrameSource,
        sink: Callable[[EventDraft], None],
        *,
        stop: threading.Event | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> RunStats:
        stats = RunStats()
        started = time.perf_counter()
        counter: GateCounter | None = None
        recorder: EvidenceRecorder | None = None

        def emit(drafts: list[EventDraft]) -> None:
            for draft in drafts:
                stats.crossings[(draft.crossing.label, draft.crossing.direction.value)] += 1
                sink(draft)

        try:
            for frame in source.frames():
                if counter is None or recorder is None:
                    height, width = frame.image.shape[:2]
                    counter = GateCounter(GateLine(self.camera.gate, width, height), self.camera.gate.settle_frames)
                    recorder = EvidenceRecorder(self.evidence, source.fps, width, height)
                objects = self.tracker.update(frame.image)
                crossings = counter.update(objects, frame.index, frame.time)
                emit(recorder.add(frame, objects, crossings))
                stats.frames += 1
                if on_frame is not None:
                    on_frame(frame)
                if stop is not None and stop.is_set():
                    break
        finally:
            # Stopped, ended or broken off: crossings already seen are still stored.
            if recorder is not None:
                emit(recorder.flush())
        stats.seconds = time.perf_counter() - started
        return stats
