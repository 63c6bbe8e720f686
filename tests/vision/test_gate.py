"""Gate logic on synthetic tracks: what a guard would count by eye."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.models.enums import Direction
from gatewatch.settings import GateSettings
from gatewatch.vision.detector import TrackedObject
from gatewatch.vision.gate import Crossing, GateCounter, GateLine, rides_on

WIDTH, HEIGHT, FPS = 1000, 1000, 10.0
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def person(track_id: int, feet_y: float, x: float = 500.0, label: str = "person", conf: float = 0.8,
           height: float = 200.0) -> TrackedObject:
    """A box whose bottom centre (the feet) stands at (x, feet_y) in pixels."""
    return TrackedObject(track_id, label, conf, (x - 40, feet_y - height, x + 40, feet_y))


def counter(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.2), margin=0.02, settle=2) -> GateCounter:
    gate = GateSettings(line=line, inside=inside, margin=margin, settle_frames=settle)
    return GateCounter(GateLine(gate, WIDTH, HEIGHT), gate.settle_frames)


def run(gate: GateCounter, frames: list[list[TrackedObject]]) -> list[Crossing]:
    crossings = []
    for index, objects in enumerate(frames):
        crossings += gate.update(objects, index, T0 + timedelta(seconds=index / FPS))
    return crossings


def walk(track_id: int, ys: list[float], **kwargs) -> list[list[TrackedObject]]:
    return [[person(track_id, y, **kwargs)] for y in ys]


def test_walking_in_across_the_line_is_one_entry() -> None:
    crossings = run(counter(), walk(1, [900, 800, 700, 600, 520, 480, 400, 300, 200]))
    assert [(c.track_id, c.direction) for c in crossings] == [(1, Direction.ENTRY)]
    # 520 and 480 lie in the dead band (20 px); it counts on the second frame clear of it.
    assert crossings[0].frame_index == 7


def test_walking_out_is_one_exit() -> None:
    crossings = run(counter(), walk(1, [200, 300, 400, 480, 520, 600, 700]))
    assert [c.direction for c in crossings] == [Direction.EXIT]


def test_inside_point_decides_the_direction() -> None:
    ys = [900, 800, 700, 600, 400, 300, 200]
    assert [c.direction for c in run(counter(inside=(0.5, 0.9)), walk(1, ys))] == [Direction.EXIT]
    # A vertical line with inside on the right: walking right is an entry.
    gate = counter(line=((0.5, 0.0), (0.5, 1.0)), inside=(0.9, 0.5))
    frames = [[person(1, 700, x=x)] for x in (100, 200, 300, 400, 600, 700, 800)]
    assert [c.direction for c in run(gate, frames)] == [Direction.ENTRY]


def test_lingering_and_wobbling_on_the_line_counts_once() -> None:
    approach = [900, 800, 700, 600]
    # Standing on the line, feet jittering a few pixels either side of it (and of the band).
    wobble = [505, 495, 512, 488, 530, 515, 470, 525, 490, 535, 510, 465, 520, 500] * 3
    onward = [420, 400, 350, 300, 250]
    crossings = run(counter(), walk(1, approach + wobble + onward))
    assert [c.direction for c in crossings] == [Direction.ENTRY]


def test_stepping_over_and_back_is_no_crossing() -> None:
    # One frame beyond the band, then back out: shorter than settle_frames.
    crossings = run(counter(settle=2), walk(1, [700, 600, 540, 470, 540, 600, 700]))
    assert crossings == []


def test_leaving_the_picture_at_its_side_just_past_the_line_counts_at_once() -> None:
    """A motorbike turning off the street past the line is gone before it could settle."""
    leaving = [[person(1, y, x=x)] for y, x in ((700, 800), (600, 880), (470, 960))] + [[]] * 5
    assert [c.direction for c in run(counter(settle=2), leaving)] == [Direction.ENTRY]
    # The same single step beyond the band away from the edge still has to settle.
    stopping = [[person(2, y, x=500)] for y in (700, 600, 470)] + [[]] * 5
    assert run(counter(settle=2), stopping) == []


def test_a_box_centre_beyond_the_line_with_feet_before_it_is_not_a_crossing() -> None:
    # A tall person: the box centre is 150 px beyond the line, the feet 50 px before it.
    frames = walk(1, [800, 700, 600, 560, 560, 560, 560], height=400)
    assert run(counter(), frames) == []


def test_passing_behind_a_sign_still_counts() -> None:
    before = walk(7, [900, 800, 700, 600])
    hidden: list[list[TrackedObject]] = [[] for _ in range(40)]  # four seconds out of sight
    after = walk(7, [400, 350, 300])
    crossings = run(counter(), before + hidden + after)
    assert [(c.track_id, c.direction) for c in crossings] == [(7, Direction.ENTRY)]


def test_feet_out_of_frame_are_not_judged() -> None:
    # The box is cut off by the bottom edge: its bottom is the frame edge, not the feet.
    gate = counter(line=((0.0, 0.95), (1.0, 0.95)), inside=(0.5, 0.5))
    frames = walk(3, [1000, 1000, 1000, 1000]) + walk(3, [900, 880])
    assert run(gate, frames) == []


def test_crossing_beyond_the_end_of_the_line_is_not_counted() -> None:
    gate = counter(line=((0.0, 0.5), (0.4, 0.5)), inside=(0.2, 0.2))
    assert run(gate, walk(1, [900, 700, 600, 400, 300, 200], x=800)) == []
    assert len(run(gate, walk(2, [900, 700, 600, 400, 300, 200], x=200))) == 1


def test_each_object_counts_separately_and_takes_its_majority_class() -> None:
    frames = []
    for i, y in enumerate([900, 800, 700, 600, 400, 300, 200]):
        frames.append([person(1, y, x=200), person(2, y, x=700, label="truck" if i == 2 else "car")])
    crossings = sorted(run(counter(), frames), key=lambda c: c.track_id)
    assert [(c.track_id, c.label, c.direction) for c in crossings] == [
        (1, "person", Direction.ENTRY),
        (2, "car", Direction.ENTRY),
    ]


@pytest.mark.parametrize("settle", [1, 3])
def test_in_then_out_again_is_an_entry_and_an_exit(settle: int) -> None:
    ys = [900, 700, 600] + [300] * 4 + [700] * 4
    crossings = run(counter(settle=settle), walk(1, ys))
    assert [c.direction for c in crossings] == [Direction.ENTRY, Direction.EXIT]


# --- riders -------------------------------------------------------------------------------------

RIDE_YS = [900, 800, 700, 600, 400, 300, 200]  # across the line at 500: one entry


def vehicle(track_id: int, bottom_y: float, x: float = 500.0, label: str = "motorcycle", width: float = 200.0,
            height: float = 150.0) -> TrackedObject:
    """A vehicle box whose bottom centre (where the wheels touch the ground) is at (x, bottom_y)."""
    return TrackedObject(track_id, label, 0.8, (x - width / 2, bottom_y - height, x + width / 2, bottom_y))


def rider(track_id: int, feet_y: float, x: float = 500.0) -> TrackedObject:
    """A seated rider: a shorter box, the feet on the pegs a little above the wheels' bottom."""
    return person(track_id, feet_y - 10, x=x, height=170.0)


