"""People's decisions on entry events: acknowledge, note, confirm, link to a visit, false alarm;
and a guard's correction of a misread number plate.

Each decision writes a Review row and an audit record, and may move the event's status along
the transitions in ``DECISIONS``; any other move is refused, so two people acting on the same
event at once cannot, say, dismiss an entry a guard has just confirmed. Who may take which
decision is in the same table, for the web and API layers to enforce. Nothing here commits.

A decision that moves the status applies to the whole passage (a motorbike and its riders):
every member it applies to gets the same decision, each with its own Review row and audit
record. A note stays on the event it was written on.

A visit is linked only when its cover holds the entry (``covers``): from ``window_after``
before its check-in until ``cover_end``, at its gate or any gate, and for a vehicle only a
visit with a vehicle. The cross-check's other conditions (first entry late, party full, plate)
are what a guard's judgement overrides.

A confirmed intrusion's evidence is put on legal hold in the same transaction (``holds``):
retention keeps it until an auditor releases it, whatever is decided on the event later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.service import LINK_FIELDS, MAX_VISIT_DAYS, check_event, cover_end, coverage_window
from gatewatch.events.holds import hold_confirmed
from gatewatch.events.queries import in_passage
from gatewatch.models.enums import OPEN_STATUSES, EventStatus, PlateStatus, Role
from gatewatch.models.tables import EntryEvent, Review, Visit
from gatewatch.plates import parse_typed_plate
from gatewatch.settings import VEHICLE_CLASSES, Settings

MAX_NOTE_LENGTH = 2000
_EVENT_FIELDS = ("status", "visit_id")
_PLATE_FIELDS = ("plate_text", "plate_status", "plate_corrected_by")
#: Statuses the cross-check set and may set again; a person's decision is not undone by a correction.
_RECHECKED_STATUSES = frozenset({*OPEN_STATUSES, EventStatus.EXPLAINED})


class Decision(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    NOTE = "note"
    CONFIRM = "confirm"
    LINK = "link"
    FALSE_ALARM = "false_alarm"

    @property
    def slug(self) -> str:
        """The decision as a URL writes it."""
        return self.value.replace("_", "-")


@dataclass(frozen=True)
class DecisionRule:
    """Who may take a decision, from which statuses, and where it leaves the event."""

    roles: frozenset[Role]
    from_statuses: frozenset[EventStatus] | None  # None: any status, the status stays
    to_status: EventStatus | None
    note_required: bool = False


_OPEN = frozenset(OPEN_STATUSES)

DECISIONS: dict[Decision, DecisionRule] = {
    Decision.ACKNOWLEDGE: DecisionRule(
        frozenset({Role.OPERATOR}), frozenset({EventStatus.FLAGGED}), EventStatus.ACKNOWLEDGED
    ),
    Decision.NOTE: DecisionRule(frozenset({Role.OPERATOR}), None, None, note_required=True),
    Decision.CONFIRM: DecisionRule(frozenset({Role.GUARD}), _OPEN, EventStatus.CONFIRMED, note_required=True),
    Decision.LINK: DecisionRule(frozenset({Role.GUARD}), _OPEN, EventStatus.RESOLVED),
    Decision.FALSE_ALARM: DecisionRule(frozenset({Role.GUARD}), _OPEN, EventStatus.FALSE_ALARM),
}


class ReviewError(Exception):
    """The decision cannot be taken; the message says why."""


class EventNotFound(ReviewError):
    pass


class VisitNotFound(ReviewError):
    pass


class TransitionRefused(ReviewError):
    """The event is not in a status this decision applies to (someone may have decided first)."""


class NoteRequired(ReviewError):
    pass


class NoteTooLong(ReviewError):
    """The note is longer than ``MAX_NOTE_LENGTH``."""


class VisitDoesNotCover(ReviewError):
    """The visit's cover does not hold an entry of the passage; ``reason`` says why."""

    #: Values of ``reason``.
    GATE, TIME, VEHICLE = "gate", "time", "vehicle"

    def __init__(self, visit: Visit, reason: str, start: datetime, end: datetime) -> None:
        self.visit_id, self.reason, self.start, self.end = visit.id, reason, start, end
        why = {
            self.GATE: f"it was registered for camera {visit.camera_id}",
            self.TIME: f"its cover runs from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
            self.VEHICLE: "it registers no vehicle",
        }[reason]
        super().__init__(f"visit #{visit.id} does not cover this entry: {why}")


