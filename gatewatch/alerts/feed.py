"""The alert feed: audit records, in chain order, turned into alerts.

Every alert gatewatch sends is about a change the audit trail already holds, written in the
change's own transaction and numbered (``AuditRecord.seq``) in commit order. Reading the trail
past a cursor therefore sees every change once, whichever process made it, and nothing that
rolled back.

Which records raise which alert:

* ``event.flagged``: ``event.recorded`` with status flagged, or a re-judgement that leaves the
  event flagged for a new reason (``event.rechecked`` or ``event.plate_corrected`` whose status
  became flagged or whose flag changed). One alert per passage, listing its flagged entries:
  a flagged record of a passage raises nothing when another flagged record of the same passage
  was written in the ``PASSAGE_QUIET`` seconds before it. A flagged record younger than
  ``SETTLE`` stops the read there, so the other crossings of its passage (stored a moment
  apart) are listed in the same alert.
* ``event.decided``: a person's decision, ``event.<decision>`` (``events.reviews.Decision``). A
  decision on a passage writes a record per entry, one after the other: they make one alert
  listing those entries.
* ``camera.disconnected``, ``camera.reconnected``, ``camera.tampered``: the camera worker's
  records of the same names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.alerts.payloads import clean_text, entry, event_path, iso, scalars
from gatewatch.events.reviews import Decision
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import AuditRecord, Camera, EntryEvent
from gatewatch.models.types import utcnow

FLAGGED = "event.flagged"
DECIDED = "event.decided"
DISCONNECTED = "camera.disconnected"
RECONNECTED = "camera.reconnected"
TAMPERED = "camera.tampered"
#: Every alert a webhook may subscribe to, in the order pages list them.
ALERT_NAMES = (FLAGGED, DECIDED, DISCONNECTED, RECONNECTED, TAMPERED)

#: Audit actions that store or judge an event again, any of which may leave it flagged.
JUDGED_ACTIONS = ("event.recorded", "event.rechecked", "event.plate_corrected")
#: ``event.<decision>`` -> the decision.
DECISION_ACTIONS = {f"event.{decision.value}": decision.value for decision in Decision}
#: The camera worker's audit actions, each an alert of the same name.
CAMERA_ACTIONS = (DISCONNECTED, RECONNECTED, TAMPERED)
FEED_ACTIONS = (*JUDGED_ACTIONS, *DECISION_ACTIONS, *CAMERA_ACTIONS)

#: A passage flagged again within this of its last flagged record raises no second alert.
PASSAGE_QUIET = timedelta(seconds=60)
#: How long a flagged record waits for the rest of its passage before it is alerted.
SETTLE = timedelta(seconds=2)
#: Audit records matched per read.
BATCH = 200


@dataclass(frozen=True)
class Alert:
    """One alert: its name and what it says (the delivery adds ``alert``, ``delivery``, ``timestamp``)."""

    name: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """The alerts read, and the cursor after them (the last ``seq`` they account for)."""

    alerts: list[Alert]
    last_seq: int


def head_seq(session: Session) -> int:
    """The newest chained record's ``seq`` (0 for an empty trail)."""
    return session.exec(select(sa.func.coalesce(sa.func.max(AuditRecord.seq), 0))).one()


def read(session: Session, after_seq: int, *, limit: int = BATCH, settle: timedelta = SETTLE,
         now: datetime | None = None) -> Batch:
    """The alerts of the records after ``after_seq``, at most ``limit`` records' worth."""
    now = now or utcnow()
    head = head_seq(session)
    records = session.exec(
        select(AuditRecord)
        .where(AuditRecord.seq > after_seq, AuditRecord.seq <= head, AuditRecord.action.in_(FEED_ACTIONS))
        .order_by(AuditRecord.seq).limit(limit)
    ).all()
    last = records[-1].seq if len(records) == limit else head
    alerts: list[Alert] = []
    previous_seq = -1  # the last decision record's
    for record in records:
        if record.action in JUDGED_ACTIONS:
            if not leaves_flagged(record):
                continue
            if record.at > now - settle:  # its passage may still be arriving: read it next time
                last = record.seq - 1
                break
            alert = _flagged(session, record)
        elif record.action in DECISION_ACTIONS:
            if _joins(session, alerts, record, previous_seq):
                previous_seq = record.seq
                continue
            alert = _decided(session, record)
            previous_seq = record.seq
        else:
            alert = _camera(session, record)
        if alert is not None:
            alerts.append(alert)
    return Batch(alerts, max(last, after_seq))


