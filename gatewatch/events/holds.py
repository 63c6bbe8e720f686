"""Legal holds, placed and released: a person's decision that an event's evidence must be kept.

A guard's confirmation of an intrusion places one (``reviews.decide``, in the same
transaction); an auditor places one on any event and releases them, at a page, through the
API or at the command line. Nothing else releases a hold: a later decision on the event leaves
it held. An event is held while it has a hold with no ``released_at``; retention keeps what is
held (``gatewatch.evidence.holds`` says what that is).

Each hold and each release writes an audit record on the event (``evidence.held``,
``evidence.released``) naming the reason and who acted. The event row itself does not change,
so ``audit verify`` has nothing to compare. This module sits beside the reviews, below the
evidence package, because a decision places holds. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.models.tables import EntryEvent, EvidenceHold
from gatewatch.models.types import utcnow

#: The table's limit on a hold's (and a release's) reason.
MAX_REASON_LENGTH = 500
#: The reason of the hold a guard's confirmation places (and migration 0009 placed on older ones).
CONFIRMED_REASON = "confirmed intrusion"
_HOLD_FIELDS = ("reason", "held_by", "held_at")


class HoldError(Exception):
    """The hold cannot be placed or released; the message says why."""


class HoldEventNotFound(HoldError):
    pass


class AlreadyHeld(HoldError):
    """The event is held already: one hold at a time; release it first to change the reason."""


class NotHeld(HoldError):
    """The event has no hold to release."""


class InvalidReason(HoldError):
    """The reason is blank (for a hold) or longer than ``MAX_REASON_LENGTH``."""


class ReasonRequired(InvalidReason):
    pass


class ReasonTooLong(InvalidReason):
    pass


def held(event_id: Any = EntryEvent.id) -> sa.ColumnElement[bool]:
    """SQL: the event ``event_id`` (a column, by default ``EntryEvent.id``) has a hold not released."""
    return sa.exists().where(EvidenceHold.event_id == event_id, EvidenceHold.released_at.is_(None))


def active_hold(session: Session, event_id: int) -> EvidenceHold | None:
    """The event's hold not yet released, or None."""
    return session.exec(
        select(EvidenceHold)
        .where(EvidenceHold.event_id == event_id, EvidenceHold.released_at.is_(None))
        .order_by(EvidenceHold.held_at, EvidenceHold.id)
    ).first()


def is_held(session: Session, event_id: int) -> bool:
    return active_hold(session, event_id) is not None


def hold_history(session: Session, event_id: int) -> Sequence[EvidenceHold]:
    """Every hold of the event, released or not, oldest first."""
    return session.exec(
        select(EvidenceHold).where(EvidenceHold.event_id == event_id).order_by(EvidenceHold.held_at, EvidenceHold.id)
    ).all()


def place_hold(session: Session, event_id: int, reason: str, *, actor: str, role: str,
               now: datetime | None = None) -> EvidenceHold:
    """Hold the event's evidence for ``reason``; audit ``evidence.held``.

    Raises HoldEventNotFound, InvalidReason, or AlreadyHeld when it is held already.
    """
    reason = checked_reason(reason, required=True)
    event = _locked_event(session, event_id)
    if is_held(session, event_id):
        raise AlreadyHeld(f"event #{event_id} is held already; release it first to hold it for another reason")
    return _hold(session, event, reason, actor=actor, role=role, now=now)


def hold_confirmed(session: Session, event: EntryEvent, *, actor: str, role: str) -> EvidenceHold | None:
    """Hold a confirmed intrusion (the caller holds the event's lock); None when it is held already."""
    if event.id is None or is_held(session, event.id):
        return None
    return _hold(session, event, CONFIRMED_REASON, actor=actor, role=role)


def release_holds(session: Session, event_id: int, *, actor: str, role: str, reason: str | None = None,
                  now: datetime | None = None) -> list[EvidenceHold]:
    """Release the event's holds; audit ``evidence.released`` for each. Its evidence then follows
    retention again. Raises HoldEventNotFound, InvalidReason, or NotHeld when nothing holds it."""
    reason = checked_reason(reason or "", required=False)
    _locked_event(session, event_id)
    holds = session.exec(
        select(EvidenceHold)
        .where(EvidenceHold.event_id == event_id, EvidenceHold.released_at.is_(None))
        .order_by(EvidenceHold.id)
        .with_for_update()
    ).all()
    if not holds:
        raise NotHeld(f"event #{event_id} is not held")
    moment = now or utcnow()
    for hold in holds:
        before = {"hold_id": hold.id, **trail.row_values(hold, _HOLD_FIELDS)}
        hold.released_by, hold.released_at = actor, moment
        session.add(hold)
        trail.record(session, actor=actor, role=role, action="evidence.released", entity="event", entity_id=event_id,
                     before=before, after={"hold_id": hold.id, "released_by": actor, "released_at": moment,
                                           "reason": reason})
    session.flush()
    return list(holds)


def checked_reason(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise ReasonRequired("give the reason for the hold")
    if len(reason) > MAX_REASON_LENGTH:
        raise ReasonTooLong(f"a reason has at most {MAX_REASON_LENGTH} characters")
    return reason


def _locked_event(session: Session, event_id: int) -> EntryEvent:
    """The event, locked so that holds on it (and retention, which locks it too) take turns."""
    event = session.get(EntryEvent, event_id, with_for_update=True)
    if event is None:
        raise HoldEventNotFound(f"there is no event #{event_id}")
    return event


def _hold(session: Session, event: EntryEvent, reason: str, *, actor: str, role: str,
          now: datetime | None = None) -> EvidenceHold:
    assert event.id is not None
    hold = EvidenceHold(event_id=event.id, reason=reason, held_by=actor, held_at=now or utcnow())
    session.add(hold)
    session.flush()
    trail.record(session, actor=actor, role=role, action="evidence.held", entity="event", entity_id=event.id,
                 after={"hold_id": hold.id, **trail.row_values(hold, _HOLD_FIELDS)})
    return hold
