"""One camera's per-frame analysis: detects only when it can change what the gate counts.

In ``reference`` mode every frame is detected on, whole. In ``fast`` mode the detector looks at
the gate window only, the scheduler decides which frames it looks at, and while nothing is
tracked the motion gate holds it back until something in the window changes. The tracker is
advanced on every frame, analysed or not, so its state stays in frames.

For a live camera, ``overload`` carries the camera's overload level one way (thinned: the
scheduler spaces detections far from the line further apart) and the analysis's plan the
other (which frames it will detect on, whether a track is at the line), for the decoding
thread to choose what it may drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewatch.settings import AnalysisSettings, CameraSettings, GateSettings
from gatewatch.vision.detector import Detector, YoloTracker
from gatewatch.vision.gate import Crossing, GateCounter, GateLine
from gatewatch.vision.motion import MotionGate
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.overload import Overload, Plan
from gatewatch.vision.region import Window, gate_window, reference_window, tiles
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.schedule import Scheduler
from gatewatch.vision.sources import Frame


@dataclass(frozen=True, slots=True)
class FrameResult:
    objects: list[TrackedObject]
    crossings: list[Crossing]
    measured: bool  # the objects were detected in this frame, not predicted


class FrameAnalyser:
    """Tracks and counts one source's frames, in order, for one camera."""

    def __init__(self, camera: CameraSettings, yolo: YoloTracker, analysis: AnalysisSettings,
                 size: tuple[int, int], stats: RunStats, overload: Overload | None = None) -> None:
        self.yolo, self.analysis, self.size = yolo, analysis, size
        self.counted = yolo.counted
        self.tracker = yolo.tracker(analysis.track_warmup)
        self.stats = stats
        self.overload = overload if analysis.mode == "fast" else None  # the reference detects on every frame
        self._times = stats.stages
        self.move_line(camera.gate)  # sets self._next, the index of the next frame to detect on
        self._tracking = False  # whether the tracker held any track after the last detection
        self._last_index = -1

    def move_line(self, gate: GateSettings) -> None:
        """Count against ``gate`` from the next frame on: its counter, detection window, schedule and
        motion gate follow the line, while the tracker keeps its tracks (and their ids)."""
        fast = self.analysis.mode == "fast"
        line = GateLine(gate, *self.size)
        self.counter = GateCounter(line, gate.settle_frames)
        window = analysed_window(gate, self.analysis, self.size, self.yolo.settings.image_size)
        self.detector = detector_for(self.yolo, self.analysis, window, self.size)
        self.scheduler = Scheduler(line, self.analysis) if fast else None
        gated = fast and self.analysis.motion_threshold > 0
        self.motion = MotionGate(window, self.size, self.analysis.motion_threshold) if gated else None
        self._next = 0  # detect on the next frame: the new line may lie where nothing was looked for

    @property
    def gate(self) -> GateSettings:
        """The gate line counted against now."""
        return self.counter.line.gate

    def analyse(self, frame: Frame) -> FrameResult:
        gap = frame.index - self._last_index - 1
        self._last_index = frame.index
        with self._times.measure("track"):
            for _ in range(gap):  # dropped by a live source that analysis could not keep up with
                self.tracker.skip()
        self.stats.dropped += gap
        thinned = self.overload is not None and self.overload.thinned
        if thinned:
            self.stats.degraded += 1
        if not self._wanted(frame):
            with self._times.measure("track"):
                self.tracker.skip()
                return FrameResult(self.tracker.predicted(), [], measured=False)
        with self._times.measure("detect"):
            detections = self.detector.detect(frame)
        with self._times.measure("track"):
            objects = self.tracker.update(detections, frame)
            if self.scheduler is not None:
                motions = self.tracker.motions()
                self._tracking = bool(motions)
                self._next = frame.index + self.scheduler.stride(motions, thinned=thinned)
                if self.overload is not None:
                    self.overload.plan = Plan(self._next, self.scheduler.near_line(motions))
            else:
                self._next = frame.index + 1
        if self.motion is not None and not self._tracking:
            with self._times.measure("motion"):
                self.motion.nothing_in(frame)
        with self._times.measure("gate"):
            crossings = self.counter.update(objects, frame.index, frame.time)
            crossings = [c for c in crossings if c.label in self.counted]  # every class is tracked
        self.stats.analysed += 1
        return FrameResult(objects, crossings, measured=True)

    def _wanted(self, frame: Frame) -> bool:
        if frame.index < self._next:
            return False
        if self.motion is None or self._tracking:
            return True
        with self._times.measure("motion"):
            return self.motion.moved(frame)


def analysed_window(gate: GateSettings, analysis: AnalysisSettings, size: tuple[int, int], image_size: int) -> Window:
    """The part of frames of ``size`` the mode detects on: the strip around ``gate`` (fast) or the whole frame."""
    width, height = size
    if analysis.mode == "fast":
        return gate_window(gate, width, height, analysis, image_size)
    return reference_window(width, height, image_size, analysis)


def detector_for(yolo: YoloTracker, analysis: AnalysisSettings, window: Window, size: tuple[int, int]) -> Detector:
    """A detector for ``window`` of frames of ``size``, or for the tiles it is cut into."""
    return yolo.detector(tiles(window, yolo.settings.image_size, analysis.object_height * size[1]))
