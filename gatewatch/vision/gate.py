"""Gate logic: turns tracked objects into entries and exits across the gate line.

Each track's side of the line is judged by the bottom centre of its box, where it touches the
ground the line is drawn on. Three things keep a count honest on real footage:

* a dead band of ``margin`` around the line: a person standing on the line is on neither side;
* ``settle_frames``: a track must be seen that many analysed frames on the new side before the
  crossing counts, so a wobble across the line and back counts nothing; except while its box
  touches the picture's left or right edge: an object leaving the picture there (a motorbike
  turning off the street just past the line) is gone before it could settle, so there its first
  observation on the new side counts;
* a track's last confirmed side is kept for ``forget_after`` seconds of absence, so a person who
  passes behind a sign and reappears beyond the line still counts.

Observations whose anchor cannot be trusted are skipped (neither extend nor reset a run): the
box touches the bottom edge of the image (the feet are out of frame), or the anchor lies beyond
the ends of the line segment.

supervision's LineZone was the first choice, but it forgets a track's side after
``minimum_crossing_threshold + 1`` frames of absence, which loses every crossing made behind an
occlusion, and it has no dead band.

Riders: a person's crossing names the two-wheeler (motorcycle or bicycle) it rides in that
frame, ``Crossing.rides_track_id``. A person rides a two-wheeler when at least half
(``RIDE_OVERLAP``) of the area of the lower half of the person's box lies inside the vehicle's
box: a rider sits on the vehicle, so hips and legs are within its box, while a pedestrian beside
it overlaps it at most at an edge. Of several such two-wheelers the one covering the most wins
(ties: the lower track id). Cars, buses and trucks are never ridden; a person with no
two-wheeler meeting the rule gets None. The rule is ``rides_on``/``ridden_vehicle``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from gatewatch.models.enums import Direction
from gatewatch.settings import GateSettings
from gatewatch.vision.objects import Box, TrackedObject

#: Pixels from the bottom edge within which a box counts as cut off by the frame.
EDGE_TOLERANCE_PX = 2.0
#: Labels a person can ride.
RIDDEN_LABELS = frozenset({"motorcycle", "bicycle"})
#: Fraction of the lower half of a person's box that must lie inside a two-wheeler's box.
RIDE_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class Crossing:
    track_id: int
    label: str
    direction: Direction
    frame_index: int
    time: datetime
    confidence: float
    box: tuple[float, float, float, float]
    rides_track_id: int | None = None  # a person's: the two-wheeler it rides in this frame
    gate: GateSettings | None = None  # the gate it was counted against (the line may move while a camera runs)


def rides_on(person: Box, vehicle: Box) -> float:
    """The fraction of the lower half of ``person``'s box that lies inside ``vehicle``'s box."""
    px1, py1, px2, py2 = person
    top = (py1 + py2) / 2.0
    area = (px2 - px1) * (py2 - top)
    if area <= 0:
        return 0.0
    vx1, vy1, vx2, vy2 = vehicle
    width = min(px2, vx2) - max(px1, vx1)
    height = min(py2, vy2) - max(top, vy1)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / area


def ridden_vehicle(person: TrackedObject, objects: Iterable[TrackedObject]) -> int | None:
    """The track id of the two-wheeler ``person`` rides (see the module docstring), or None."""
    best: tuple[float, int] | None = None
    for obj in objects:
        if obj.label not in RIDDEN_LABELS or obj.track_id == person.track_id:
            continue
        cover = rides_on(person.box, obj.box)
        if cover >= RIDE_OVERLAP and (best is None or (cover, -obj.track_id) > (best[0], -best[1])):
            best = (cover, obj.track_id)
    return None if best is None else best[1]


class GateLine:
    """The configured line in pixels, with the side of ``inside`` as the positive side."""

    def __init__(self, gate: GateSettings, width: int, height: int) -> None:
        self.gate = gate
        (ax, ay), (bx, by) = gate.line
        self.a = (ax * width, ay * height)
        self.b = (bx * width, by * height)
        dx, dy = self.b[0] - self.a[0], self.b[1] - self.a[1]
        self._direction = (dx, dy)
        self._length_sq = dx * dx + dy * dy
        length = self._length_sq**0.5
        normal = (-dy / length, dx / length)
        ix, iy = gate.inside[0] * width, gate.inside[1] * height
        if (ix - self.a[0]) * normal[0] + (iy - self.a[1]) * normal[1] < 0:
            normal = (-normal[0], -normal[1])
        self._normal = normal
        self.margin_px = gate.margin * height
        self.width, self.height = width, height

    @property
    def inside_normal(self) -> tuple[float, float]:
        """The unit vector across the line towards the inside."""
        return self._normal

    def signed_distance(self, point: tuple[float, float]) -> float:
        """Pixels from the line; positive on the inside."""
        return (point[0] - self.a[0]) * self._normal[0] + (point[1] - self.a[1]) * self._normal[1]

    def approach_rate(self, velocity: tuple[float, float]) -> float:
        """Pixels per frame a point moving at ``velocity`` moves across the line (towards the inside > 0)."""
        return velocity[0] * self._normal[0] + velocity[1] * self._normal[1]

    def within_segment(self, point: tuple[float, float]) -> bool:
        """Whether the point lies between the perpendiculars through the line's two ends."""
        dx, dy = self._direction
        t = ((point[0] - self.a[0]) * dx + (point[1] - self.a[1]) * dy) / self._length_sq
        return 0.0 <= t <= 1.0

    def at_side_edge(self, obj: TrackedObject) -> bool:
        """Whether the box touches the picture's left or right edge, where objects leave it."""
        return obj.box[0] <= EDGE_TOLERANCE_PX or obj.box[2] >= self.width - EDGE_TOLERANCE_PX

    def side_of(self, obj: TrackedObject) -> int | None:
        """+1 inside, -1 outside, 0 in the dead band, None when the anchor cannot be trusted."""
        if obj.box[3] >= self.height - EDGE_TOLERANCE_PX:
            return None
        anchor = obj.anchor
        if not self.within_segment(anchor):
            return None
        distance = self.signed_distance(anchor)
        if abs(distance) <= self.margin_px:
            return 0
        return 1 if distance > 0 else -1


