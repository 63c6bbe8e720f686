"""A live camera that analysis cannot keep up with: first fewer detections far from the line, then
dropped frames, never near the line; its crossings stay those of the offline analysis.

The end-to-end test plays the street footage as a live camera on a clock that only analysis moves
(each detection costs made-up seconds), so the overload it meets is the same however busy the
machine running the test is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gatewatch.settings import AnalysisSettings, GateSettings, load_settings
from gatewatch.vision.agreement import frame_shift
from gatewatch.vision.detector import Detector, YoloTracker, load_model
from gatewatch.vision.gate import GateLine
from gatewatch.vision.overload import Overload, Plan
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.reader import ReadAhead
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.schedule import Scheduler
from gatewatch.vision.sources import ArrayPicture, FileSource, Frame
from gatewatch.vision.tracking import TrackMotion
from tests.shared_files import MODEL, SAMPLE_CONFIG, STREET

IMAGE = ArrayPicture(np.zeros((4, 4, 3), np.uint8))
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


# --- the policy ------------------------------------------------------------------------------------


def test_the_level_follows_the_backlog_with_hysteresis() -> None:
    overload = Overload(8)
    levels = [overload.observe(backlog).name for backlog in (0, 3, 4, 5, 4, 3, 7, 8, 12, 6, 3, 2, 3, 5)]
    assert levels == ["NORMAL", "NORMAL", "NORMAL", "THINNED", "THINNED", "THINNED", "THINNED", "DROPPING",
                      "DROPPING", "THINNED", "THINNED", "NORMAL", "NORMAL", "THINNED"]
    assert overload.hard_cap == 16


def test_only_frames_analysis_will_not_detect_on_may_go_and_none_near_the_line() -> None:
    overload = Overload(8)
    assert not overload.droppable(0)  # nothing planned yet: every frame may be wanted
    overload.plan = Plan(next_wanted=10, near_line=False)
    assert overload.droppable(9)
    assert not overload.droppable(10)
    overload.plan = Plan(next_wanted=10, near_line=True)
    assert not overload.droppable(9)


# --- the scheduler, thinned ------------------------------------------------------------------------

LINE = GateLine(GateSettings(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.2), margin=0.02), 1000, 1000)


def track(feet_y: float, *, settled: bool = True) -> TrackMotion:
    """A still 100 x 100 px box whose bottom centre stands at (500, feet_y)."""
    return TrackMotion((450.0, feet_y - 100.0, 550.0, feet_y), (0.0, 0.0), 0.0, settled, False)


def test_overload_spaces_detections_far_from_the_line_and_nowhere_else() -> None:
    scheduler = Scheduler(LINE, AnalysisSettings(max_stride=4, overload_max_stride=12, line_stride=2,
                                                 near_line=0.02))
    assert (scheduler.stride([]), scheduler.stride([], thinned=True)) == (4, 12)
    assert (scheduler.stride([track(900.0)]), scheduler.stride([track(900.0)], thinned=True)) == (4, 12)
    at_the_line = [track(900.0), track(510.0)]
    assert scheduler.stride(at_the_line, thinned=True) == scheduler.stride(at_the_line) == 2
    new_at_the_line = [track(900.0), track(530.0, settled=False)]
    assert scheduler.stride(new_at_the_line, thinned=True) == 1
    assert scheduler.near_line(at_the_line) and scheduler.near_line(new_at_the_line)
    assert not scheduler.near_line([track(900.0), track(100.0)])


def test_the_overload_stride_is_never_shorter_than_the_usual_one() -> None:
    scheduler = Scheduler(LINE, AnalysisSettings(max_stride=6, overload_max_stride=3))
    assert scheduler.stride([], thinned=True) == 6


# --- the reader's choice of frame to drop ----------------------------------------------------------


def held_frames(count: int, go_on: threading.Event, delivered: threading.Event) -> Iterator[Frame]:
    """Frame 0, then, once ``go_on`` is set, frames 1 .. count - 1 at once; ``delivered`` set after."""
    for index in range(count):
        yield Frame(index, START, IMAGE)
        if index == 0:
            go_on.wait()
    delivered.set()


def read_while_analysis_is_busy(count: int, plan: Plan, capacity: int = 4) -> tuple[list[int], ReadAhead, RunStats]:
    """Indexes received when analysis holds frame 0 until all ``count`` frames were decoded."""
    overload, stats = Overload(capacity), RunStats()
    go_on, delivered = threading.Event(), threading.Event()
    reader = ReadAhead(held_frames(count, go_on, delivered), capacity, drop_oldest=True, overload=overload,
                       stats=stats)
    stream = iter(reader)
    assert next(stream).index == 0
    overload.plan = plan  # as analysis leaves frame 0
    go_on.set()
    assert delivered.wait(5.0)
    received = [frame.index for frame in stream]
    reader.close()
    return received, reader, stats


def test_a_full_queue_drops_the_frames_analysis_will_not_detect_on() -> None:
    received, reader, stats = read_while_analysis_is_busy(10, Plan(next_wanted=6, near_line=False))
    assert received == [6, 7, 8, 9]  # 1 to 5 would have been skipped anyway
    assert (reader.forced, stats.dropped_near_line) == (0, 0)


def test_with_no_such_frame_the_queue_grows_to_its_hard_cap_before_the_oldest_goes() -> None:
    received, reader, stats = read_while_analysis_is_busy(10, Plan(next_wanted=2, near_line=False))
    assert received == [2, 3, 4, 5, 6, 7, 8, 9]  # only frame 1 could go; twice the capacity kept
    assert reader.forced == 0
    received, reader, stats = read_while_analysis_is_busy(11, Plan(next_wanted=1, near_line=False))
    assert received == [3, 4, 5, 6, 7, 8, 9, 10]  # the hard cap held the queue to 8: frames 1 and 2 went
    assert reader.forced == 2 and stats.dropped_near_line == 0  # no track was at the line


def test_near_the_line_no_frame_goes_until_the_hard_cap() -> None:
    received, reader, stats = read_while_analysis_is_busy(11, Plan(next_wanted=6, near_line=True))
    assert received == [3, 4, 5, 6, 7, 8, 9, 10]
    assert reader.forced == stats.dropped_near_line == 2


def test_decoding_cpu_is_counted() -> None:
    def busy() -> Iterator[Frame]:
        for index in range(3):
            np.linalg.svd(np.random.default_rng(index).random((300, 300)))  # CPU, not waiting
            yield Frame(index, START, IMAGE)

    stats = RunStats()
    reader = ReadAhead(busy(), 4, drop_oldest=False, stats=stats)
    assert [frame.index for frame in reader] == [0, 1, 2]
    reader.close()
    assert stats.decode_cpu > 0.0


# --- the status line -------------------------------------------------------------------------------


def test_the_description_shows_degradation_and_drops_near_the_line() -> None:
    stats = RunStats(frames=100, analysed=30, dropped=40, dropped_near_line=2, degraded=12, seconds=5.0)
    stats.stages.add("detect", 3.0)
    line = stats.describe(25.0)
    assert "detected on 30%, degraded on 12%, 40 dropped (2 near the line); ms per frame: detect 30.0" in line
    assert stats.is_degraded and stats.behind(20.0)
    calm = RunStats(frames=100, analysed=30, seconds=4.0)
    assert "detected on 30%, 0 dropped; ms per frame" in calm.describe(25.0)
    assert not calm.is_degraded and not calm.behind(25.0)
    assert RunStats(frames=100, degraded=1, seconds=4.0).is_degraded


# --- end to end: the street footage, overloaded ----------------------------------------------------

#: Made-up seconds of analysis: a detection, and a frame only tracked. While another camera keeps
#: the shared detector busy (frames ``busy``), a detection takes longer: how much, each test says.
DETECT_SECONDS, TRACK_SECONDS = 0.020, 0.002
FAR = range(60, 190)  # the street footage's walkers are far from the line in these frames


class VirtualLiveCamera:
    """A file played as a live camera whose clock only analysis moves.

    Frame i comes once analysis has spent i / fps made-up seconds, or at once when analysis has
    finished every frame queued before it (it then waits for the camera, and time passes). Analysis
    goes on from a frame only once the camera delivered every frame due by then, so the queue the
    reader sees is the same however fast either thread runs.
    """

    is_live = True
    total_frames = None

    def __init__(self, path: Path, busy: range, busy_detect_seconds: float) -> None:
        self.busy, self.busy_detect_seconds = busy, busy_detect_seconds
        self._file = FileSource(path, START, threads=1)
        self.description, self.fps, self.stream = f"live {path.name}", self._file.fps, self._file.stream
        self.detected: set[int] = set()
        self.seen: list[int] = []
        self._clock = 0.0
        self._queued = self._done = -1  # the last frame the reader queued; the last one analysis finished
        self._tick = self._settled = 0  # clock moves; the last one the camera saw before waiting
        self._ended = False
        self._changed = threading.Condition()

    def listen(self, listener) -> None:
        self._file.listen(listener)

    def close(self) -> None:
        self._file.close()

    def frames(self) -> Iterator[Frame]:
        for frame in self._file.frames():
            due = frame.index / self.fps
            with self._changed:
                self._queued = frame.index - 1  # the reader asks for a frame once it queued the one before
                while self._clock < due and self._done < self._queued:
                    self._settled = self._tick
                    self._changed.notify_all()
                    if not self._changed.wait(10.0):
                        break  # analysis stopped
                self._clock = max(self._clock, due)
            yield frame
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def analysed(self, frame: Frame) -> None:
        """``on_frame``: analysis is done with ``frame``, at its made-up cost; the camera catches up."""
        if frame.index in self.detected:
            cost = self.busy_detect_seconds if frame.index in self.busy else DETECT_SECONDS
        else:
            cost = TRACK_SECONDS
        self.seen.append(frame.index)
        with self._changed:
            self._clock += cost
            self._done = frame.index
            self._tick += 1
            self._changed.notify_all()
            while self._settled < self._tick and not self._ended:
                if not self._changed.wait(10.0):
                    break


class NotingTracker(YoloTracker):
    """The real model, noting the frames it detects on in the camera."""

    camera: VirtualLiveCamera | None = None

    def detector(self, windows) -> Detector:
        detector, camera = super().detector(windows), self.camera
        detect = detector.detect

        def noted(frame: Frame) -> np.ndarray:
            if camera is not None:
                camera.detected.add(frame.index)
            return detect(frame)

        detector.detect = noted  # type: ignore[method-assign]
        return detector


@pytest.fixture(scope="module")
def model():
    settings = load_settings(SAMPLE_CONFIG)
    return load_model(settings.detector.model_copy(update={"model": str(MODEL)}))


def analyse(source, model, on_frame=None) -> tuple[list[tuple[str, str, int]], RunStats, ReadAhead | None]:
    settings = load_settings(SAMPLE_CONFIG)
    camera = settings.camera("street-gate")
    tracker = NotingTracker(settings.detector, camera.classes, model=model)
    tracker.camera = source if isinstance(source, VirtualLiveCamera) else None
    readers: list[ReadAhead] = []

    class Pipeline(GatePipeline):
        def _reader(self, *args, **kwargs):
            readers.append(reader := super()._reader(*args, **kwargs))
            return reader

    drafts: list[EventDraft] = []
    try:
        # The busy spells below are sized for a queue of 8 frames (the default was 8 when they were).
        analysis = settings.analysis.model_copy(update={"read_ahead": 8})
        stats = Pipeline(camera, tracker, settings.evidence, analysis).run(source, drafts.append, on_frame=on_frame)
    finally:
        source.close()
    found = [(d.crossing.label, d.crossing.direction.value, d.crossing.frame_index) for d in drafts]
    return found, stats, readers[0] if readers else None


@pytest.fixture(scope="module")
def offline(model) -> list[tuple[str, str, int]]:
    """The street footage's crossings, analysed as a file: the yardstick."""
    found, stats, _ = analyse(FileSource(STREET, START), model)
    assert found and stats.dropped == stats.degraded == 0
    return found