def crossings_by_track(frames: list[list[TrackedObject]]) -> dict[int, Crossing]:
    return {c.track_id: c for c in run(counter(), frames)}


def test_a_rider_crossing_names_the_motorcycle_it_rides() -> None:
    frames = [[vehicle(7, y), rider(1, y)] for y in RIDE_YS]
    crossings = crossings_by_track(frames)
    assert crossings[1].label == "person" and crossings[1].rides_track_id == 7
    assert crossings[7].label == "motorcycle" and crossings[7].rides_track_id is None


def test_a_pedestrian_walking_beside_a_motorcycle_rides_nothing() -> None:
    # Walking alongside the bike, the boxes overlapping at the edge: the legs are beside it, not on it.
    frames = [[vehicle(7, y), rider(1, y), person(2, y, x=620)] for y in RIDE_YS]
    crossings = crossings_by_track(frames)
    assert crossings[1].rides_track_id == 7
    assert crossings[2].rides_track_id is None


def test_two_riders_on_one_bike_both_name_it() -> None:
    frames = [[vehicle(7, y, width=240), rider(1, y, x=470), rider(2, y, x=540)] for y in RIDE_YS]
    crossings = crossings_by_track(frames)
    assert crossings[1].rides_track_id == 7 and crossings[2].rides_track_id == 7


def test_a_person_in_front_of_a_car_rides_nothing() -> None:
    # The person's legs lie wholly inside the car's box, but nobody rides a car.
    frames = [[vehicle(9, y + 20, label="car", width=400, height=250), person(1, y)] for y in RIDE_YS]
    crossings = crossings_by_track(frames)
    assert crossings[1].rides_track_id is None
    # A person near a car and a bicycle it rides: the bicycle.
    frames = [[vehicle(9, y + 20, label="car", width=400, height=250), vehicle(4, y, label="bicycle"), rider(1, y)]
              for y in RIDE_YS]
    assert crossings_by_track(frames)[1].rides_track_id == 4


def test_the_ride_rule() -> None:
    person_box = (460.0, 400.0, 540.0, 600.0)  # lower half: y 500..600
    assert rides_on(person_box, (400.0, 450.0, 600.0, 620.0)) == 1.0
    assert rides_on(person_box, (400.0, 550.0, 600.0, 620.0)) == 0.5  # half the lower half
    assert rides_on(person_box, (520.0, 450.0, 700.0, 620.0)) == 0.25  # a quarter of its width
    assert rides_on(person_box, (600.0, 450.0, 800.0, 620.0)) == 0.0
    assert rides_on(person_box, (400.0, 300.0, 600.0, 480.0)) == 0.0  # only the upper half
