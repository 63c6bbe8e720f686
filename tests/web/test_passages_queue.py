"""Passages in the queue: a motorbike and its two riders are one row, one decision, and link only
to a visit whose cover holds them; their flag details render in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.camera.recording import store_event
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import AuditRecord, EntryEvent, Review, User, Visit
from gatewatch.settings import Settings
from tests.web_helpers import GATE, NIK, post_form

ClientFor = Callable[[Role], FlaskClient]
#: 2026-11-20 09:00 WIB.
MORNING = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _crossing(track_id: int, label: str, at: datetime, rides: int | None = None) -> EntryEvent:
    return EntryEvent(
        camera_id=GATE, source_key="live-1", track_id=track_id, frame_index=100 + track_id, label=label,
        direction="entry", occurred_at=at, confidence=0.9, box_x1=10.0, box_y1=60.0, box_x2=40.0,
        box_y2=140.0, status=EventStatus.FLAGGED, rides_track_id=rides,
    )


def _ride(engine: sa.Engine, settings: Settings) -> list[int]:
    """A motorbike and its two riders crossing within half a second; their ids, the bike's first."""
    crossings = [
        _crossing(7, "motorcycle", MORNING),
        _crossing(8, "person", MORNING + timedelta(milliseconds=200), rides=7),
        _crossing(9, "person", MORNING + timedelta(milliseconds=500), rides=7),
    ]
    with session_scope(engine) as session:
        for crossing in crossings:
            store_event(session, crossing, settings)
        return [crossing.id for crossing in crossings]  # type: ignore[misc]


def _visit(engine: sa.Engine, check_in_at: datetime, **values: object) -> int:
    with session_scope(engine) as session:
        visit = Visit(visitor_name="Budi Santoso", id_number=NIK, registered_by="test", check_in_at=check_in_at,
                      party_size=2, **values)
        session.add(visit)
        session.flush()
        return visit.id  # type: ignore[return-value]


def _speaks_indonesian(engine: sa.Engine, username: str) -> None:
    with session_scope(engine) as session:
        session.execute(sa.update(User).where(User.username == username).values(locale="id"))


def _text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _rows(html: str) -> list[str]:
    return re.findall(r'<td class="passage-summary">([^<]*)</td>', html)


def _statuses(engine: sa.Engine, ids: list[int]) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        return [(e.status, e.visit_id) for e in (session.get(EntryEvent, i) for i in ids) if e]


