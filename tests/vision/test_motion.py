"""Motion gating: detection waits while the gate window is as it was when it was last found empty."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from gatewatch.vision.motion import MotionGate
from gatewatch.vision.region import Window
from gatewatch.vision.sources import ArrayPicture, Frame

WIDTH, HEIGHT = 640, 360
WINDOW = Window(0, 100, WIDTH, 160, (320, 96))  # rows 100..260 across the whole width


def frame(index: int, *patches: tuple[int, int, int]) -> Frame:
    """A grey street with bright 60 x 60 squares at (x, y) of the given brightness."""
    image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    for x, y, level in patches:
        image[y : y + 60, x : x + 60] = level
    return Frame(index, datetime(2026, 11, 20, tzinfo=UTC), ArrayPicture(image))


def test_before_any_empty_frame_everything_counts_as_moved() -> None:
    assert MotionGate(WINDOW, (WIDTH, HEIGHT), 0.01).moved(frame(0))


def test_an_unchanged_window_is_still() -> None:
    gate = MotionGate(WINDOW, (WIDTH, HEIGHT), 0.01)
    gate.nothing_in(frame(0))
    assert not gate.moved(frame(1))


def test_something_new_in_the_window_is_motion() -> None:
    gate = MotionGate(WINDOW, (WIDTH, HEIGHT), 0.01)
    gate.nothing_in(frame(0))
    assert gate.moved(frame(1, (300, 150, 230)))


def test_changes_outside_the_window_or_below_the_threshold_are_not() -> None:
    gate = MotionGate(WINDOW, (WIDTH, HEIGHT), 0.01)
    gate.nothing_in(frame(0))
    assert not gate.moved(frame(1, (300, 290, 230)))  # below the window
    assert not gate.moved(frame(2, (300, 150, 100)))  # 10 grey levels: noise, not motion
    coarse = MotionGate(WINDOW, (WIDTH, HEIGHT), 0.2)  # a fifth of the window must change
    coarse.nothing_in(frame(0))
    assert not coarse.moved(frame(3, (300, 150, 230)))


def test_a_change_the_detector_found_empty_stops_counting() -> None:
    gate = MotionGate(WINDOW, (WIDTH, HEIGHT), 0.01)
    gate.nothing_in(frame(0))
    parked = frame(1, (300, 150, 230))
    assert gate.moved(parked)
    gate.nothing_in(parked)  # the detector looked: no object there (a sign put up, say)
    assert not gate.moved(frame(2, (300, 150, 230)))