class NotAVehicle(ReviewError):
    pass


class InvalidPlate(ReviewError):
    pass


def decisions_for(role: str) -> list[Decision]:
    return [decision for decision, rule in DECISIONS.items() if role in rule.roles]


def applies_to(rule: DecisionRule, status: str) -> bool:
    """Whether a decision under ``rule`` may be taken on an event in ``status``."""
    return rule.from_statuses is None or status in rule.from_statuses


def shared_with(event: EntryEvent, members: Sequence[EntryEvent], decision: Decision) -> list[EntryEvent]:
    """The events a ``decision`` on ``event`` applies to: it, then each other of its passage's
    ``members`` in a status the decision applies to when the decision moves the status."""
    rule = DECISIONS[decision]
    others = [m for m in members if m.id != event.id and applies_to(rule, m.status)] if rule.to_status else []
    return [event, *others]


def available_decisions(event: EntryEvent, role: str) -> list[Decision]:
    """The decisions ``role`` may take on ``event`` as it stands."""
    return [decision for decision in decisions_for(role) if applies_to(DECISIONS[decision], event.status)]


def decide(
    session: Session,
    event_id: int,
    decision: Decision,
    *,
    actor: str,
    role: str,
    note: str = "",
    visit_id: int | None = None,
    settings: Settings | None = None,
) -> list[Review]:
    """Take ``decision`` on the event (``visit_id`` and ``settings`` for LINK) and, when it moves the
    status, on every other member of its passage it applies to; audit ``event.<decision>`` for each.

    Returns the reviews, the event's first. The event itself must be in a status the decision
    applies to; members already decided are left as they are.
    """
    rule = DECISIONS[decision]
    note = _checked_note(rule, note)
    event, members = _locked(session, event_id, whole_passage=rule.to_status is not None)
    if not applies_to(rule, event.status):
        allowed = ", ".join(sorted(rule.from_statuses or ()))
        raise TransitionRefused(
            f"event #{event_id} is {event.status}; {decision} applies only to {allowed} events"
        )
    targets = shared_with(event, members, decision)
    linked = None
    if decision == Decision.LINK:
        linked = _visit(session, visit_id)
        for target in targets:
            check_cover(linked, target, _required(settings))
    taken = [_apply(session, target, decision, rule, note, linked, actor, role) for target in targets]
    if rule.to_status == EventStatus.CONFIRMED:
        for target in targets:
            hold_confirmed(session, target, actor=actor, role=role)
    return taken


def _required(settings: Settings | None) -> Settings:
    if settings is None:
        raise TypeError("linking an event to a visit needs the settings (its cover window)")
    return settings


def _checked_note(rule: DecisionRule, note: str) -> str:
    note = note.strip()
    if rule.note_required and not note:
        raise NoteRequired("write a note saying what you saw or did")
    if len(note) > MAX_NOTE_LENGTH:
        raise NoteTooLong(f"a note has at most {MAX_NOTE_LENGTH} characters")
    return note