def test_a_live_camera_a_little_behind_only_thins_out_detection(model, offline) -> None:
    # 60 ms a detection: the usual strides there (2 to 4 frames) fall behind at times; longer ones do not.
    camera = VirtualLiveCamera(STREET, FAR, busy_detect_seconds=0.060)
    live, stats, _ = analyse(camera, model, on_frame=camera.analysed)
    assert stats.degraded > 0 and stats.dropped == 0
    assert not [i for i in range(60) if i not in camera.seen], "a frame before the busy spell went"
    shift = frame_shift(offline, live)
    assert shift is not None and shift <= 3, f"offline {sorted(offline)} != live {sorted(live)}"


def test_an_overloaded_live_camera_drops_frames_only_far_from_the_line(model, offline) -> None:
    # 250 ms a detection: even the longest strides fall behind (the walkers' steps limit them), and frames
    # must go; the queue reaches its hard cap, but with no track at the line.
    camera = VirtualLiveCamera(STREET, FAR, busy_detect_seconds=0.250)
    live, stats, reader = analyse(camera, model, on_frame=camera.analysed)
    dropped = sorted(set(range(camera.seen[-1] + 1)) - set(camera.seen))
    assert reader is not None and reader.overload is not None
    assert stats.degraded > 0  # detection was thinned out first ...
    assert stats.dropped == len(dropped) > 0  # ... and it was not enough: frames were dropped
    assert stats.dropped_near_line == 0  # ... while no track was at the line
    crossed = [frame for _, _, frame in offline]
    assert not [f for f in dropped if any(abs(f - c) <= 10 for c in crossed)], "a frame near a crossing went"
    shift = frame_shift(offline, live)
    assert shift is not None and shift <= 3, f"offline {sorted(offline)} != live {sorted(live)}"


def test_a_short_spell_near_the_line_drops_nothing(model, offline) -> None:
    # Three detections of 250 ms as walkers near the line: the queue grows past its size (today's
    # drop-oldest lost 5 frames there, and the crossings moved by a frame) and then catches up.
    camera = VirtualLiveCamera(STREET, range(240, 243), busy_detect_seconds=0.250)
    live, stats, reader = analyse(camera, model, on_frame=camera.analysed)
    assert reader is not None and reader.overload is not None
    assert stats.dropped == 0 and camera.seen == list(range(len(camera.seen)))
    assert stats.degraded > 0
    assert frame_shift(offline, live) == 0, f"offline {sorted(offline)} != live {sorted(live)}"
