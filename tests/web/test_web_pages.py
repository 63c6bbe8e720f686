"""The pages through Flask's test client: queue, event, decisions, evidence, visitor log, audit,
overview and administration, with what each stores."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlmodel import Session, select

from gatewatch.events import queries as event_queries
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import ApiToken, AuditRecord, EntryEvent, Review, User, Visit
from gatewatch.settings import Settings
from tests.web_helpers import (
    NIK,
    PASSWORD,
    VEHICLE_GATE,
    StoreEvent,
    count_rows,
    log_in,
    post_form,
)

ClientFor = Callable[[Role], FlaskClient]
#: 2026-11-20 09:00 WIB, a Friday morning at the warehouse.
MORNING = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _event(engine: sa.Engine, event_id: int) -> EntryEvent:
    with Session(engine) as session:
        event = session.get(EntryEvent, event_id)
        assert event is not None
        return event


def _visit(engine: sa.Engine, **values: object) -> Visit:
    fields = {
        "visitor_name": "Budi Santoso",
        "id_number": NIK,
        "organisation": "KPU",
        "registered_by": "test",
        "check_in_at": MORNING,
        **values,
    }
    with session_scope(engine) as session:
        visit = Visit(**fields)
        session.add(visit)
    return visit


@contextmanager
def count_queries(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", log)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", log)


# --- flagged queue -----------------------------------------------------------------------------


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', html)]


def test_queue_lists_open_entries_newest_first_and_filters(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    first = store_event(MORNING)
    second = store_event(MORNING + timedelta(minutes=5), camera_id=VEHICLE_GATE, label="car")
    third = store_event(MORNING + timedelta(days=1))
    store_event(MORNING + timedelta(minutes=7), direction="exit")
    operator = client_for(Role.OPERATOR)
    assert _row_ids(_text(operator.get("/events"))) == [third.id, second.id, first.id]
    assert _row_ids(_text(operator.get(f"/events?camera={VEHICLE_GATE}"))) == [second.id]
    assert _row_ids(_text(operator.get("/events?date=2026-11-20"))) == [second.id, first.id]
    assert _row_ids(_text(operator.get("/events?reason=after_hours"))) == []
    assert _row_ids(_text(operator.get("/events?status=any&date=2026-11-20")))[0] != first.id  # the exit too
    post_form(operator, f"/events/{first.id}/acknowledge")
    assert _row_ids(_text(operator.get("/events?status=acknowledged"))) == [first.id]
    assert _row_ids(_text(operator.get("/events"))) == [third.id, second.id, first.id]  # still open


def test_queue_pages_and_caps_its_count(
    client_for: ClientFor, store_event: StoreEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [store_event(MORNING + timedelta(minutes=i), with_evidence=False) for i in range(55)]
    operator = client_for(Role.OPERATOR)
    first_page = _text(operator.get("/events"))
    assert "55 entries." in first_page
    assert _row_ids(first_page) == [e.id for e in reversed(events)][:50]
    second_page = _text(operator.get("/events?page=2"))
    assert _row_ids(second_page) == [e.id for e in reversed(events)][50:]
    assert 'rel="prev"' in second_page and 'rel="next"' not in second_page
    monkeypatch.setattr(event_queries, "COUNT_CAP", 20)
    assert "More than 20 entries." in _text(operator.get("/events"))


def test_a_page_number_beyond_any_list_shows_an_empty_page_not_an_error(
    client_for: ClientFor, store_event: StoreEvent
) -> None:
    store_event(MORNING, with_evidence=False)
    huge = "?page=99999999999999999999999"
    assert _row_ids(_text(client_for(Role.OPERATOR).get("/events" + huge))) == []
    assert client_for(Role.AUDITOR).get("/audit" + huge).status_code == 200


def test_a_bad_queue_filter_is_named_and_ignored(client_for: ClientFor, store_event: StoreEvent) -> None:
    event = store_event(MORNING)
    response = client_for(Role.OPERATOR).get("/events?date=20-11-2026")
    assert response.status_code == 400
    assert "A filter was not understood and is ignored: date." in _text(response)
    assert _row_ids(_text(response)) == [event.id]


def test_the_queue_costs_the_same_few_queries_for_5_or_50_rows(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    operator = client_for(Role.OPERATOR)
    counts = []
    for total in (5, 50):
        while len(_row_ids(_text(operator.get("/events")))) < total:
            store_event(MORNING, with_evidence=False)
        with count_queries(web_engine) as statements:
            operator.get("/events")
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 6


# --- event page and decisions ------------------------------------------------------------------


def test_event_page_shows_why_in_site_time_and_offers_each_role_its_decisions(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    visit = _visit(web_engine, check_in_at=MORNING - timedelta(hours=1))
    event = store_event(MORNING)
    operator_page = _text(client_for(Role.OPERATOR).get(f"/events/{event.id}"))
    assert "unregistered: no visit or authorisation covers the person entry at 09:00 WIB" in operator_page
    assert (
        f"visit #{visit.id} (Budi Santoso): checked in at 08:00 WIB, more than" in operator_page
    )  # 01:00 UTC
    assert f'src="/evidence/{event.id}/clip.mp4"' in operator_page
    assert "do-acknowledge" in operator_page and "do-note" in operator_page
    assert "do-confirm" not in operator_page and "do-link" not in operator_page
    guard_page = _text(client_for(Role.GUARD).get(f"/events/{event.id}"))
    assert (
        "do-confirm" in guard_page and "do-false-alarm" in guard_page and "do-acknowledge" not in guard_page
    )
    assert f'<option value="{visit.id}">' in guard_page  # the visit an hour earlier is offered to link


def test_decisions_move_the_status_write_reviews_and_audit_records(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    event = store_event(MORNING)
    operator, guard = client_for(Role.OPERATOR), client_for(Role.GUARD)
    post_form(operator, f"/events/{event.id}/acknowledge")
    assert _event(web_engine, event.id).status == EventStatus.ACKNOWLEDGED
    again = post_form(operator, f"/events/{event.id}/acknowledge")
    assert "someone may have decided before you" in _text(operator.get(again.headers["Location"]))
    post_form(operator, f"/events/{event.id}/note", {"note": "Man in a blue shirt, went to dock 2"})
    refused = post_form(guard, f"/events/{event.id}/confirm", {"note": "  "})
    assert "Write a note" in _text(guard.get(refused.headers["Location"]))
    assert _event(web_engine, event.id).status == EventStatus.ACKNOWLEDGED
    visit = _visit(web_engine, check_in_at=MORNING - timedelta(hours=2))
    post_form(
        guard, f"/events/{event.id}/link", {"visit_id": str(visit.id), "note": "registered at the desk"}
    )
    linked = _event(web_engine, event.id)
    assert (linked.status, linked.visit_id) == (EventStatus.RESOLVED, visit.id)
    page = _text(guard.get(f"/events/{event.id}"))
    assert (
        page.index("Acknowledged") < page.index("Man in a blue shirt") < page.index("registered at the desk")
    )
    with Session(web_engine) as session:
        decisions = session.exec(select(Review.decision).where(Review.event_id == event.id)).all()
        assert decisions == ["acknowledge", "note", "link"]
        audit = session.exec(select(AuditRecord).where(AuditRecord.action == "event.link")).one()
    assert (audit.actor, audit.role) == ("guard", "guard")
    assert '"status":"acknowledged"' in audit.before and '"status":"resolved"' in audit.after


def test_guard_confirms_or_dismisses_open_entries(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    intruder, shadow = store_event(MORNING), store_event(MORNING + timedelta(minutes=1))
    guard = client_for(Role.GUARD)
    post_form(guard, f"/events/{intruder.id}/confirm", {"note": "Nobody signed in; called the police post"})
    post_form(guard, f"/events/{shadow.id}/false-alarm")
    assert _event(web_engine, intruder.id).status == EventStatus.CONFIRMED
    assert _event(web_engine, shadow.id).status == EventStatus.FALSE_ALARM
    after = post_form(guard, f"/events/{shadow.id}/confirm", {"note": "changed my mind"})
    assert _event(web_engine, shadow.id).status == EventStatus.FALSE_ALARM
    assert after.status_code == 303


# --- evidence ----------------------------------------------------------------------------------


def test_evidence_has_its_content_types_and_answers_range_requests(
    client_for: ClientFor, store_event: StoreEvent
) -> None:
    event = store_event(MORNING)
    auditor = client_for(Role.AUDITOR)
    snapshot = auditor.get(f"/evidence/{event.id}/snapshot.jpg")
    assert snapshot.status_code == 200 and snapshot.mimetype == "image/jpeg"
    assert "private" in snapshot.headers["Cache-Control"]
    clip = auditor.get(f"/evidence/{event.id}/clip.mp4")
    assert clip.mimetype == "video/mp4"
    size = len(clip.get_data())
    part = auditor.get(f"/evidence/{event.id}/clip.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert part.get_data() == clip.get_data()[100:200]
    thumbnail = auditor.get(f"/evidence/{event.id}/thumbnail.jpg")
    with Image.open(io.BytesIO(thumbnail.get_data())) as image:
        assert image.format == "JPEG" and image.width <= 320


@pytest.mark.parametrize(
    "stored", ["../outside.jpg", "/etc/hostname", "evidence/link.jpg", "evidence/missing.jpg"]
)
def test_a_path_from_the_database_never_leaves_the_data_directory(
    stored: str, client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine, web_settings: Settings
) -> None:
    outside = web_settings.data_dir.parent / "outside.jpg"
    outside.write_bytes(b"secret")
    (web_settings.data_dir / "evidence").mkdir(parents=True, exist_ok=True)
    (web_settings.data_dir / "evidence" / "link.jpg").symlink_to(outside)
    event = store_event(MORNING)
    with session_scope(web_engine) as session:
        session.execute(sa.update(EntryEvent).where(EntryEvent.id == event.id).values(snapshot_path=stored))
    client = client_for(Role.OPERATOR)
    assert client.get(f"/evidence/{event.id}/snapshot.jpg").status_code == 404
    assert client.get(f"/evidence/{event.id}/thumbnail.jpg").status_code == 404


def test_evidence_needs_a_login(app: Flask, store_event: StoreEvent) -> None:
    event = store_event(MORNING)
    response = app.test_client().get(f"/evidence/{event.id}/clip.mp4")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- visitor log -------------------------------------------------------------------------------


def _registration(**overrides: str) -> dict[str, str]:
    return {
        "visitor_name": "Rina Marlina",
        "id_number": NIK,
        "organisation": "Bawaslu",
        "host": "Pak Ahmad",
        "purpose": "Logistics count",
        "vehicle_plate": "bg-1234-ab",
        "vehicle_type": "car",
        "party_size": "2",
        "camera_id": "",
        "check_in_at": "2026-11-20T09:00",
        "expected_check_out_at": "",
        **overrides,
    }


def test_registering_a_visit_stores_it_in_site_time_and_explains_open_entries(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    car = store_event(MORNING + timedelta(minutes=1), label="car")
    guard = client_for(Role.GUARD)
    response = post_form(guard, "/visits", _registration(), page="/visits")
    assert response.status_code == 303
    page = _text(guard.get(response.headers["Location"]))
    assert "Registered: Rina Marlina." in page
    assert f'/events/{car.id}"' in page
    with Session(web_engine) as session:
        visit = session.exec(select(Visit)).one()
        audit = session.exec(select(AuditRecord).where(AuditRecord.action == "visit.created")).one()
    assert (visit.check_in_at, visit.vehicle_plate, visit.registered_by) == (MORNING, "BG 1234 AB", "guard")
    assert audit.actor == "guard"
    assert _event(web_engine, car.id).status == EventStatus.EXPLAINED


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "1671O11203850001", "An NIK has digits only"),
        ("id_number", "167101120385", "An NIK has exactly 16 digits; this one has 12."),
        ("party_size", "0", "Must be at least 1."),
        ("party_size", "10000", "Must be at most 50."),
        ("party_size", "two", "Enter a whole number."),
        ("vehicle_plate", "B" * 40, "Not a number plate"),
        ("check_in_at", "20/11/2026 09:00", "Enter a date and time like 2026-11-20 09:30."),
        ("expected_check_out_at", "2026-11-20T08:00", "Must be after the check-in time."),
        ("visitor_name", "   ", "Required."),
        ("camera_id", "back-door", "There is no such gate."),
    ],
)
def test_wrong_input_is_named_next_to_its_field_and_nothing_is_stored(
    field: str, value: str, message: str, client_for: ClientFor, web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    audit_records = count_rows(web_engine, AuditRecord)
    response = post_form(guard, "/visits", _registration(**{field: value}), page="/visits")
    assert response.status_code == 422
    html = _text(response)
    error = re.search(rf'<p class="error" id="e-{field}">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html)
    assert count_rows(web_engine, Visit) == 0
    assert count_rows(web_engine, AuditRecord) == audit_records


def test_visit_search_and_check_out(client_for: ClientFor, web_engine: sa.Engine) -> None:
    today = datetime.now(UTC)
    # Both earlier today at the site, even just after its midnight (17:00 UTC).
    earlier = max(
        today - timedelta(minutes=30), today.astimezone(ZoneInfo("Asia/Jakarta")).replace(hour=0, minute=0)
    )
    _visit(
        web_engine,
        visitor_name="Slamet Riyadi",
        organisation="PT Logistik Sriwijaya",
        vehicle_plate="BG 8123 KA",
        check_in_at=earlier,
    )
    dewi = _visit(
        web_engine,
        visitor_name="Dewi Lestari",
        id_number="1671024608920004",
        organisation="Polresta",
        check_in_at=earlier + (today - earlier) / 2,
    )
    old = _visit(web_engine, visitor_name="Old Visitor", check_in_at=today - timedelta(days=3))
    guard = client_for(Role.GUARD)
    listed = _text(guard.get("/visits"))
    assert "Dewi Lestari" in listed and "Slamet Riyadi" in listed and "Old Visitor" not in listed
    assert "Dewi Lestari" in _text(guard.get("/visits?q=polres"))
    assert "Dewi Lestari" in _text(post_form(guard, "/visits/search", {"q": "1671024608920004"}, page="/visits"))
    by_plate = _text(guard.get("/visits?plate=bg8123"))
    assert "Slamet Riyadi" in by_plate and "Dewi Lestari" not in by_plate
    assert "Old Visitor" in _text(guard.get("/visits?q=old"))
    post_form(guard, f"/visits/{dewi.id}/check-out", page="/visits")
    with Session(web_engine) as session:
        assert session.get(Visit, dewi.id).checked_out_at is not None
        assert session.get(Visit, old.id).checked_out_at is None
    again = post_form(guard, f"/visits/{dewi.id}/check-out", page="/visits")
    assert "Dewi Lestari already checked out at" in _text(guard.get(again.headers["Location"]))


# --- audit, overview, cameras ------------------------------------------------------------------


def test_audit_trail_filters_and_exports_csv(client_for: ClientFor, store_event: StoreEvent) -> None:
    event = store_event(MORNING)
    post_form(client_for(Role.OPERATOR), f"/events/{event.id}/acknowledge")
    auditor = client_for(Role.AUDITOR)
    page = _text(auditor.get("/audit?action=event.acknowledge"))
    assert "<code>event.acknowledge</code>" in page and "<code>user.login</code>" not in page
    assert "/audit.csv?action=event.acknowledge" in page
    export = auditor.get("/audit.csv?action=event.acknowledge&actor=operator")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["actor"] == "operator" and rows[0]["entity_id"] == str(event.id)
    assert '"status":"flagged"' in rows[0]["before"] and '"status":"acknowledged"' in rows[0]["after"]
    assert (
        list(
            csv.DictReader(
                io.StringIO(
                    auditor.get("/audit.csv?from=2000-01-01&to=2000-01-02")
                    .get_data(as_text=True)
                    .lstrip("\ufeff")
                )
            )
        )
        == []
    )


def test_overview_counts_hours_in_site_time_and_lists_who_is_inside(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    inside = _visit(web_engine, visitor_name="Still Here", check_in_at=MORNING - timedelta(minutes=5))
    _visit(
        web_engine,
        visitor_name="Gone Home",
        check_in_at=MORNING - timedelta(hours=3),
        checked_out_at=MORNING - timedelta(hours=2),
    )
    entry = store_event(MORNING)  # 09:00 WIB, explained by "Still Here"
    store_event(MORNING + timedelta(hours=5), direction="exit")  # 14:00 WIB
    store_event(datetime(2026, 11, 20, 17, 30, tzinfo=UTC))  # 00:30 WIB on the 21st: not this day
    page = _text(client_for(Role.AUDITOR).get("/overview?date=2026-11-20"))
    hours = dict(re.findall(r"<tr><td>(\d\d):00</td><td class=\"num\">(\d+)</td>", page))
    assert hours["09"] == "1" and sum(map(int, hours.values())) == 1
    assert re.search(r"<td>14:00</td><td class=\"num\">0</td><td class=\"num\">1</td>", page)
    assert "Still Here" in page and "Gone Home" not in page
    assert f'/events/{entry.id}"' in page
    assert _event(web_engine, entry.id).visit_id == inside.id


def test_cameras_page_shows_live_status(client_for: ClientFor) -> None:
    page = _text(client_for(Role.OPERATOR).get("/cameras"))
    assert re.search(r'id="camera-gate-a".*?Connected.*?12\.5', page, re.S)
    assert re.search(r'id="camera-gate-b".*?Disconnected.*?RTSP timeout', page, re.S)


# --- administration ----------------------------------------------------------------------------


def test_admin_creates_changes_and_deactivates_users(
    app: Flask, client_for: ClientFor, web_engine: sa.Engine
) -> None:
    admin = client_for(Role.ADMIN)
    short = post_form(
        admin, "/admin/users", {"username": "siti", "password": "short", "role": "guard"}, page="/admin/users"
    )
    assert short.status_code == 422
    assert re.search(r'id="e-password">A password has at least 10 characters', _text(short))
    created = post_form(
        admin,
        "/admin/users",
        {
            "username": "siti",
            "password": PASSWORD,
            "role": "guard",
            "full_name": "Siti Aminah",
            "locale": "id",
        },
        page="/admin/users",
    )
    assert created.status_code == 303
    with Session(web_engine) as session:
        siti = session.exec(select(User).where(User.username == "siti")).one()
        audit = session.exec(
            select(AuditRecord).where(
                AuditRecord.action == "user.created", AuditRecord.entity_id == str(siti.id)
            )
        ).one()
    assert siti.password_hash != PASSWORD and "password" not in audit.after
    post_form(admin, f"/admin/users/{siti.id}", {"role": "operator"}, page="/admin/users")
    client = app.test_client()
    assert log_in(client, "siti").headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/events"  # now an operator
    post_form(admin, f"/admin/users/{siti.id}", {"active": "0"}, page="/admin/users")
    assert log_in(app.test_client(), "siti").status_code == 401
    post_form(
        admin, f"/admin/users/{siti.id}/password", {"password": "another-password"}, page="/admin/users"
    )
    post_form(admin, f"/admin/users/{siti.id}", {"active": "1"}, page="/admin/users")
    assert log_in(app.test_client(), "siti", "another-password").status_code == 302


def test_a_token_is_shown_once_works_for_the_api_and_can_be_revoked(
    app: Flask, client_for: ClientFor, accounts: dict[Role, str], web_engine: sa.Engine
) -> None:
    admin = client_for(Role.ADMIN)
    with Session(web_engine) as session:
        guard_id = session.exec(select(User.id).where(User.username == "guard")).one()
    issued = post_form(
        admin, "/admin/tokens", {"user_id": str(guard_id), "name": "gate tablet"}, page="/admin/tokens"
    )
    assert issued.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="token">([^<]+)</code>', _text(issued)).group(1)
    assert token not in _text(admin.get("/admin/tokens"))
    api = app.test_client()
    assert api.get("/api/v1/visits", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with Session(web_engine) as session:
        row = session.exec(select(ApiToken)).one()
    assert row.last_used_at is not None
    post_form(admin, f"/admin/tokens/{row.id}/revoke", page="/admin/tokens")
    assert api.get("/api/v1/visits", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- language ----------------------------------------------------------------------------------


def test_each_user_reads_their_own_language_and_the_site_default_applies_otherwise(
    app: Flask, client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    guard = client_for(Role.GUARD)
    assert "Visitor log" in _text(guard.get("/visits"))
    post_form(guard, "/account/language", {"locale": "id", "next": "/visits"}, page="/visits")
    page = _text(guard.get("/visits"))
    assert "Buku tamu" in page and '<html lang="id">' in page
    with Session(web_engine) as session:
        assert session.exec(select(User.locale).where(User.username == "guard")).one() == "id"
    assert "Visitor log" in _text(client_for(Role.OPERATOR).get("/visits"))  # others keep theirs
    app.extensions["gatewatch.settings"] = web_settings.model_copy(update={"language": "id"})
    assert "Antrean peringatan" in _text(client_for(Role.OPERATOR).get("/events"))
