"""The persons watch list: admins list NIKs with a reason (audited, masked), auditors read them masked,
a guard registering a listed NIK is warned on the page and in the API, and the entries that visit
would explain are flagged ``watchlist`` (not explained), naming the visit by id, never the NIK."""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.enums import EventStatus, FlagReason, Role
from gatewatch.models.tables import AuditRecord, EntryEvent, Visit
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from tests.web_helpers import NIK, StoreEvent, post_form, recent

ClientFor = Callable[[Role], FlaskClient]
PAGE = "/admin/watchlist/persons"
REASON = "Banned after the theft of 3 March: police report 12/III"
SECOND_NIK = "1671014507880005"


def _records(engine: sa.Engine, action: str) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)))


def _event(engine: sa.Engine, event_id: int) -> EntryEvent:
    with Session(engine) as session:
        event = session.get(EntryEvent, event_id)
        assert event is not None
        return event


def _add(client: FlaskClient, nik: str = NIK, reason: str = REASON, page: str = PAGE):  # type: ignore[no-untyped-def]
    return post_form(client, PAGE, {"nik": nik, "reason": reason}, page=page)


def _check_in(settings: Settings, minutes_ago: float) -> str:
    return recent(minutes_ago).astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")


def test_admins_list_a_person_with_a_reason_audited_masked_and_auditors_read_it_masked(
    client_for: ClientFor, web_engine: sa.Engine
) -> None:
    admin = client_for(Role.ADMIN)
    added = _add(admin, nik="1671 0112 0385 0001")  # typed in groups, as printed on the card
    assert (added.status_code, added.headers["Location"]) == (303, PAGE)
    page = admin.get(PAGE).get_data(as_text=True)
    assert NIK in page and REASON in page and f"{masked_nik(NIK)} is on the persons watch list." in page

    [record] = _records(web_engine, "watchlist_person.added")
    assert (record.actor, record.role) == ("admin", "admin")
    assert masked_nik(NIK) in record.after and NIK not in record.after and REASON in record.after

    auditor_page = client_for(Role.AUDITOR).get(PAGE).get_data(as_text=True)
    assert masked_nik(NIK) in auditor_page and REASON in auditor_page and NIK not in auditor_page
    assert 'action="/admin/watchlist/persons"' not in auditor_page  # no form to add
    assert _add(client_for(Role.GUARD), page="/visits").status_code == 403  # the access matrix has the rest

    again = _add(admin)
    assert again.status_code == 422 and "already on the persons watch list" in again.get_data(as_text=True)
    removed = post_form(admin, f"{PAGE}/{record.entity_id}/remove", page=PAGE)
    assert removed.status_code == 303
    assert "No persons are on the watch list." in admin.get(PAGE).get_data(as_text=True)
    [gone] = _records(web_engine, "watchlist_person.removed")
    assert gone.actor == "admin" and masked_nik(NIK) in gone.after and NIK not in gone.after


def test_a_bad_nik_or_a_missing_reason_is_refused_saying_why(client_for: ClientFor, web_engine: sa.Engine) -> None:
    admin = client_for(Role.ADMIN)
    short = _add(admin, nik="16710112")
    assert short.status_code == 422 and "An NIK has exactly 16 digits; this one has 8." in short.get_data(as_text=True)
    blank = _add(admin, reason="  ")
    assert blank.status_code == 422 and "Give a reason" in blank.get_data(as_text=True)
    assert _records(web_engine, "watchlist_person.added") == []


def test_a_guard_registering_a_listed_nik_is_warned_and_the_entry_it_explains_is_flagged(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine, web_settings: Settings,
    token_for: Callable[[Role], dict[str, str]],
) -> None:
    admin = client_for(Role.ADMIN)
    _add(admin)
    _add(admin, nik=SECOND_NIK, reason="Threatened a guard")
    entry = store_event(recent(5))
    guard = client_for(Role.GUARD)
    form = {"visitor_name": "Budi", "id_number": NIK, "party_size": "1", "check_in_at": _check_in(web_settings, 6)}

    registered = post_form(guard, "/visits", form, page="/visits")
    assert registered.status_code == 303  # the visit is registered all the same
    page = guard.get(registered.headers["Location"]).get_data(as_text=True)
    assert 'id="watchlist-warning"' in page and "Watch list: Budi must not enter." in page and REASON in page

    flagged = _event(web_engine, entry.id)
    assert (flagged.status, flagged.flag, flagged.visit_id) == (EventStatus.FLAGGED, FlagReason.WATCHLIST, None)
    with Session(web_engine) as session:
        visit = session.exec(select(Visit)).one()
    items = json.loads(flagged.flag_items)
    assert {"code": "watchlist_person", "visit": visit.id, "reason": REASON}.items() <= items[1].items()
    assert NIK not in flagged.flag_items and NIK not in flagged.flag_detail
    assert f"the visitor of visit #{visit.id}" in guard.get(f"/events/{entry.id}").get_data(as_text=True)

    # Taken off the list, the entry is judged again: the visit explains it.
    [record] = [r for r in _records(web_engine, "watchlist_person.added") if REASON in r.after]
    assert post_form(admin, f"{PAGE}/{record.entity_id}/remove", page=PAGE).status_code == 303
    explained = _event(web_engine, entry.id)
    assert (explained.status, explained.flag, explained.visit_id) == (EventStatus.EXPLAINED, None, visit.id)

    api = guard.application.test_client()
    answer = api.post("/api/v1/visits", headers=token_for(Role.GUARD), json={
        "visitor_name": "Rudi", "id_number": SECOND_NIK, "check_in_at": recent(1).isoformat()})
    assert answer.status_code == 201
    [warning] = answer.get_json()["watchlist"]
    assert warning["reason"] == "Threatened a guard" and isinstance(warning["entry_id"], int)
    other = api.post("/api/v1/visits", headers=token_for(Role.GUARD), json={
        "visitor_name": "Budi", "id_number": NIK, "check_in_at": recent(1).isoformat()})
    assert other.status_code == 201 and other.get_json()["watchlist"] == []
