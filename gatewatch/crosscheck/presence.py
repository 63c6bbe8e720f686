"""Who is inside: how many explained people and vehicles, counted from the day's crossings.

Pure: the service hands over the day's movements in order. The camera sees that someone left,
never who, so the count is one total per kind (people, vehicles), not a count per visit or
authorisation. A place-by-place count would have to guess whose place each exit frees, and a
wrong guess followed by that cover ending (a check-out, a shift's end) loses a person who is
still inside, which lets an intruder through unflagged. The total has no such guess to make:

* An entry linked to a visit or authorisation adds one to the explained people (or vehicles)
  inside; an entry nothing explained adds one to the unexplained ones.
* An exit takes one away: from the explained while there are any (staff and visitors come and
  go all day, an intruder rarely walks out past the guard), else from the unexplained.
* The explained inside can never be more than the places of the covers in force: when a cover
  ends (a check-out, the end of a shift or of a visit's cover) the count drops to what the
  remaining covers hold, at that moment, even when no one crosses until other covers begin.
  Its people left, or they are no longer anyone's to explain.
* The count starts afresh each day at ``crosscheck.presence_reset`` (the service passes only
  that day's movements), so exits the camera missed do not pile up.

``rules.judge`` then flags an entry when the explained people inside already fill every cover
that could explain it (see there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

#: The places, of the given kind, of every cover in force at the given moment.
Capacity = Callable[[str, datetime], int]


@dataclass(frozen=True, slots=True)
class Movement:
    at: datetime
    kind: str  # person or vehicle
    exit: bool
    explained: bool = False  # an entry linked to a visit or authorisation


def explained_inside(
    movements: Iterable[Movement], capacity: Capacity, at: datetime, cover_ends: Iterable[datetime] = ()
) -> Counter[str]:
    """The explained people and vehicles inside at ``at``, after ``movements`` (in time order).

    ``cover_ends`` are the moments a cover ends (a check-out, the end of a shift or of a visit's
    cover), at which the count drops to the places left then.
    """
    explained: Counter[str] = Counter()
    unexplained: Counter[str] = Counter()
    ends = _until(sorted(cover_ends))
    for movement in movements:
        kind = movement.kind
        for end in ends(movement.at):
            for ended_kind in explained:
                explained[ended_kind] = min(explained[ended_kind], capacity(ended_kind, end))
        explained[kind] = min(explained[kind], capacity(kind, movement.at))
        if not movement.exit:
            (explained if movement.explained else unexplained)[kind] += 1
        elif explained[kind] > 0:
            explained[kind] -= 1
        elif unexplained[kind] > 0:
            unexplained[kind] -= 1
    for end in ends(at):
        for kind in explained:
            explained[kind] = min(explained[kind], capacity(kind, end))
    return Counter({kind: min(count, capacity(kind, at)) for kind, count in explained.items()})


def _until(ends: list[datetime]) -> Callable[[datetime], Iterator[datetime]]:
    """A function giving, call by call, the ``ends`` (sorted) up to and including its moment."""
    position = 0

    def upto(moment: datetime) -> Iterator[datetime]:
        nonlocal position
        while position < len(ends) and ends[position] <= moment:
            position += 1
            yield ends[position - 1]

    return upto
