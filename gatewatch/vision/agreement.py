"""Whether two analyses of the same footage found the same crossings, whatever their track ids.

Crossings are compared by class and direction; within each, the n-th crossing of one analysis is
paired with the n-th of the other in frame order, and the frames they were counted at may differ.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

#: (label, direction, frame index) of one crossing.
Key = tuple[str, str, int]


def frame_shift(reference: Iterable[Key], other: Iterable[Key]) -> int | None:
    """The largest frame difference between paired crossings; None when classes or directions differ."""
    frames: dict[tuple[str, str], list[list[int]]] = defaultdict(lambda: [[], []])
    for side, crossings in enumerate((reference, other)):
        for label, direction, frame in crossings:
            frames[(label, direction)][side].append(frame)
    shift = 0
    for ours, theirs in frames.values():
        if len(ours) != len(theirs):
            return None
        shift = max([shift, *(abs(a - b) for a, b in zip(sorted(ours), sorted(theirs), strict=True))])
    return shift
