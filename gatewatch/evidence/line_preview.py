"""How a gate line would have counted a camera's recent events: their stored boxes, replayed.

Before an admin saves a new line on the camera's picture, the editor shows what it would do to
crossings already seen. Every event keeps the boxes of every track over its clip
(``gatewatch.vision.boxes``); the event's own track is replayed, frame by frame, through the
same ``GateCounter`` the worker counts with, once against the proposed line and once against
the line in force, at the file's ``frame_size``. Each replay either counts the event again in
its recorded direction (``same``), counts it the other way (``other``: the inside side is
wrong), or counts nothing (``none``: the line misses the track, or the track never settles
beyond the dead band). When a replay counts the track more than once (it wobbled over the line
and back), the crossing nearest the event's own moment is the one compared.

The boxes only cover the event's clip (a few seconds around the crossing), so this predicts the
crossings already counted, not the ones a new line would add elsewhere in the picture. Events
without a readable boxes file (posted by another system, recorded before boxes were kept,
expired by retention) are counted as ``no_boxes``. Pure Python: the web app runs it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from gatewatch.evidence.files import resolve
from gatewatch.models.enums import Direction
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import GateSettings
from gatewatch.vision.boxes import VERSION
from gatewatch.vision.gate import GateCounter, GateLine
from gatewatch.vision.objects import TrackedObject

log = logging.getLogger(__name__)

#: How many of the camera's latest events a preview replays.
PREVIEW_EVENTS = 50
#: Replays have no clock: frame times are seconds from the clip's start, placed after this moment.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Outcome(StrEnum):
    """What a replay gives for one event, against its recorded direction."""

    SAME = "same"  # counted again, in the recorded direction
    OTHER = "other"  # counted in the other direction
    NONE = "none"  # not counted at all


@dataclass(frozen=True, slots=True)
class EventTrack:
    """One event's own track over its clip, from its boxes file."""

    frame_size: tuple[int, int]
    crossing_seconds: float
    frames: tuple[tuple[float, TrackedObject | None], ...]  # (seconds, the track's box or None when unseen)


@dataclass(frozen=True, slots=True)
class EventPreview:
    """One event's replays: the line in force's and the proposed line's."""

    event_id: int
    label: str
    direction: str  # as recorded
    occurred_at: datetime
    in_force: Outcome
    proposed: Outcome


@dataclass(slots=True)
class Tally:
    same: int = 0
    other: int = 0
    none: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


@dataclass(slots=True)
class LinePreview:
    """The replays of a camera's latest events (newest first), with their tallies."""

    events: list[EventPreview] = field(default_factory=list)
    no_boxes: int = 0
    in_force: Tally = field(default_factory=Tally)
    proposed: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> list[EventPreview]:
        """The events the two lines count differently."""
        return [e for e in self.events if e.in_force != e.proposed]

    def as_json(self) -> dict[str, object]:
        """The preview for the editor page; ``changed`` lists the events the two lines count differently."""
        return {
            "replayed": len(self.events),
            "no_boxes": self.no_boxes,
            "in_force": _tally_json(self.in_force),
            "proposed": _tally_json(self.proposed),
            "changed": [
                {"event_id": e.event_id, "label": e.label, "direction": e.direction,
                 "occurred_at": e.occurred_at.isoformat(), "in_force": e.in_force.value, "proposed": e.proposed.value}
                for e in self.changed
            ],
        }


def _tally_json(tally: Tally) -> dict[str, int]:
    return {"same": tally.same, "other": tally.other, "none": tally.none}


def parse_track(document: object) -> EventTrack:
    """The event's own track from a boxes document (``vision.boxes``); ValueError when it is not one."""
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValueError("not a boxes document of a known version")
    try:
        track_id = int(document["event_track_id"])
        width, height = (int(v) for v in document["frame_size"])
        crossing = float(document["crossing_seconds"])
        frames = tuple((float(shown["t"]), _track_box(shown["boxes"], track_id)) for shown in document["frames"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a boxes document with a missing or wrong field ({exc})") from None
    if width <= 0 or height <= 0:
        raise ValueError("a boxes document with no frame size")
    return EventTrack((width, height), crossing, frames)


def _track_box(boxes: list[dict[str, object]], track_id: int) -> TrackedObject | None:
    for item in boxes:
        if int(item["track_id"]) == track_id:  # type: ignore[call-overload]
            x1, y1, x2, y2 = (float(v) for v in item["box"])  # type: ignore[attr-defined]
            return TrackedObject(track_id, str(item["label"]), 1.0, (x1, y1, x2, y2))
    return None


@lru_cache(maxsize=4 * PREVIEW_EVENTS)
def read_track(path: Path, sha256: str | None) -> EventTrack | None:
    """The event's track from the boxes file at ``path``; None when it cannot be read.

    Evidence files never change once written, so a file is parsed once per ``sha256`` the row
    gives (the editor asks again at each move of the line).
    """
    try:
        return parse_track(json.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read the boxes for a line preview (%s)", path, exc)
        return None


def replay(track: EventTrack, gate: GateSettings) -> Direction | None:
    """The direction ``gate`` counts the track in, the crossing nearest the event's moment; None: no crossing."""
    counter = GateCounter(GateLine(gate, *track.frame_size), gate.settle_frames)
    found: list[tuple[float, Direction]] = []
    for index, (seconds, box) in enumerate(track.frames):
        crossings = counter.update([] if box is None else [box], index, _EPOCH + timedelta(seconds=seconds))
        found += [(seconds, crossing.direction) for crossing in crossings]
    if not found:
        return None
    return min(found, key=lambda item: abs(item[0] - track.crossing_seconds))[1]


def outcome(recorded: str, replayed: Direction | None) -> Outcome:
    if replayed is None:
        return Outcome.NONE
    return Outcome.SAME if replayed.value == recorded else Outcome.OTHER


def recent_events(session: Session, camera_id: str, limit: int = PREVIEW_EVENTS) -> list[EntryEvent]:
    """The camera's latest ``limit`` events, newest first."""
    query = (select(EntryEvent).where(EntryEvent.camera_id == camera_id)
             .order_by(col(EntryEvent.occurred_at).desc(), col(EntryEvent.id).desc()).limit(limit))
    return list(session.exec(query).all())


def preview(events: list[EntryEvent], data_dir: Path, *, in_force: GateSettings,
            proposed: GateSettings) -> LinePreview:
    """How ``in_force`` and ``proposed`` count each of ``events`` from its stored boxes."""
    result = LinePreview()
    for event in events:
        path = resolve(data_dir, event.boxes_path)
        track = read_track(path, event.boxes_sha256) if path is not None else None
        if track is None or event.id is None:
            result.no_boxes += 1
            continue
        now, then = (outcome(event.direction, replay(track, gate)) for gate in (in_force, proposed))
        result.in_force.add(now)
        result.proposed.add(then)
        result.events.append(EventPreview(event.id, event.label, event.direction, event.occurred_at, now, then))
    return result
