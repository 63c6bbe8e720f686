"""The cross-check on a real database: events explained, flagged and re-checked after late registrations."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from gatewatch.crosscheck.service import check_event
from gatewatch.models.enums import EventStatus, FlagReason
from gatewatch.models.tables import AuditRecord, Camera, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import AuthorisationInput, add_authorisation
from gatewatch.visitors.visits import VisitInput, register_visit

T = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, within the gate's 06:00-22:00
NIGHT = datetime(2024, 5, 1, 16, 0, tzinfo=UTC)  # 23:00 in Jakarta

EventFactory = Callable[..., EntryEvent]


def checked(session: Session, settings: Settings, event: EntryEvent) -> EntryEvent:
    check_event(session, event, settings)
    session.flush()
    return event


def register(session: Session, settings: Settings, check_in_at: datetime, **fields: object) -> int:
    data = VisitInput(visitor_name="Budi", id_number="3174051203850001", check_in_at=check_in_at, **fields)
    return register_visit(session, data, actor="guard1", role="guard", settings=settings).id


def auto_resolved(session: Session) -> list[AuditRecord]:
    return list(session.exec(select(AuditRecord).where(AuditRecord.action == "event.auto_resolved")).all())


def test_a_late_registration_resolves_the_open_events_it_covers(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    covered = checked(session, settings, make_event(T))
    too_early = checked(session, settings, make_event(T - timedelta(minutes=30)))
    assert covered.flag == FlagReason.UNREGISTERED

    visit_id = register(session, settings, T + timedelta(minutes=1))

    assert (covered.status, covered.flag, covered.visit_id) == (EventStatus.EXPLAINED, None, visit_id)
    assert covered.flag_detail is None
    assert (too_early.status, too_early.flag) == (EventStatus.FLAGGED, FlagReason.UNREGISTERED)
    [record] = auto_resolved(session)
    assert (record.actor, record.role) == ("system", "system")
    assert (record.entity, record.entity_id) == ("event", str(covered.id))
    assert json.loads(record.before) == {
        "status": "flagged", "flag": "unregistered", "visit_id": None, "authorisation_id": None,
    }
    assert json.loads(record.after) == {
        "status": "explained", "flag": None, "visit_id": visit_id, "authorisation_id": None,
    }


def test_a_new_authorisation_resolves_the_open_events_in_its_validity(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    event = checked(session, settings, make_event(T))
    day_before = checked(session, settings, make_event(T - timedelta(days=1)))
    data = AuthorisationInput(holder="Tim Logistik KPU", max_persons=5, valid_from=date(2024, 5, 1),
                              valid_until=date(2024, 5, 1), start_time="08:00", end_time="16:00")

    authorisation = add_authorisation(session, data, actor="admin", role="admin", settings=settings)

    assert (event.status, event.authorisation_id) == (EventStatus.EXPLAINED, authorisation.id)
    assert (day_before.status, day_before.flag) == (EventStatus.FLAGGED, FlagReason.UNREGISTERED)
    assert len(auto_resolved(session)) == 1


def test_an_after_hours_entry_stays_flagged_after_a_registration(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    event = checked(session, settings, make_event(NIGHT))
    assert (event.status, event.flag) == (EventStatus.FLAGGED, FlagReason.AFTER_HOURS)

    register(session, settings, NIGHT + timedelta(minutes=1))

    assert (event.status, event.flag, event.visit_id) == (EventStatus.FLAGGED, FlagReason.AFTER_HOURS, None)
    assert auto_resolved(session) == []


def test_an_after_hours_entry_names_the_visit_that_covers_it(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    visit_id = register(session, settings, NIGHT - timedelta(minutes=3))

    event = checked(session, settings, make_event(NIGHT))

    assert (event.flag, event.visit_id) == (FlagReason.AFTER_HOURS, visit_id)
    assert "after hours" in event.flag_detail


def test_the_third_person_on_a_party_of_two_is_over_party_size(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    visit_id = register(session, settings, T - timedelta(minutes=5), party_size=2)

    events = [checked(session, settings, make_event(T + timedelta(seconds=s))) for s in (0, 10, 20)]

    assert [e.visit_id for e in events] == [visit_id, visit_id, None]
    assert [e.flag for e in events] == [None, None, FlagReason.OVER_PARTY_SIZE]
    items = json.loads(events[2].flag_items)
    assert items[0]["code"] == "over_party_size"
    assert (items[0]["inside"], items[0]["capacity"], items[0]["cover"]) == (2, 2, None)
    assert items[1] == {"code": "places", "cover": {"type": "visit", "id": visit_id, "name": "Budi"},
                        "kind": "person", "capacity": 2}
    assert f"visit #{visit_id} (Budi): could cover it: room for 2 people at once" in events[2].flag_detail


def test_a_false_alarm_does_not_use_up_a_visit(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    register(session, settings, T - timedelta(minutes=5))
    ghost = checked(session, settings, make_event(T))
    ghost.status = EventStatus.FALSE_ALARM

    event = checked(session, settings, make_event(T + timedelta(seconds=30)))

    assert event.status == EventStatus.EXPLAINED


def test_a_vehicle_label_needs_a_visit_with_a_vehicle(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    register(session, settings, T - timedelta(minutes=5))
    car = checked(session, settings, make_event(T, label="car"))
    assert car.flag == FlagReason.UNREGISTERED

    visit_id = register(session, settings, T - timedelta(minutes=4), vehicle_plate="B 1234 XYZ")

    assert (car.status, car.visit_id) == (EventStatus.EXPLAINED, visit_id)


def test_exits_are_never_flagged(session: Session, settings: Settings, make_event: EventFactory) -> None:
    event = checked(session, settings, make_event(NIGHT, direction="exit"))

    assert event.status == EventStatus.EXIT
    assert (event.flag, event.flag_detail, event.visit_id) == (None, None, None)


def test_an_acknowledged_event_stays_acknowledged_while_unexplained(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    event = make_event(T, status=EventStatus.ACKNOWLEDGED, flag=FlagReason.UNREGISTERED)

    register(session, settings, T - timedelta(minutes=40))  # outside the window: explains nothing
    checked(session, settings, event)

    assert (event.status, event.flag) == (EventStatus.ACKNOWLEDGED, FlagReason.UNREGISTERED)


def test_a_camera_no_longer_configured_has_no_hours(
    session: Session, settings: Settings, make_event: EventFactory
) -> None:
    session.add(Camera(id="old-gate", name="Old gate", source="1"))
    event = make_event(NIGHT)
    event.camera_id = "old-gate"

    checked(session, settings, event)

    assert event.flag == FlagReason.UNREGISTERED
