"""Crossings that belong together are one passage: riders with their bike, a party on foot.

A passage is named by the id of its first stored event (``EntryEvent.passage_id``). A new event
joins the passage of an event of the same camera and direction that crossed within
``PASSAGE_SECONDS`` of it and that it associates with (track ids are compared within one footage):

* a person riding a motorcycle or bicycle (``rides_track_id``) with that vehicle, and with the
  other riders of it;
* people on foot with people on foot: a party walks through together;
* a crossing another system posted without a box with any other such crossing of that camera:
  time is all there is to go by.

A car and a person walking beside it stay apart: nothing ties their boxes together.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from gatewatch.models.tables import EntryEvent

#: Crossings this far apart in time can still be one passage.
PASSAGE_SECONDS = 1.0


def has_box(event: EntryEvent) -> bool:
    return any(event.box)


def _associated(event: EntryEvent, other: EntryEvent) -> bool:
    if not (has_box(event) and has_box(other)):
        return not (has_box(event) or has_box(other))
    if event.source_key != other.source_key:  # track ids name objects within one footage only
        return False
    person, other_person = event.label == "person", other.label == "person"
    if person and other_person:
        return event.rides_track_id == other.rides_track_id  # on foot both, or riding one bike
    if person:
        return event.rides_track_id == other.track_id
    if other_person:
        return other.rides_track_id == event.track_id
    return False


def passage_of(session: Session, event: EntryEvent) -> int | None:
    """The passage ``event`` (not stored yet) joins, or None when it starts one of its own."""
    gap = timedelta(seconds=PASSAGE_SECONDS)
    near = session.exec(
        select(EntryEvent)
        .where(
            EntryEvent.camera_id == event.camera_id,
            EntryEvent.direction == event.direction,
            EntryEvent.occurred_at >= event.occurred_at - gap,
            EntryEvent.occurred_at <= event.occurred_at + gap,
            EntryEvent.id != event.id if event.id is not None else EntryEvent.id.is_not(None),
        )
        .order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all()
    return next((other.passage_id or other.id for other in near if _associated(event, other)), None)


def members(session: Session, passage_id: int) -> list[EntryEvent]:
    """The events of a passage, in the order they crossed."""
    return list(session.exec(
        select(EntryEvent).where(EntryEvent.passage_id == passage_id).order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all())
