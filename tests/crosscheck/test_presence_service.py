"""Capacity by presence on a real database (SQLite and PostgreSQL): crossings stored as the camera
stores them, judged against visits and scheduled authorisations by who is inside."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from gatewatch.camera.recording import store_event
from gatewatch.crosscheck.service import presence_day_start
from gatewatch.models.enums import EventStatus, FlagReason, PlateStatus
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import AuthorisationInput, add_authorisation, end_authorisation
from gatewatch.visitors.visits import VisitInput, check_out, register_visit
from tests.conftest import CAMERA_ID

JAKARTA = ZoneInfo("Asia/Jakarta")
WEDNESDAY = date(2024, 5, 1)  # the gate is open 06:00-22:00 site time

Cross = Callable[..., EntryEvent]


def site(hour: int, minute: int = 0, second: float = 0.0, *, day: date = WEDNESDAY) -> datetime:
    """A site (Jakarta) time on ``day``, as the aware UTC instant the camera stores."""
    local = datetime.combine(day, time(hour, minute), tzinfo=JAKARTA) + timedelta(seconds=second)
    return local.astimezone(UTC)


@pytest.fixture
def cross(session: Session, settings: Settings) -> Cross:
    """A crossing stored as the camera pipeline stores it (``store_event``): passage, cross-check, audit."""
    tracks, frames = itertools.count(1), itertools.count(1)

    def make(at: datetime, *, label: str = "person", direction: str = "entry", track_id: int | None = None,
             rides: int | None = None, plate: str | None = None, unreadable: bool = False) -> EntryEvent:
        event = EntryEvent(
            camera_id=CAMERA_ID, source_key="live-2024-05-01", track_id=next(tracks) if track_id is None else track_id,
            label=label, direction=direction, occurred_at=at, frame_index=next(frames), confidence=0.9,
            box_x1=100.0, box_y1=80.0, box_x2=220.0, box_y2=400.0, rides_track_id=rides,
            status=EventStatus.FLAGGED,
        )
        if plate is not None:
            event.plate_text, event.plate_confidence, event.plate_status = plate, 0.93, PlateStatus.READ
        elif unreadable:
            event.plate_status = PlateStatus.UNREADABLE
        store_event(session, event, settings)
        return event

    return make


def visit(session: Session, settings: Settings, check_in_at: datetime, **fields: Any) -> int:
    data = VisitInput(visitor_name=fields.pop("visitor_name", "Sari Wulandari"), id_number="3174051203850001",
                      check_in_at=check_in_at, **fields)
    return register_visit(session, data, actor="guard1", role="guard", settings=settings).id


def authorisation(session: Session, settings: Settings, **fields: Any) -> int:
    values: dict[str, Any] = {"valid_from": WEDNESDAY, "valid_until": date(2024, 5, 31), **fields}
    data = AuthorisationInput.model_validate(values)
    return add_authorisation(session, data, actor="admin1", role="admin", settings=settings).id


def explained_by(event: EntryEvent) -> tuple[str, int] | None:
    assert event.status == EventStatus.EXPLAINED, (event.flag, event.flag_detail)
    assert (event.flag, event.flag_detail, event.flag_items) == (None, None, None)
    return ("visit", event.visit_id) if event.visit_id else ("authorisation", event.authorisation_id)


def flagged(event: EntryEvent, reason: FlagReason) -> list[dict[str, Any]]:
    """The event's stored items, once it is seen flagged for ``reason`` with its items saying so."""
    assert (event.status, event.flag) == (EventStatus.FLAGGED, reason), event.flag_detail
    items = json.loads(event.flag_items)
    assert items[0]["code"] == reason.value
    assert event.flag_detail.splitlines()[0].startswith(reason.value.replace("_", " ").replace(
        "over party size", "full"))
    return items


def note(items: list[dict[str, Any]], kind: str, id: int) -> dict[str, Any]:
    """The item saying what the cover (``kind``, ``id``) made of the entry."""
    [found] = [item for item in items[1:]
               if isinstance(item.get("cover"), dict) and (item["cover"]["type"], item["cover"]["id"]) == (kind, id)]
    return found


# --- standing authorisations ----------------------------------------------------------------------