def _locked(session: Session, event_id: int, *, whole_passage: bool) -> tuple[EntryEvent, list[EntryEvent]]:
    """The event and, with ``whole_passage``, all members of its passage, locked in id order."""
    event = session.get(EntryEvent, event_id)
    if event is None:
        raise EventNotFound(f"there is no event #{event_id}")
    passage = in_passage(event.passage_id or event.id) if whole_passage else EntryEvent.id == event_id
    locked = (
        select(EntryEvent)
        .where(sa.or_(passage, EntryEvent.id == event_id))
        .order_by(EntryEvent.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # as they stand now that they are locked
    )
    return event, list(session.exec(locked).all())


def _apply(
    session: Session,
    event: EntryEvent,
    decision: Decision,
    rule: DecisionRule,
    note: str,
    linked: Visit | None,
    actor: str,
    role: str,
) -> Review:
    """One event's share of a decision: its status and link, its Review row, its audit record."""
    before = trail.row_values(event, _EVENT_FIELDS)
    if rule.to_status is not None:
        event.status = rule.to_status
    if linked is not None:
        event.visit_id = linked.id
    review = Review(
        event_id=event.id,
        decision=decision.value,
        note=note,
        visit_id=linked.id if linked else None,
        actor=actor,
    )
    session.add(review)
    session.flush()
    after = {**trail.row_values(event, _EVENT_FIELDS), "note": note}
    trail.record(
        session,
        actor=actor,
        role=role,
        action=f"event.{decision.value}",
        entity="event",
        entity_id=event.id,
        before=before,
        after=after,
    )
    return review


def correct_plate(
    session: Session, event_id: int, text: str, *, actor: str, role: str, settings: Settings
) -> EntryEvent:
    """Set a vehicle event's plate to ``text`` as a guard read it; audit ``event.plate_corrected``.

    The reader's confidence is kept (it says how sure the reader was, not the guard), and
    ``plate_corrected_by`` names the guard. An event the cross-check judged (open or explained)
    is judged again with the corrected plate, in the same audit record.
    """
    event = session.get(EntryEvent, event_id, with_for_update=True)
    if event is None:
        raise EventNotFound(f"there is no event #{event_id}")
    if event.label not in VEHICLE_CLASSES:
        raise NotAVehicle(f"event #{event_id} is a {event.label}, which has no number plate")
    plate = parse_typed_plate(text)
    if plate is None:
        raise InvalidPlate(f"{text!r} is not an Indonesian number plate")
    fields = (*_PLATE_FIELDS, *LINK_FIELDS)
    before = trail.row_values(event, fields)
    event.plate_text, event.plate_status, event.plate_corrected_by = str(plate), PlateStatus.READ, actor
    if event.status in _RECHECKED_STATUSES:
        check_event(session, event, settings)
    session.flush()
    trail.record(session, actor=actor, role=role, action="event.plate_corrected", entity="event",
                 entity_id=event_id, before=before, after=trail.row_values(event, fields))
    return event


def _visit(session: Session, visit_id: int | None) -> Visit:
    if visit_id is None:
        raise VisitNotFound("choose the visit that explains this entry")
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise VisitNotFound(f"there is no visit #{visit_id}")
    return visit


def history(session: Session, event_id: int) -> Sequence[Review]:
    """The event's reviews, oldest first."""
    return session.exec(
        select(Review).where(Review.event_id == event_id).order_by(Review.at, Review.id)
    ).all()


def cover_span(visit: Visit, settings: Settings) -> tuple[datetime, datetime]:
    """[start, end) of the entries the visit's cover holds: ``window_after`` before its check-in
    until ``cover_end``."""
    _before, after = coverage_window(settings)
    return visit.check_in_at - after, cover_end(visit, settings)


def check_cover(visit: Visit, event: EntryEvent, settings: Settings) -> None:
    """Raise ``VisitDoesNotCover`` unless the visit's cover holds the event."""
    start, end = cover_span(visit, settings)
    if visit.camera_id is not None and visit.camera_id != event.camera_id:
        raise VisitDoesNotCover(visit, VisitDoesNotCover.GATE, start, end)
    if not start <= event.occurred_at < end:
        raise VisitDoesNotCover(visit, VisitDoesNotCover.TIME, start, end)
    if event.label in VEHICLE_CLASSES and not visit.has_vehicle:
        raise VisitDoesNotCover(visit, VisitDoesNotCover.VEHICLE, start, end)


def covers(visit: Visit, event: EntryEvent, settings: Settings) -> bool:
    try:
        check_cover(visit, event, settings)
    except VisitDoesNotCover:
        return False
    return True


def link_candidates(
    session: Session, events: Sequence[EntryEvent], settings: Settings, limit: int = 20
) -> list[Visit]:
    """The visits whose cover holds every one of ``events`` (a passage's members to link), the
    one checked in closest to the first event first: the visits a link would be accepted to."""
    if not events:
        return []
    first = min(event.occurred_at for event in events)
    last = max(event.occurred_at for event in events)
    _before, after = coverage_window(settings)
    visits = session.exec(select(Visit).where(
        Visit.check_in_at <= first + after,
        Visit.check_in_at >= last - timedelta(days=MAX_VISIT_DAYS),
        sa.or_(Visit.checked_out_at.is_(None), Visit.checked_out_at > last),
    )).all()
    holding = [visit for visit in visits if all(covers(visit, event, settings) for event in events)]
    return sorted(holding, key=lambda visit: (abs(visit.check_in_at - first), visit.id))[:limit]
