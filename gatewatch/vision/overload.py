"""How a live camera degrades when the box cannot keep up, decided from its own read-ahead backlog.

Every camera follows the same rule, from the frames waiting in its own read-ahead queue, so no
camera is starved for another's sake. The steps come in the order that costs the count least:

1. ``THINNED``, once more than half the queue waits: detection is spaced further apart for tracks
   far from the line and while nothing is tracked (``analysis.overload_max_stride``). Strides near
   the line never change. Back to ``NORMAL`` only once at most a quarter waits, so that the level
   does not flap with every frame.
2. ``DROPPING``, once the queue is full: the decoding thread drops waiting frames, but only ones the
   analysis will not detect on while no track is near the line (``droppable``). When there is no
   such frame the queue grows, up to ``HARD_CAP_FACTOR`` times its size (decoded 1080p frames are
   megabytes each); beyond that the oldest goes regardless, and the run counts it.

The analysis tells the decoding thread what it needs through a ``Plan``, replaced whole (one
reference assignment), so the other thread never sees half of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

#: How many times its capacity the read-ahead queue may hold while no waiting frame may be dropped.
HARD_CAP_FACTOR = 2


class Level(IntEnum):
    NORMAL = 0
    THINNED = 1  # detection spaced further apart far from the line
    DROPPING = 2  # thinned, and the queue is full: frames analysis will not detect on are dropped


@dataclass(frozen=True, slots=True)
class Plan:
    """What analysis needs of the frames to come, as of its latest detection."""

    next_wanted: int = 0  # frames before this index will not be detected on
    near_line: bool = False  # a track is at the line (or new there): no frame may be dropped


class Overload:
    """One live camera's overload level and analysis plan, shared by its decoding and analysis threads.

    ``observe`` is called by the reader, under its lock, whenever its backlog changes; ``plan`` is
    set by the analysis after each detection. Each side only reads what the other writes.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.hard_cap = HARD_CAP_FACTOR * capacity
        self.level = Level.NORMAL
        self.plan = Plan()

    @property
    def thinned(self) -> bool:
        return self.level >= Level.THINNED

    def observe(self, backlog: int) -> Level:
        """The level for ``backlog`` frames waiting, given the level before."""
        if backlog >= self.capacity:
            level = Level.DROPPING
        elif backlog > self.capacity / 2:
            level = Level.THINNED
        elif backlog <= self.capacity / 4:
            level = Level.NORMAL
        else:  # between the two thresholds: stays as it was, but no longer dropping
            level = min(self.level, Level.THINNED)
        self.level = level
        return level

    def droppable(self, index: int) -> bool:
        """Whether the frame ``index`` may be dropped: analysis will not detect on it, and nothing is at the line."""
        plan = self.plan
        return not plan.near_line and index < plan.next_wanted