def _values(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else {}


def leaves_flagged(record: AuditRecord) -> bool:
    """Whether an event's record stores it flagged, or judges it flagged anew."""
    after = _values(record.after)
    if after.get("status") != EventStatus.FLAGGED:
        return False
    if record.action == "event.recorded":
        return True
    before = _values(record.before)
    return before.get("status") != EventStatus.FLAGGED or before.get("flag") != after.get("flag")


def _passage_events(session: Session, passage_id: int) -> Sequence[EntryEvent]:
    return session.exec(
        select(EntryEvent)
        .where(sa.or_(EntryEvent.passage_id == passage_id, EntryEvent.id == passage_id))
        .order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all()


def _alerted_recently(session: Session, record: AuditRecord, members: Sequence[EntryEvent]) -> bool:
    """Whether another flagged record of the passage came in the ``PASSAGE_QUIET`` before ``record``."""
    earlier = session.exec(
        select(AuditRecord).where(
            AuditRecord.entity == "event",
            AuditRecord.entity_id.in_([str(member.id) for member in members]),
            AuditRecord.action.in_(JUDGED_ACTIONS),
            AuditRecord.seq < record.seq,
            AuditRecord.at >= record.at - PASSAGE_QUIET,
        )
    ).all()
    return any(leaves_flagged(other) for other in earlier)


def _event(session: Session, record: AuditRecord) -> EntryEvent | None:
    return session.get(EntryEvent, int(record.entity_id)) if record.entity_id.isdigit() else None


def _flagged(session: Session, record: AuditRecord) -> Alert | None:
    event = _event(session, record)
    if event is None:
        return None
    passage_id = event.passage_id or event.id or 0
    members = _passage_events(session, passage_id)
    if _alerted_recently(session, record, members):
        return None
    # Flagged, or flagged and decided since (a feed running late): not the members the cross-check explained.
    listed = [m for m in members if m.flag is not None or m.id == event.id]
    return Alert(FLAGGED, {
        "at": iso(record.at),
        "occurred_at": iso(listed[0].occurred_at),
        "camera_id": event.camera_id,
        "passage_id": passage_id,
        "url": event_path(passage_id),
        "entries": [entry(member) for member in listed],
    })


def _joins(session: Session, alerts: list[Alert], record: AuditRecord, previous_seq: int) -> bool:
    """Add ``record`` to the last alert when it is the same decision on the same passage, written
    right after it (one decision on a passage gives a record per entry): True when it did."""
    if not alerts or alerts[-1].name != DECIDED or record.seq != previous_seq + 1:
        return False
    last = alerts[-1].payload
    if (last["decision"], last["actor"]) != (DECISION_ACTIONS[record.action], record.actor):
        return False
    entries = last["entries"]
    if not entries or not record.entity_id.isdigit():
        return False
    event = session.get(EntryEvent, int(record.entity_id))
    if event is None or (event.passage_id or event.id) != entries[0]["passage_id"]:
        return False
    entries.append(entry(event))
    return True


def _decided(session: Session, record: AuditRecord) -> Alert:
    """A decision, with the entries of its passage it was taken on (the decided one first)."""
    event = _event(session, record)
    after = _values(record.after)
    return Alert(DECIDED, {
        "at": iso(record.at),
        "occurred_at": iso(record.at),
        "camera_id": event.camera_id if event else None,
        "event_id": int(record.entity_id) if record.entity_id.isdigit() else None,
        "decision": DECISION_ACTIONS[record.action],
        "actor": record.actor,
        "role": record.role,
        "note": clean_text(after.get("note")) or "",
        "status": after.get("status"),
        "url": event_path(int(record.entity_id)) if record.entity_id.isdigit() else None,
        "entries": [entry(event)] if event else [],
    })


#: What each camera alert names at its top level, from the worker's audit record.
_CAMERA_FIELDS = {DISCONNECTED: ("reason",), RECONNECTED: ("outage_seconds", "attempts"), TAMPERED: ("note",)}


def _camera(session: Session, record: AuditRecord) -> Alert:
    camera = session.get(Camera, record.entity_id)
    details = scalars(_values(record.after))
    return Alert(record.action, {
        "at": iso(record.at),
        "occurred_at": iso(record.at),
        "camera_id": record.entity_id,
        "camera_name": camera.name if camera else None,
        **{name: details.get(name) for name in _CAMERA_FIELDS[record.action]},
        "details": details,
    })
