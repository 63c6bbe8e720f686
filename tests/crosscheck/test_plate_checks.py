"""Plates on a real database (SQLite and PostgreSQL): the cross-check with read plates, the watch
list, a guard's correction and its audit, and the visitor log searched by plate."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.audit.events import AUDITED_EVENT_FIELDS, FIXED_EVENT_FIELDS, record_event
from gatewatch.crosscheck import watchlist
from gatewatch.crosscheck.service import check_event
from gatewatch.events import reviews
from gatewatch.evidence.integrity import EventProblem, verify_integrity
from gatewatch.models.enums import EventStatus, FlagReason, PlateStatus
from gatewatch.models.tables import AuditRecord, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.visits import VisitInput, list_visits, register_visit

T = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
NIGHT = datetime(2024, 5, 1, 16, 0, tzinfo=UTC)  # 23:00 in Jakarta
PLATE = "BG 1234 AB"
PLATE_FIELDS = ("plate_text", "plate_confidence", "plate_crop_path", "plate_crop_sha256", "plate_status",
                "plate_corrected_by")

EventFactory = Callable[..., EntryEvent]


@pytest.fixture
def car(session: Session, settings: Settings, make_event: EventFactory) -> Callable[..., EntryEvent]:
    """A car entry as the pipeline stores it: plate read (or not), cross-checked, recorded."""

    def make(at: datetime = T, plate: str | None = PLATE) -> EntryEvent:
        event = make_event(at, label="car")
        event.plate_text, event.plate_confidence = plate, 0.91 if plate else None
        event.plate_status = PlateStatus.READ if plate else PlateStatus.UNREADABLE
        check_event(session, event, settings)
        session.flush()
        record_event(session, event)
        return event

    return make


def register(session: Session, settings: Settings, plate: str | None, at: datetime = T - timedelta(minutes=5)) -> int:
    data = VisitInput(visitor_name="Budi", id_number="3174051203850001", check_in_at=at,
                      vehicle_plate=plate, vehicle_type="car")
    return register_visit(session, data, actor="guard1", role="guard", settings=settings).id


def actions(session: Session, action: str) -> list[AuditRecord]:
    return list(session.exec(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def verified(session: Session, settings: Settings) -> list[str]:
    session.commit()
    report = verify_integrity(session.get_bind(), settings, check_files=False)
    return [issue.message for issue in report.event_issues.items + report.chain.items]


def test_a_car_whose_plate_no_visit_registers_is_flagged_until_its_visit_is_registered(
    session: Session, settings: Settings, car: Callable[..., EntryEvent]
) -> None:
    register(session, settings, "B 9 XY")
    event = car()
    assert (event.status, event.flag) == (EventStatus.FLAGGED, FlagReason.UNKNOWN_PLATE)

    visit_id = register(session, settings, "bg-1234-ab")

    assert (event.status, event.flag, event.visit_id) == (EventStatus.EXPLAINED, None, visit_id)
    assert len(actions(session, "event.auto_resolved")) == 1
    assert verified(session, settings) == []


def test_an_unreadable_plate_is_matched_as_before_and_the_event_says_so(
    session: Session, settings: Settings, car: Callable[..., EntryEvent]
) -> None:
    visit_id = register(session, settings, "B 9 XY")

    event = car(plate=None)

    assert (event.status, event.visit_id, event.plate_status) == (EventStatus.EXPLAINED, visit_id, "unreadable")


def test_the_watch_list_flags_open_entries_of_the_plate_at_once_and_its_removal_lets_the_log_explain_them(
    session: Session, settings: Settings, car: Callable[..., EntryEvent]
) -> None:
    night = car(NIGHT)
    day = car()
    other = car(plate="B 9 XY")

    entry = watchlist.add_plate(session, "bg1234ab", "  stolen, police report 17/V  ", actor="admin1",
                                role="admin", settings=settings)

    assert (entry.plate, entry.plate_key, entry.reason) == (PLATE, "8G1234A8", "stolen, police report 17/V")
    assert (night.flag, day.flag, other.flag) == (FlagReason.WATCHLIST, FlagReason.WATCHLIST, FlagReason.UNREGISTERED)
    assert f"watch list entry #{entry.id} (BG 1234 AB): stolen, police report 17/V" in day.flag_detail
    [added] = actions(session, "watchlist.added")
    assert (added.actor, json.loads(added.after)["reason"]) == ("admin1", "stolen, police report 17/V")
    assert {r.entity_id for r in actions(session, "event.rechecked")} == {str(night.id), str(day.id)}
    visit_id = register(session, settings, PLATE)
    assert day.flag == FlagReason.WATCHLIST  # a registration does not take a plate off the watch list

    watchlist.remove_plate(session, entry.id, actor="admin1", role="admin", settings=settings)

    assert (day.status, day.visit_id) == (EventStatus.EXPLAINED, visit_id)
    assert (night.status, night.flag) == (EventStatus.FLAGGED, FlagReason.AFTER_HOURS)
    assert watchlist.active_entries(session) == []
    assert verified(session, settings) == []


@pytest.mark.parametrize(
    ("plate", "reason", "field"),
    [("not a plate", "stolen", "plate"), (PLATE, "   ", "reason"), (PLATE, "x" * 501, "reason")],
)
def test_a_watch_list_entry_needs_a_plate_and_a_reason(
    session: Session, settings: Settings, plate: str, reason: str, field: str
) -> None:
    with pytest.raises(watchlist.WatchlistError) as error:
        watchlist.add_plate(session, plate, reason, actor="admin1", role="admin", settings=settings)
    assert error.value.field == field


def test_a_plate_is_listed_once_however_it_is_spelled(session: Session, settings: Settings) -> None:
    watchlist.add_plate(session, PLATE, "stolen", actor="admin1", role="admin", settings=settings)

    with pytest.raises(watchlist.AlreadyListed):
        watchlist.add_plate(session, "bg-1234-ab", "again", actor="admin1", role="admin", settings=settings)
    with pytest.raises(watchlist.EntryNotFound):
        watchlist.remove_plate(session, 999, actor="admin1", role="admin", settings=settings)


def test_a_guards_correction_is_audited_rejudges_the_entry_and_verifies(
    session: Session, settings: Settings, car: Callable[..., EntryEvent]
) -> None:
    visit_id = register(session, settings, PLATE)
    event = car(plate="BG 1284 AB")  # misread
    assert event.flag == FlagReason.UNKNOWN_PLATE

    reviews.correct_plate(session, event.id, "bg 1234 ab", actor="guard1", role="guard", settings=settings)

    assert (event.plate_text, event.plate_status, event.plate_corrected_by) == (PLATE, "read", "guard1")
    assert event.plate_confidence == 0.91  # the reader's, kept
    assert (event.status, event.visit_id) == (EventStatus.EXPLAINED, visit_id)
    [record] = actions(session, "event.plate_corrected")
    assert json.loads(record.before)["plate_text"] == "BG 1284 AB"
    after = json.loads(record.after)
    assert (after["plate_text"], after["status"], after["visit_id"]) == (PLATE, "explained", visit_id)
    assert verified(session, settings) == []


def test_a_correction_does_not_undo_a_persons_decision(
    session: Session, settings: Settings, car: Callable[..., EntryEvent]
) -> None:
    event = car(plate="BG 1284 AB")
    reviews.decide(session, event.id, reviews.Decision.CONFIRM, actor="guard1", role="guard", note="seen")

    reviews.correct_plate(session, event.id, PLATE, actor="guard1", role="guard", settings=settings)

    assert (event.status, event.plate_text) == (EventStatus.CONFIRMED, PLATE)


@pytest.mark.parametrize(("label", "text", "error"), [
    ("car", "12345", reviews.InvalidPlate), ("person", PLATE, reviews.NotAVehicle),
])
def test_a_correction_needs_a_plate_on_a_vehicle(
    session: Session, settings: Settings, make_event: EventFactory, label: str, text: str,
    error: type[reviews.ReviewError],
) -> None:
    event = make_event(T, label=label)

    with pytest.raises(error):
        reviews.correct_plate(session, event.id, text, actor="guard1", role="guard", settings=settings)


def test_events_recorded_before_plates_still_verify_and_a_later_plate_change_is_checked(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    event = make_event(T, label="car")
    check_event(session, event, settings)
    session.flush()
    before_plates = [name for name in (*FIXED_EVENT_FIELDS, *AUDITED_EVENT_FIELDS) if name not in PLATE_FIELDS]
    trail.record(session, actor="system", role="system", action="event.recorded", entity="event",
                 entity_id=event.id, after=trail.row_values(event, [*before_plates, "flag"]))
    assert verified(session, settings) == []

    reviews.correct_plate(session, event.id, PLATE, actor="guard1", role="guard", settings=settings)
    assert verified(session, settings) == []

    session.execute(sa.update(EntryEvent).where(EntryEvent.id == event.id).values(plate_text="B 1 A"))
    session.commit()
    report = verify_integrity(session.get_bind(), settings, check_files=False)
    [issue] = report.event_issues.items
    assert (issue.kind, issue.field, issue.expected, issue.actual) == (EventProblem.ALTERED, "plate_text", PLATE,
                                                                       "B 1 A")


def test_the_visitor_log_is_searched_by_plate_whatever_glyphs_were_typed(session: Session, settings: Settings) -> None:
    wanted = register(session, settings, "B 1234 XYZ")
    register(session, settings, "BG 77 AB")

    for search in ("8 1234 xy2", "b1234", "1234-XY", "l234"):
        found = [visit.id for visit in list_visits(session, plate=search)]
        assert found == ([wanted] if search != "l234" else []), search