def test_a_motorbike_and_its_riders_are_one_row_of_the_queue(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    bike, *riders = _ride(web_engine, web_settings)
    with Session(web_engine) as session:
        assert {session.get(EntryEvent, i).passage_id for i in [bike, *riders]} == {bike}  # type: ignore[union-attr]
    operator = client_for(Role.OPERATOR)
    page = _text(operator.get("/events"))
    assert _rows(page) == ["1 motorcycle, 2 persons"]
    assert re.findall(r'data-event-id="(\d+)"', page) == [str(bike)]  # the bike's snapshot and link
    assert "1 entry." in page  # passages are counted, not crossings
    _speaks_indonesian(web_engine, "operator")
    assert _rows(_text(client_for(Role.OPERATOR).get("/events"))) == ["1 sepeda motor, 2 orang"]
    detail = _text(operator.get(f"/events/{riders[0]}"))
    assert f'href="/events/{bike}"' in detail and f'href="/events/{riders[1]}"' in detail


def test_confirming_one_member_confirms_the_whole_passage(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    ids = _ride(web_engine, web_settings)
    guard = client_for(Role.GUARD)
    assert "applies to the 3 crossings of this passage" in _text(guard.get(f"/events/{ids[1]}"))
    post_form(guard, f"/events/{ids[1]}/confirm", {"note": "Two riders, nobody signed in"})
    assert _statuses(web_engine, ids) == [(EventStatus.CONFIRMED, None)] * 3
    with Session(web_engine) as session:
        reviews = session.exec(select(Review.event_id, Review.decision)).all()
        audits = session.exec(select(AuditRecord.entity_id).where(AuditRecord.action == "event.confirm")).all()
    assert sorted(reviews) == [(i, "confirm") for i in ids]
    assert sorted(int(i) for i in audits) == ids


def test_a_passage_links_only_to_a_visit_whose_cover_holds_it(
    app: Flask, client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings,
    token_for: Callable[[Role], dict[str, str]],
) -> None:
    ids = _ride(web_engine, web_settings)
    later = _visit(web_engine, MORNING + timedelta(hours=2), vehicle_plate="B 1234 XYZ")
    on_foot = _visit(web_engine, MORNING - timedelta(minutes=10))
    covering = _visit(web_engine, MORNING - timedelta(minutes=30), vehicle_plate="B 1234 XYZ")
    guard = client_for(Role.GUARD)
    page = _text(guard.get(f"/events/{ids[2]}"))
    assert f'<option value="{covering}">' in page
    assert f'<option value="{later}">' not in page and f'<option value="{on_foot}">' not in page
    refused = post_form(guard, f"/events/{ids[2]}/link", {"visit_id": str(later)})
    assert refused.status_code == 303
    assert f"Visit #{later} does not cover this entry" in _text(guard.get(refused.headers["Location"]))
    api = app.test_client()
    answer = api.post(f"/api/v1/events/{ids[0]}/reviews/link", json={"visit_id": on_foot},
                      headers=token_for(Role.GUARD))
    assert answer.status_code == 422 and "registers no vehicle" in answer.json["fields"]["visit_id"]
    assert _statuses(web_engine, ids) == [(EventStatus.FLAGGED, None)] * 3
    post_form(guard, f"/events/{ids[2]}/link", {"visit_id": str(covering)})
    assert _statuses(web_engine, ids) == [(EventStatus.RESOLVED, covering)] * 3
    with Session(web_engine) as session:
        links = session.exec(select(Review.event_id, Review.visit_id).where(Review.decision == "link")).all()
    assert sorted(links) == [(i, covering) for i in ids]


def test_flag_details_render_in_the_readers_language_and_clock(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    bike, *_riders = _ride(web_engine, web_settings)
    _speaks_indonesian(web_engine, "guard")
    page = _text(client_for(Role.GUARD).get(f"/events/{bike}"))
    assert (
        "tidak terdaftar: tidak ada kunjungan atau izin tetap yang mencakup kendaraan yang masuk pukul "
        f"09:00 WIB di kamera {GATE}" in page
    )
    assert "unregistered:" not in page
    english = _text(client_for(Role.OPERATOR).get(f"/events/{bike}"))
    assert f"unregistered: no visit or authorisation covers the vehicle entry at 09:00 WIB on camera {GATE}" in english


def test_the_api_event_has_its_flag_items_and_passage(
    app: Flask, web_engine: sa.Engine, web_settings: Settings, token_for: Callable[[Role], dict[str, str]]
) -> None:
    bike, rider, _other = _ride(web_engine, web_settings)
    api = app.test_client()
    event = api.get(f"/api/v1/events/{rider}", headers=token_for(Role.AUDITOR)).json
    assert event["passage_id"] == bike
    assert event["flag_items"][0]["code"] == "unregistered"
    assert event["flag_items"][0]["numbers"]["kind"] == "person"
    assert event["flag_detail"].startswith("unregistered: no visit or authorisation covers the person entry")
    listed = api.get("/api/v1/events", headers=token_for(Role.AUDITOR)).json["items"]
    assert {item["passage_id"] for item in listed} == {bike} and len(listed) == 3  # the API stays per event
    schema = api.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert {"flag_items", "passage_id", "flag_detail"} <= set(schema["EventOut"]["required"])
    assert {"code", "cover", "numbers"} <= set(schema["FlagItemOut"]["properties"])
    assert set(schema["CoverOut"]["properties"]) == {"type", "id", "name"}
