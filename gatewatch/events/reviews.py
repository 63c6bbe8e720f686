"""People's decisions on entry events: acknowledge, note, confirm, link to a visit, false alarm;
and a guard's correction of a misread number plate.

Each decision writes a Review row and an audit record, and may move the event's status along
the transitions in ``DECISIONS``; any other move is refused, so two people acting on the same
event at once cannot, say, dismiss an entry a guard has just confirmed. Who may take which
decision is in the same table, for the web and API layers to enforce. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.service import LINK_FIELDS, check_event
from gatewatch.models.enums import OPEN_STATUSES, EventStatus, PlateStatus, Role
from gatewatch.models.tables import EntryEvent, Review, Visit
from gatewatch.plates import parse_typed_plate
from gatewatch.settings import VEHICLE_CLASSES, Settings

#: Visits checked in this close to an event are offered when linking it.
LINK_WINDOW = timedelta(hours=4)
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


class NotAVehicle(ReviewError):
    pass


class InvalidPlate(ReviewError):
    pass


def decisions_for(role: str) -> list[Decision]:
    return [decision for decision, rule in DECISIONS.items() if role in rule.roles]


def applies_to(rule: DecisionRule, status: str) -> bool:
    """Whether a decision under ``rule`` may be taken on an event in ``status``."""
    return rule.from_statuses is None or status in rule.from_statuses


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
) -> Review:
    """Take ``decision`` on the event (``visit_id`` for LINK); audit ``event.<decision>``."""
    rule = DECISIONS[decision]
    event = session.get(EntryEvent, event_id, with_for_update=True)
    if event is None:
        raise EventNotFound(f"there is no event #{event_id}")
    note = note.strip()
    if rule.note_required and not note:
        raise NoteRequired("write a note saying what you saw or did")
    if len(note) > MAX_NOTE_LENGTH:
        raise NoteTooLong(f"a note has at most {MAX_NOTE_LENGTH} characters")
    if not applies_to(rule, event.status):
        allowed = ", ".join(sorted(rule.from_statuses or ()))
        raise TransitionRefused(
            f"event #{event_id} is {event.status}; {decision} applies only to {allowed} events"
        )
    linked = _visit(session, visit_id) if decision == Decision.LINK else None
    before = trail.row_values(event, _EVENT_FIELDS)
    if rule.to_status is not None:
        event.status = rule.to_status
    if linked is not None:
        event.visit_id = linked.id
    review = Review(
        event_id=event_id,
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
        entity_id=event_id,
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


def link_candidates(session: Session, event: EntryEvent, limit: int = 20) -> list[Visit]:
    """Visits checked in within ``LINK_WINDOW`` of the event, the closest first."""
    t = event.occurred_at
    visits = session.exec(
        select(Visit).where(Visit.check_in_at >= t - LINK_WINDOW, Visit.check_in_at <= t + LINK_WINDOW)
    ).all()
    return sorted(visits, key=lambda visit: (abs(visit.check_in_at - t), visit.id))[:limit]
