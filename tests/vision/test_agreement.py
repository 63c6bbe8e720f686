"""Counting any line again from one recorded analysis, as the sweep does with the reference mode's tracks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatewatch.settings import GateSettings
from gatewatch.vision.agreement import TrackedFrame, count_line
from gatewatch.vision.objects import TrackedObject

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SIZE = (1000, 1000)


def recorded() -> list[TrackedFrame]:
    """A motorcycle riding down the picture from y 100 to 900, its rider on it, and a car parked at y 300."""
    frames = []
    for index in range(41):
        bottom = 100.0 + 20.0 * index
        frames.append(TrackedFrame(index, T0 + timedelta(seconds=index / 10), [
            TrackedObject(1, "motorcycle", 0.8, (480.0, bottom - 120.0, 540.0, bottom)),
            TrackedObject(2, "person", 0.8, (485.0, bottom - 170.0, 535.0, bottom - 40.0)),
            TrackedObject(3, "car", 0.9, (100.0, 200.0, 300.0, 300.0)),
        ]))
    return frames


def gate(y: float, inside_y: float = 0.99) -> GateSettings:
    return GateSettings(line=((0.0, y), (1.0, y)), inside=(0.5, inside_y))


def test_each_line_counts_the_tracks_that_cross_it_and_only_the_counted_classes() -> None:
    frames = recorded()
    assert count_line(frames, gate(0.5), SIZE, ["motorcycle", "person"]) == {
        ("motorcycle", "entry"): 1, ("person", "entry"): 1}
    assert count_line(frames, gate(0.5, inside_y=0.05), SIZE, ["motorcycle"]) == {("motorcycle", "exit"): 1}
    assert count_line(frames, gate(0.2), SIZE, ["car", "motorcycle"]) == {("motorcycle", "entry"): 1}
    assert count_line(frames, gate(0.95), SIZE, ["motorcycle"]) == {}  # the bike never gets there
