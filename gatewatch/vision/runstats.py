"""What an analysis run did and where its time went, stage by stage.

Stage times are sums of perf_counter intervals, cheap enough to take on every frame. ``decode``
is the time analysis waited for the next frame; ``record`` keeps clip frames and snapshot
candidates. Beside the analysis rather than in it, ``encode`` is spent on the clip encoder's
thread and ``store`` on the event writer's (evidence files, plates and rows).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

#: The stages, in the order a frame passes them.
STAGES = ("decode", "motion", "detect", "track", "gate", "record", "encode", "store")


class StageTimes:
    """Seconds spent per stage; each stage is added to by one thread only."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def measure(self, stage: str) -> _Interval:
        """``with times.measure("detect"): ...`` adds the block's duration to the stage."""
        return _Interval(self.seconds, stage)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds


class _Interval:
    __slots__ = ("_seconds", "_stage", "_start")

    def __init__(self, seconds: dict[str, float], stage: str) -> None:
        self._seconds, self._stage = seconds, stage

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._seconds[self._stage] += time.perf_counter() - self._start


@dataclass
class RunStats:
    frames: int = 0  # frames analysis went through (each tracked; not each detected on)
    analysed: int = 0  # frames the detector ran on
    dropped: int = 0  # frames a live source dropped because analysis fell behind
    dropped_near_line: int = 0  # of those, frames dropped while a track was near the line
    degraded: int = 0  # frames analysis went through while overload thinned out detection far from the line
    seconds: float = 0.0
    decode_cpu: float = 0.0  # CPU seconds of the thread decoding ahead (``reader.ReadAhead``)
    crossings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, direction) -> count
    stages: StageTimes = field(default_factory=StageTimes)

    @property
    def work_seconds(self) -> float:
        """The camera's own work: every stage but ``decode`` (waiting for a frame), plus decoding's CPU."""
        waited = self.stages.seconds["decode"]
        return sum(self.stages.seconds.values()) - waited + self.decode_cpu

    @property
    def load(self) -> float:
        """Seconds of work per second: the camera's share of the box, before dividing by the others'."""
        return self.work_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def snapshot(self) -> RunStats:
        """A copy of the counters as they stand, to measure a window against later."""
        copy = RunStats(self.frames, self.analysed, self.dropped, self.dropped_near_line, self.degraded,
                        self.seconds, self.decode_cpu, Counter(self.crossings))
        copy.stages.seconds.update(self.stages.seconds)
        return copy

    def since(self, earlier: RunStats) -> RunStats:
        """The counters of the window from ``earlier`` (a snapshot of this run) to now."""
        window = RunStats(self.frames - earlier.frames, self.analysed - earlier.analysed,
                          self.dropped - earlier.dropped, self.dropped_near_line - earlier.dropped_near_line,
                          self.degraded - earlier.degraded, self.seconds - earlier.seconds,
                          self.decode_cpu - earlier.decode_cpu, self.crossings - earlier.crossings)
        for stage, seconds in self.stages.seconds.items():
            window.stages.seconds[stage] = seconds - earlier.stages.seconds[stage]
        return window

    @property
    def is_degraded(self) -> bool:
        """Whether overload thinned out detection or dropped frames (``overload``)."""
        return self.degraded > 0 or self.dropped > 0

    def behind(self, nominal_fps: float) -> bool:
        """Whether analysis was degraded or went through frames slower than the source delivers them."""
        return self.is_degraded or self.frames_per_second < 0.97 * nominal_fps

    def describe(self, nominal_fps: float) -> str:
        """One line for logs and the camera's status: rate, share detected, overload, stage costs per frame.

        "degraded on" shows only when overload thinned detection; "(N near the line)" only when frames
        were dropped. "D dropped" is thus followed by ";" or " (".
        """
        per_frame = sorted(((s / self.frames * 1000.0, stage) for stage, s in self.stages.seconds.items() if s > 0),
                           reverse=True) if self.frames else []
        stages = ", ".join(f"{stage} {ms:.1f}" for ms, stage in per_frame)
        factor = self.frames_per_second / nominal_fps if nominal_fps > 0 else 0.0
        detected = self.analysed / self.frames if self.frames else 0.0
        degraded = f"degraded on {self.degraded / self.frames:.0%}, " if self.degraded and self.frames else ""
        near_line = f" ({self.dropped_near_line} near the line)" if self.dropped else ""
        return (f"{self.frames} frames at {self.frames_per_second:.1f} frames/s ({factor:.2f}x real time), "
                f"detected on {detected:.0%}, {degraded}{self.dropped} dropped{near_line}; "
                f"ms per frame: {stages or 'none'}")
