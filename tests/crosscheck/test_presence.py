"""Who is inside: how many explained people and vehicles, from the day's entries and exits (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from gatewatch.crosscheck.presence import Capacity, Movement, explained_inside

T = datetime(2024, 5, 1, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta


def minutes(m: float) -> datetime:
    return T + timedelta(minutes=m)


def enter(m: float, explained: bool = True, kind: str = "person") -> Movement:
    return Movement(minutes(m), kind, exit=False, explained=explained)


def leave(m: float, kind: str = "person") -> Movement:
    return Movement(minutes(m), kind, exit=True)


def places(persons: int = 100, vehicles: int = 100, *, until: float | None = None, then: int = 0) -> Capacity:
    """The places in force: ``persons`` and ``vehicles``, the persons' dropping to ``then`` at minute ``until``."""

    def capacity(kind: str, moment: datetime) -> int:
        if kind == "vehicle":
            return vehicles
        return then if until is not None and moment >= minutes(until) else persons

    return capacity


def inside(
    movements: Sequence[Movement], at: float, capacity: Capacity | None = None, ends: Sequence[float] = ()
) -> dict[str, int]:
    return dict(explained_inside(movements, capacity or places(), minutes(at), [minutes(m) for m in ends]))


def test_explained_entries_are_counted_unexplained_ones_are_not() -> None:
    movements = [enter(0), enter(1), enter(2, explained=False), enter(3)]

    assert inside(movements, 4) == {"person": 3}


def test_guards_walking_out_and_back_keep_their_count() -> None:
    movements = [enter(m) for m in range(4)]
    for m in range(10, 100, 10):
        movements += [leave(m), enter(m + 1)]

    assert inside(movements, 120, places(4)) == {"person": 4}
    assert inside([*movements, leave(130), leave(131)], 132, places(4)) == {"person": 2}


def test_an_exit_takes_from_the_explained_before_the_unexplained() -> None:
    movements = [enter(0), enter(1, explained=False), leave(2)]

    assert inside(movements, 3) == {"person": 0}
    # The unexplained one is still inside: the next exit is theirs, and frees no explained place.
    assert inside([*movements, leave(4), enter(5)], 6) == {"person": 1}


def test_exits_with_no_one_inside_free_nothing() -> None:
    movements = [leave(0), leave(1), leave(2), enter(3)]

    assert inside(movements, 4) == {"person": 1}


def test_exits_of_the_unexplained_do_not_free_explained_places_later() -> None:
    movements = [enter(0, explained=False), enter(1, explained=False), leave(2), leave(3), leave(4), enter(5)]

    assert inside(movements, 6) == {"person": 1}


def test_a_cover_ending_drops_the_count_to_the_places_left() -> None:
    movements = [enter(0), enter(1), enter(2)]
    visit_leaves = places(3, until=60, then=1)  # a party of 2 checks out at minute 60; a guard stays

    assert inside(movements, 59, visit_leaves) == {"person": 3}
    assert inside(movements, 60, visit_leaves) == {"person": 1}
    # The guard going out then leaves no one explained inside.
    assert inside([*movements, leave(70)], 71, visit_leaves) == {"person": 0}


def test_a_cover_ending_while_no_one_crosses_frees_its_places_before_others_begin() -> None:
    """A party checks out at minute 60 unseen by the camera; another party of as many comes at 120."""

    def parties(kind: str, moment: datetime) -> int:
        return 0 if minutes(60) <= moment < minutes(120) else 2

    movements = [enter(0), enter(1), enter(130)]

    assert inside(movements, 131, parties, ends=[60]) == {"person": 1}
    assert inside(movements[:2], 119, parties, ends=[60]) == {"person": 0}
    assert inside(movements[:2], 59, parties, ends=[60]) == {"person": 2}


def test_vehicles_and_persons_are_counted_apart() -> None:
    movements = [enter(0, kind="vehicle"), enter(1), enter(2), leave(5, "vehicle")]

    assert inside(movements[:3], 3) == {"vehicle": 1, "person": 2}
    assert inside(movements, 6) == {"vehicle": 0, "person": 2}
    assert inside([*movements, leave(7), leave(8)], 9) == {"vehicle": 0, "person": 0}


def test_a_person_leaving_frees_no_vehicle() -> None:
    movements = [enter(0, kind="vehicle"), leave(1), leave(2)]

    assert inside(movements, 3)["vehicle"] == 1