def test_a_guard_shift_walking_in_and_out_all_day_is_never_flagged_but_a_fifth_person_is(
    session: Session, settings: Settings, cross: Cross
) -> None:
    shift = authorisation(session, settings, holder="Regu Satpam A", max_persons=4, weekdays="1-5",
                          start_time="07:00", end_time="19:00")
    guards = [cross(site(7, 5 + i)) for i in range(4)]
    rounds = []
    for k in range(12):  # rounds, patrols, lunch: out and back in, sometimes two at once
        out = site(8 + k // 2, 30 * (k % 2))
        cross(out, direction="exit")
        if k % 3 == 0:
            cross(out + timedelta(minutes=1), direction="exit")
            rounds.append(cross(out + timedelta(minutes=9)))
        rounds.append(cross(out + timedelta(minutes=10)))

    intruder = cross(site(15, 0))

    assert {explained_by(event) for event in guards + rounds} == {("authorisation", shift)}
    items = flagged(intruder, FlagReason.OVER_PARTY_SIZE)
    assert (items[0]["inside"], items[0]["capacity"], items[0]["cover"]) == (4, 4, None)
    assert note(items, "authorisation", shift) | {"cover": None} == {
        "code": "places", "cover": None, "kind": "person", "capacity": 4,
    }
    assert intruder.flag_detail.startswith("full: the 4 people inside already fill the places")
    assert f"authorisation #{shift} (Regu Satpam A): could cover it: room for 4 people at once" in (
        intruder.flag_detail
    )
    cross(site(15, 5), direction="exit")
    assert explained_by(cross(site(15, 10))) == ("authorisation", shift)


def test_an_authorisation_outside_its_hours_or_days_covers_nothing(
    session: Session, settings: Settings, cross: Cross
) -> None:
    office = authorisation(session, settings, holder="Staf Administrasi", max_persons=10, weekdays="1-5",
                           start_time="08:00", end_time="16:00")

    on_shift = cross(site(15, 59))
    late = cross(site(16, 0))
    saturday = cross(site(10, 0, day=date(2024, 5, 4)))

    assert explained_by(on_shift) == ("authorisation", office)
    for event in (late, saturday):
        items = flagged(event, FlagReason.UNREGISTERED)
        assert note(items, "authorisation", office)["code"] == "off_duty"


def test_a_night_shift_covers_the_morning_after_its_start_day(
    session: Session, settings: Settings, cross: Cross
) -> None:
    night = authorisation(session, settings, holder="Regu Malam", max_persons=2, valid_until=WEDNESDAY,
                          start_time="21:00", end_time="07:00")
    thursday = WEDNESDAY + timedelta(days=1)

    evening = cross(site(21, 30))
    morning = cross(site(6, 30, day=thursday))  # the gate opens at 06:00; Wednesday's shift runs on
    after = cross(site(7, 0, day=thursday))

    assert explained_by(evening) == ("authorisation", night)
    assert explained_by(morning) == ("authorisation", night)
    assert note(flagged(after, FlagReason.UNREGISTERED), "authorisation", night)["code"] == "off_duty"


def test_an_ended_authorisation_covers_nothing(session: Session, settings: Settings, cross: Cross) -> None:
    cleaners = authorisation(session, settings, holder="PT Bersih Selalu", max_persons=3)
    before = cross(site(9, 0))
    end_authorisation(session, cleaners, actor="admin1", role="admin", settings=settings, at=site(10, 0))

    after = cross(site(11, 0))

    assert explained_by(before) == ("authorisation", cleaners)
    assert note(flagged(after, FlagReason.UNREGISTERED), "authorisation", cleaners)["code"] == "off_duty"


def test_a_delivery_truck_is_explained_by_the_authorisation_naming_its_plate_another_plate_is_not(
    session: Session, settings: Settings, cross: Cross
) -> None:
    carrier = authorisation(session, settings, holder="PT Angkut Sriwijaya", max_persons=2, max_vehicles=1,
                            plates=["BG 8123 KA"], weekdays="1-6", start_time="08:00", end_time="17:00")

    truck = cross(site(9, 0), label="truck", plate="BG 8123 KA")
    cross(site(9, 40), label="truck", direction="exit")
    stranger = cross(site(10, 0), label="truck", plate="BG 9911 ZZ")
    unread = cross(site(10, 30), label="truck", unreadable=True)

    assert explained_by(truck) == ("authorisation", carrier)
    items = flagged(stranger, FlagReason.UNKNOWN_PLATE)
    assert note(items, "authorisation", carrier) | {"cover": None} == {
        "code": "other_plate", "cover": None, "registered": "BG 8123 KA", "read": "BG 9911 ZZ",
    }
    assert explained_by(unread) == ("authorisation", carrier)  # an unread plate is matched by vehicle only


# --- visits -------------------------------------------------------------------------------------


def test_a_party_of_two_stepping_out_and_back_in_is_not_flagged_but_a_third_person_is(
    session: Session, settings: Settings, cross: Cross
) -> None:
    party = visit(session, settings, site(10, 0), party_size=2, expected_check_out_at=site(15, 0))
    first = [cross(site(10, 1)), cross(site(10, 1, 0.4))]  # together: one passage
    cross(site(12, 0), direction="exit")
    cross(site(12, 0, 5), direction="exit")
    back = [cross(site(12, 40)), cross(site(12, 41))]  # long after the 15 minutes a first entry has

    third = cross(site(12, 42))

    assert first[1].passage_id == first[0].id
    assert {explained_by(event) for event in first + back} == {("visit", party)}
    items = flagged(third, FlagReason.OVER_PARTY_SIZE)
    assert (items[0]["inside"], items[0]["capacity"]) == (2, 2)
    assert note(items, "visit", party)["code"] == "places"


def test_after_check_out_the_visitors_entry_is_checked_out(
    session: Session, settings: Settings, cross: Cross
) -> None:
    visitor = visit(session, settings, site(10, 0), expected_check_out_at=site(16, 0))
    came = cross(site(10, 2))
    cross(site(11, 0), direction="exit")
    check_out(session, visitor, actor="guard1", role="guard", at=site(11, 1))

    again = cross(site(11, 30))

    assert explained_by(came) == ("visit", visitor)
    items = flagged(again, FlagReason.CHECKED_OUT)
    assert note(items, "visit", visitor)["checked_out"] == site(11, 1).isoformat()
    assert again.visit_id is None


def test_a_check_out_frees_the_visits_places(session: Session, settings: Settings, cross: Cross) -> None:
    guard = authorisation(session, settings, holder="Pak Joko (satpam)", max_persons=1)
    visitor = visit(session, settings, site(9, 0), expected_check_out_at=site(17, 0))
    cross(site(8, 0))  # the guard
    cross(site(9, 1))  # the visitor, who leaves unseen by the camera and checks out at the desk
    check_out(session, visitor, actor="guard1", role="guard", at=site(10, 0))
    cross(site(10, 30), direction="exit")  # so this is the guard going out: no one else is inside

    back = cross(site(10, 45))

    assert explained_by(back) == ("authorisation", guard)


def test_without_a_check_out_an_exit_frees_the_visitors_place_whose_cover_ends_sooner(
    session: Session, settings: Settings, cross: Cross
) -> None:
    """The same day as above, without the check-out: the camera cannot tell who left."""
    guard = authorisation(session, settings, holder="Pak Joko (satpam)", max_persons=1)
    visitor = visit(session, settings, site(9, 0), expected_check_out_at=site(17, 0))
    cross(site(8, 0))
    cross(site(9, 1))
    cross(site(10, 30), direction="exit")

    back = cross(site(10, 45))

    # Taken for the visitor coming back: the visit's place was the one freed, the guard's is still taken.
    assert explained_by(back) == ("visit", visitor)
    items = flagged(cross(site(10, 50)), FlagReason.OVER_PARTY_SIZE)
    assert (items[0]["inside"], items[0]["capacity"]) == (2, 2)
    assert note(items, "authorisation", guard)["code"] == "places"


def test_a_check_out_frees_its_places_for_a_party_coming_hours_later(
    session: Session, settings: Settings, cross: Cross
) -> None:
    morning = visit(session, settings, site(9, 0), party_size=2, visitor_name="Rombongan PT Pusri")
    cross(site(9, 1))
    cross(site(9, 1, 0.5))  # they leave unseen by the camera (a truck in the way) and check out at the desk
    check_out(session, morning, actor="guard1", role="guard", at=site(11, 0))
    afternoon = visit(session, settings, site(14, 0), party_size=2, visitor_name="Rombongan Dinas PU")

    party = [cross(site(14, 1)), cross(site(14, 1, 0.5))]

    assert [explained_by(event) for event in party] == [("visit", afternoon)] * 2


def test_a_visits_first_entry_must_come_soon_after_check_in_but_re_entries_need_not(
    session: Session, settings: Settings, cross: Cross
) -> None:
    slow = visit(session, settings, site(9, 0), visitor_name="Andi")
    late = cross(site(9, 15, 1))
    prompt = visit(session, settings, site(11, 0), visitor_name="Dewi")
    came = cross(site(11, 14))
    cross(site(11, 30), direction="exit")

    back = cross(site(13, 0))

    items = flagged(late, FlagReason.UNREGISTERED)
    assert note(items, "visit", slow) | {"cover": None} == {
        "code": "first_entry_late", "cover": None, "check_in": site(9, 0).isoformat(), "minutes": 15,
    }
    assert explained_by(came) == ("visit", prompt)
    assert explained_by(back) == ("visit", prompt)


def test_the_count_inside_starts_afresh_at_presence_reset(
    session: Session, settings: Settings, cross: Cross
) -> None:
    thursday = WEDNESDAY + timedelta(days=1)
    contractor = visit(session, settings, site(9, 0), visitor_name="Budi (kontraktor)",
                       expected_check_out_at=site(17, 0, day=thursday))
    cross(site(9, 5))  # comes in; the camera misses him leaving in the evening
    same_day = cross(site(14, 0))

    before_reset = cross(site(3, 59, day=thursday))  # 04:00 is the reset; the gate is shut at night
    next_morning = cross(site(8, 0, day=thursday))

    for event, reason in ((same_day, FlagReason.OVER_PARTY_SIZE), (before_reset, FlagReason.AFTER_HOURS)):
        items = flagged(event, reason)
        # The contractor's one place is taken by his morning entry: nothing would cover this one.
        assert (items[0]["inside"], items[0]["capacity"], items[0]["cover"]) == (1, 1, None)
        assert note(items, "visit", contractor)["code"] == "places"
    assert before_reset.visit_id is None
    assert explained_by(next_morning) == ("visit", contractor)


@pytest.mark.parametrize(
    ("local", "day_start"),
    [((4, 0), (WEDNESDAY, 4)), ((3, 59), (WEDNESDAY - timedelta(days=1), 4)), ((23, 0), (WEDNESDAY, 4))],
)
def test_presence_day_start_is_the_last_reset_in_site_time(
    settings: Settings, local: tuple[int, int], day_start: tuple[date, int]
) -> None:
    assert presence_day_start(site(*local), settings) == site(day_start[1], day=day_start[0])


# --- passages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bike_first", [True, False], ids=["bike first", "riders first"])
def test_a_motorcycle_and_its_two_riders_are_one_passage_on_one_visit(
    session: Session, settings: Settings, cross: Cross, bike_first: bool
) -> None:
    couple = visit(session, settings, site(10, 0), party_size=2, vehicle_type="motorcycle",
                   vehicle_plate="BG 3456 XY")
    at = site(10, 2)
    bike = (lambda: cross(at, label="motorcycle", track_id=31, plate="BG 3456 XY"))
    riders = (lambda: [cross(at + timedelta(seconds=0.3), track_id=32, rides=31),
                       cross(at + timedelta(seconds=0.5), track_id=33, rides=31)])
    if bike_first:
        motorcycle, people = bike(), riders()
    else:
        people, motorcycle = riders(), bike()

    second_bike = cross(site(10, 5), label="motorcycle", track_id=41)
    second_rider = cross(site(10, 5, 0.2), track_id=42, rides=41)

    passage = {event.passage_id for event in (motorcycle, *people)}
    assert passage == {min(event.id for event in (motorcycle, *people))}
    assert {explained_by(event) for event in (motorcycle, *people)} == {("visit", couple)}
    assert second_rider.passage_id == second_bike.id != motorcycle.passage_id
    items = flagged(second_bike, FlagReason.OVER_PARTY_SIZE)
    assert (items[0]["kind"], items[0]["inside"], items[0]["capacity"]) == ("vehicle", 1, 1)
    assert f"visit #{couple} (Sari Wulandari): could cover it: room for its one vehicle" in second_bike.flag_detail
    assert "party" not in second_bike.flag_detail
    flagged(second_rider, FlagReason.OVER_PARTY_SIZE)


def test_a_late_registration_rechecks_entries_in_order_by_presence(
    session: Session, settings: Settings, cross: Cross
) -> None:
    entries = [cross(site(10, 0)), cross(site(10, 0, 30)), cross(site(10, 1))]
    for event in entries:
        flagged(event, FlagReason.UNREGISTERED)

    party = visit(session, settings, site(10, 1), party_size=2)

    assert [explained_by(event) for event in entries[:2]] == [("visit", party)] * 2
    flagged(entries[2], FlagReason.OVER_PARTY_SIZE)


def test_the_stored_items_are_json_led_by_the_flag(session: Session, settings: Settings, cross: Cross) -> None:
    visit(session, settings, site(10, 0), party_size=1)
    events = [cross(site(10, 1)), cross(site(10, 2)), cross(site(23, 0)), cross(site(10, 3), label="car")]

    stored = session.exec(select(EntryEvent).where(EntryEvent.flag.is_not(None)).order_by(EntryEvent.id)).all()

    assert [event.id for event in stored] == [event.id for event in events[1:]]
    for event in stored:
        items = json.loads(event.flag_items)
        assert isinstance(items, list) and items[0]["code"] == event.flag
    assert [event.flag for event in stored] == [FlagReason.OVER_PARTY_SIZE, FlagReason.AFTER_HOURS,
                                                FlagReason.UNREGISTERED]
