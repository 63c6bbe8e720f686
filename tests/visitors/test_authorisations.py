"""Standing authorisations: validated input, adding and ending them with audit records that keep no
NIK in clear, which are in force when, and the re-check of the open entries they explain."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from gatewatch.crosscheck.service import check_event
from gatewatch.models.enums import EventStatus, FlagReason
from gatewatch.models.tables import AuditRecord, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import (
    AlreadyEnded,
    AuthorisationInput,
    AuthorisationNotFound,
    UnknownCamera,
    active_authorisations,
    add_authorisation,
    end_authorisation,
    list_authorisations,
    mask_nik,
    members_of,
    parse_member,
)
from tests.conftest import CAMERA_ID

JAKARTA = ZoneInfo("Asia/Jakarta")
NIK = "1671014507880005"  # South Sumatra, a woman born 5 July 1988
MONDAY, SATURDAY = "2026-11-23", "2026-11-28"


def at_site(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JAKARTA)


def fields(**changes: Any) -> dict[str, Any]:
    base = {
        "holder": "Shift B, warehouse staff",
        "organisation": "PT Gudang Aman",
        "members": [{"name": "Sari Wulandari", "id_number": NIK}],
        "max_persons": 5,
        "max_vehicles": 1,
        "plates": ["bg-1234-ab"],
        "camera_id": CAMERA_ID,
        "valid_from": "2026-11-23",
        "valid_until": "2026-11-27",
        "weekdays": [1, 2, 3, 4, 5],
        "start_time": "08:00",
        "end_time": "16:00",
    }
    return {**base, **changes}


def add(session: Session, settings: Settings, **changes: Any):  # type: ignore[no-untyped-def]
    data = AuthorisationInput.parse(fields(**changes), settings.zone)
    return add_authorisation(session, data, actor="admin1", role="admin", settings=settings)


def records(session: Session, action: str) -> list[AuditRecord]:
    return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)).all())


def error_fields(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        AuthorisationInput.parse(fields(**changes), JAKARTA)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


# --- input -----------------------------------------------------------------------------------


def test_input_is_normalised() -> None:
    data = AuthorisationInput.parse(fields(weekdays="5,1-3", plates=["b-1234-xyz"], start_time="8:05"), JAKARTA)
    assert data.weekdays == (1, 2, 3, 5)
    assert data.plates == ["B 1234 XYZ"]
    assert data.start_time == time(8, 5)


def test_without_weekdays_or_hours_it_is_every_day_all_day() -> None:
    given = {k: v for k, v in fields().items() if k not in ("weekdays", "start_time", "end_time")}
    data = AuthorisationInput.parse(given, JAKARTA)
    assert data.weekdays == (1, 2, 3, 4, 5, 6, 7)
    assert data.start_time is None and data.end_time is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"members": [{"name": "Sari", "id_number": "16710145078800"}]}, "members.0.id_number", "16 digits"),
        ({"weekdays": [0, 8]}, "weekdays.0", "greater than or equal to 1"),
        ({"weekdays": "weekdays"}, "weekdays", "not a weekday number"),
        ({"weekdays": []}, "weekdays", "at least 1"),
        ({"valid_until": "2026-11-22"}, "valid_until", "before valid_from"),
        ({"valid_from": "23/11/2026"}, "valid_from", "date"),
        ({"valid_until": "9999-12-31"}, "valid_until", "less than or equal to 2999-12-31"),
        ({"start_time": "8 am"}, "start_time", "HH:MM"),
        ({"end_time": "24:00"}, "end_time", "HH:MM"),
        ({"end_time": None}, "end_time", "go together"),
        ({"end_time": "08:00"}, "end_time", "equals start_time"),
        ({"max_persons": 0, "max_vehicles": 0}, "max_vehicles", "both 0"),
        ({"plates": ["not a plate"]}, "plates.0", "not an Indonesian number plate"),
        ({"holder": " "}, "holder", "at least 1 character"),
    ],
)
def test_a_wrong_value_is_named_by_its_field(changes: dict[str, Any], field: str, words: str) -> None:
    errors = error_fields(**changes)
    assert field in errors, errors
    assert words in errors[field]


def test_a_night_shift_ends_before_it_starts() -> None:
    data = AuthorisationInput.parse(fields(start_time="22:00", end_time="06:00"), JAKARTA)
    assert (data.start_time, data.end_time) == (time(22), time(6))


def test_members_are_written_name_colon_nik() -> None:
    assert parse_member("Sari Wulandari: 1671014507880005") == {"name": "Sari Wulandari", "id_number": NIK}
    with pytest.raises(ValueError, match="NAME:NIK"):
        parse_member("Sari Wulandari")


def test_a_nik_is_masked_but_its_last_four_digits() -> None:
    assert mask_nik(NIK) == "1671 **** **** 0005"


# --- adding and ending -----------------------------------------------------------------------


def test_adding_stores_it_and_audits_it_without_the_nik_in_clear(session: Session, settings: Settings) -> None:
    authorisation = add(session, settings)
    session.commit()

    assert authorisation.weekdays == "1,2,3,4,5"
    assert json.loads(authorisation.plates) == ["BG 1234 AB"]
    assert members_of(authorisation) == [{"name": "Sari Wulandari", "id_number": NIK}]
    assert members_of(authorisation, masked=True)[0]["id_number"] == "1671 **** **** 0005"
    (record,) = records(session, "authorisation.created")
    assert (record.actor, record.role, record.entity_id) == ("admin1", "admin", str(authorisation.id))
    assert NIK not in record.after
    after = json.loads(record.after)
    assert after["members"] == [{"name": "Sari Wulandari", "id_number": "1671 **** **** 0005"}]
    assert (after["start_time"], after["end_time"], after["valid_from"]) == ("08:00", "16:00", "2026-11-23")


def test_an_unknown_gate_is_refused(session: Session, settings: Settings) -> None:
    with pytest.raises(UnknownCamera, match="no camera 'back-gate'"):
        add(session, settings, camera_id="back-gate")


def test_ending_keeps_it_and_is_audited_once(session: Session, settings: Settings) -> None:
    authorisation = add(session, settings)
    moment = at_site("2026-11-25T12:00")
    ended = end_authorisation(session, authorisation.id, actor="admin2", role="admin", settings=settings, at=moment)
    session.commit()
    assert (ended.ended_at, ended.ended_by) == (moment, "admin2")
    (record,) = records(session, "authorisation.ended")
    assert json.loads(record.before) == {"ended_at": None, "ended_by": None}
    assert json.loads(record.after)["ended_by"] == "admin2"

    with pytest.raises(AlreadyEnded, match="already ended"):
        end_authorisation(session, authorisation.id, actor="admin2", role="admin", settings=settings)
    with pytest.raises(AuthorisationNotFound, match="no authorisation #999"):
        end_authorisation(session, 999, actor="admin2", role="admin", settings=settings)
    assert len(list_authorisations(session)) == 1


# --- in force --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        ("2026-11-23T10:00", True),  # Monday, on shift
        ("2026-11-23T07:59", False),  # before the shift
        ("2026-11-23T16:00", False),  # the end is not included
        (f"{SATURDAY}T10:00", False),  # not a weekday it names
        ("2026-11-30T10:00", False),  # after the last day
    ],
)
def test_active_now_follows_dates_weekdays_and_hours(
    session: Session, settings: Settings, moment: str, active: bool
) -> None:
    authorisation = add(session, settings)
    found = active_authorisations(session, at_site(moment), settings.zone)
    assert [a.id for a in found] == ([authorisation.id] if active else [])


def test_a_night_shift_is_in_force_after_midnight(session: Session, settings: Settings) -> None:
    night = add(session, settings, start_time="22:00", end_time="06:00", valid_until="2026-11-23")
    assert [a.id for a in active_authorisations(session, at_site("2026-11-24T05:00"), settings.zone)] == [night.id]
    assert active_authorisations(session, at_site("2026-11-24T22:30"), settings.zone) == []


def test_an_ended_authorisation_is_no_longer_in_force(session: Session, settings: Settings) -> None:
    authorisation = add(session, settings)
    end_authorisation(session, authorisation.id, actor="admin", role="admin", settings=settings,
                      at=at_site("2026-11-23T09:00"))
    assert active_authorisations(session, at_site("2026-11-23T08:30"), settings.zone) == [authorisation]
    assert active_authorisations(session, at_site("2026-11-23T10:00"), settings.zone) == []


# --- re-check --------------------------------------------------------------------------------


def test_adding_explains_an_open_entry_on_its_shift(
    session: Session, settings: Settings, make_event: Callable[..., EntryEvent]
) -> None:
    """NOTE: needs the cross-check rules to read the schedule fields (valid_from/until as dates, hours)."""
    on_shift = make_event(at_site(f"{MONDAY}T10:00").astimezone(UTC))
    off_day = make_event(at_site(f"{SATURDAY}T10:00").astimezone(UTC))
    for event in (on_shift, off_day):
        check_event(session, event, settings)
    session.commit()
    assert on_shift.flag == FlagReason.UNREGISTERED

    authorisation = add(session, settings, weekdays="1-5", valid_until=SATURDAY)
    session.commit()

    assert on_shift.status == EventStatus.EXPLAINED
    assert on_shift.authorisation_id == authorisation.id
    assert off_day.status == EventStatus.FLAGGED
    resolved = records(session, "event.auto_resolved")
    assert [r.entity_id for r in resolved] == [str(on_shift.id)]