@dataclass(slots=True)
class _TrackState:
    last_seen: datetime
    side: int = 0  # last confirmed side; 0 until the track is first seen clear of the band
    run: int = 0  # consecutive observations on the other side
    label_votes: Counter[str] = field(default_factory=Counter)


class GateCounter:
    """Counts crossings of one gate line, track by track."""

    def __init__(self, line: GateLine, settle_frames: int, forget_after_seconds: float = 10.0) -> None:
        self.line = line
        self.settle_frames = settle_frames
        self.forget_after_seconds = forget_after_seconds
        self._tracks: dict[int, _TrackState] = {}

    def update(self, objects: Iterable[TrackedObject], frame_index: int, time: datetime) -> list[Crossing]:
        objects = list(objects)
        crossings = []
        for obj in objects:
            state = self._tracks.get(obj.track_id)
            if state is None:
                state = self._tracks[obj.track_id] = _TrackState(time)
            state.last_seen = time
            state.label_votes[obj.label] += obj.confidence
            settle = 1 if self.line.at_side_edge(obj) else self.settle_frames
            direction = self._observe(state, self.line.side_of(obj), settle)
            if direction is not None:
                label = state.label_votes.most_common(1)[0][0]
                rides = ridden_vehicle(obj, objects) if label == "person" else None
                crossings.append(Crossing(obj.track_id, label, direction, frame_index, time, obj.confidence, obj.box,
                                          rides, self.line.gate))
        self._forget_stale(time)
        return crossings

    def _observe(self, state: _TrackState, side: int | None, settle_frames: int) -> Direction | None:
        if not side:  # in the band, or not judged: neither extends nor resets a run
            return None
        if state.side == 0:
            state.side = side
            return None
        if side == state.side:
            state.run = 0
            return None
        state.run += 1
        if state.run < settle_frames:
            return None
        state.side, state.run = side, 0
        return Direction.ENTRY if side > 0 else Direction.EXIT

    def _forget_stale(self, now: datetime) -> None:
        stale = [
            track_id
            for track_id, state in self._tracks.items()
            if (now - state.last_seen).total_seconds() > self.forget_after_seconds
        ]
        for track_id in stale:
            del self._tracks[track_id]
