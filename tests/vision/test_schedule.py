"""Adaptive analysis rate: every frame near the line, fewer where nothing can change the count."""

from __future__ import annotations

import pytest

from gatewatch.settings import AnalysisSettings, GateSettings
from gatewatch.vision.gate import GateLine
from gatewatch.vision.schedule import Scheduler
from gatewatch.vision.tracking import TrackMotion

# A horizontal line across a 1000 x 1000 image at y = 500; the dead band is 20 px either side and
# tracks within 20 px more of it are "near".
LINE = GateLine(GateSettings(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.2), margin=0.02), 1000, 1000)


def scheduler(max_stride: int = 8, step_fraction: float = 0.2, line_stride: int = 1) -> Scheduler:
    return Scheduler(LINE, AnalysisSettings(max_stride=max_stride, near_line=0.02, step_fraction=step_fraction,
                                            new_track_speed=0.5, line_stride=line_stride))


def track(feet_y: float, vy: float = 0.0, *, height: float = 100.0, speed: float | None = None,
          settled: bool = True, lost: bool = False) -> TrackMotion:
    """A 100 px wide box whose bottom centre stands at (500, feet_y), walking vy px per frame."""
    return TrackMotion((450.0, feet_y - height, 550.0, feet_y), (0.0, vy), abs(vy) if speed is None else speed,
                       settled, lost)


def test_with_nothing_tracked_the_stride_is_the_longest() -> None:
    assert scheduler().stride([]) == 8


def test_a_still_track_far_from_the_line_waits_the_longest() -> None:
    assert scheduler().stride([track(900.0)]) == 8


@pytest.mark.parametrize("feet_y", [500.0, 519.0, 540.0, 460.0])
def test_a_track_in_or_near_the_dead_band_is_analysed_every_frame(feet_y: float) -> None:
    assert scheduler().stride([track(feet_y)]) == 1


@pytest.mark.parametrize("feet_y", [500.0, 540.0, 460.0])
def test_at_the_line_a_settled_track_is_analysed_at_least_every_line_stride(feet_y: float) -> None:
    assert scheduler(line_stride=3).stride([track(feet_y)]) == 3
    # ... and more often while it moves fast: 100 px box, a fifth of it in 10 px steps.
    assert scheduler(line_stride=3).stride([track(feet_y, speed=10.0)]) == 2
    # A new track there must be confirmed before it crosses; a lost one is looked for as often.
    assert scheduler(line_stride=3).stride([track(feet_y, settled=False)]) == 1
    assert scheduler(line_stride=3).stride([track(feet_y, speed=100.0, lost=True)]) == 3
    # The line stride never exceeds the longest one.
    assert scheduler(max_stride=2, line_stride=3).stride([track(feet_y)]) == 2


def test_a_new_track_is_assumed_to_come_at_half_its_height_a_frame() -> None:
    # 100 px tall, 360 px beyond the near zone: 50 px a frame is 7 frames away.
    assert scheduler().stride([track(900.0, settled=False)]) == 7
    assert scheduler().stride([track(600.0, settled=False)]) == 1


def test_the_next_analysis_comes_before_an_approaching_track_gets_near() -> None:
    # 300 px beyond the near zone at 540 px, walking 50 px a frame towards it: 6 frames away.
    # (speed 0 leaves the overlap rule out of it.)
    assert scheduler().stride([track(840.0, -50.0, speed=0.0)]) == 6
    # Walking away from the line, it never gets near.
    assert scheduler().stride([track(840.0, 50.0, speed=0.0)]) == 8


def test_a_track_may_not_move_further_than_a_fraction_of_its_box_between_analyses() -> None:
    # 100 px box, 10 px a frame sideways: 20 px (a fifth of the box) is two frames.
    assert scheduler().stride([track(900.0, speed=10.0)]) == 2


def test_a_lost_track_counts_only_while_it_could_be_near_the_line() -> None:
    assert scheduler().stride([track(900.0, speed=100.0, lost=True)]) == 8
    assert scheduler().stride([track(530.0, speed=100.0, lost=True)]) == 1


def test_the_most_urgent_track_decides() -> None:
    tracks = [track(900.0), track(840.0, -50.0, speed=0.0), track(100.0)]
    assert scheduler().stride(tracks) == 6
    assert scheduler().stride([*tracks, track(505.0)]) == 1
