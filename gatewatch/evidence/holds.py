"""What a legal hold keeps from retention: the held event's evidence files, the visit linked to
it, and the recordings spanning it.

Today ``retention apply`` would delete the evidence of a confirmed intrusion as soon as it is
old enough. A hold stops that until an auditor releases it. Holds are placed and released in
``gatewatch.events.holds`` (a guard's confirmation places one, and the events package may not
import this one); they are re-exported here, so everything about holds is found in one place.
Retention of evidence (``retention.py``), of recordings and of visits asks the conditions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.events.holds import (
    CONFIRMED_REASON,
    MAX_REASON_LENGTH,
    AlreadyHeld,
    HoldError,
    HoldEventNotFound,
    InvalidReason,
    NotHeld,
    ReasonRequired,
    ReasonTooLong,
    active_hold,
    held,
    hold_history,
    is_held,
    place_hold,
    release_holds,
)
from gatewatch.models.tables import EntryEvent, RecordingSegment

__all__ = [
    "CONFIRMED_REASON", "MAX_REASON_LENGTH", "AlreadyHeld", "HoldError", "HoldEventNotFound", "InvalidReason",
    "NotHeld", "ReasonRequired", "ReasonTooLong", "active_hold", "held", "held_visit_ids", "hold_history",
    "is_held", "place_hold", "release_holds", "segments_around", "visit_held",
]


def visit_held(visit_id: Any) -> sa.ColumnElement[bool]:
    """SQL: the visit ``visit_id`` (a column) explains a held event, so it is held too."""
    return sa.exists().where(EntryEvent.visit_id == visit_id, held(EntryEvent.id))


def held_visit_ids(session: Session) -> set[int]:
    """The ids of the visits linked to a held event: a visit's retention must keep them."""
    rows = session.exec(
        select(EntryEvent.visit_id).where(EntryEvent.visit_id.is_not(None), held(EntryEvent.id)).distinct()
    ).all()
    return {visit_id for visit_id in rows if visit_id is not None}


def segments_around(session: Session, camera_id: str, moment: datetime) -> Sequence[RecordingSegment]:
    """The camera's recording segments still on disk that span ``moment``, oldest first."""
    return session.exec(
        select(RecordingSegment)
        .where(RecordingSegment.camera_id == camera_id, RecordingSegment.started_at <= moment,
               RecordingSegment.ended_at >= moment, RecordingSegment.path.is_not(None))
        .order_by(RecordingSegment.started_at, RecordingSegment.id)
    ).all()
