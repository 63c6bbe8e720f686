"""Whether two analyses of the same footage found the same crossings, whatever their track ids.

Crossings are compared by class and direction; within each, the n-th crossing of one analysis is
paired with the n-th of the other in frame order, and the frames they were counted at may differ.
A recorded analysis (its tracks, frame by frame) can be counted again on any other line.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gatewatch.settings import GateSettings
from gatewatch.vision.gate import Crossing, GateCounter, GateLine
from gatewatch.vision.objects import TrackedObject

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


#: (label, direction) -> how many crossings.
Counts = dict[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """What one analysis saw in one frame: enough to count any line again without the detector."""

    index: int
    time: datetime
    objects: list[TrackedObject]


def count_crossings(crossings: Iterable[Crossing], classes: Iterable[str]) -> Counts:
    """Crossings of the counted ``classes`` by class and direction."""
    wanted = set(classes)
    found = Counter((c.label, c.direction.value) for c in crossings if c.label in wanted)
    return dict(sorted(found.items()))


def count_line(frames: Iterable[TrackedFrame], gate: GateSettings, size: tuple[int, int],
               classes: Iterable[str]) -> Counts:
    """The crossings of ``gate`` by the tracks of one recorded analysis.

    The reference mode's tracks do not depend on the line (it detects the whole of every frame),
    so one run of the detector counts every line to compare with.
    """
    counter = GateCounter(GateLine(gate, *size), gate.settle_frames)
    crossings = [c for frame in frames for c in counter.update(frame.objects, frame.index, frame.time)]
    return count_crossings(crossings, classes)
