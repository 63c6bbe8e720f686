"""Legal hold through the API and the event page: auditors hold and release, everyone sees the
hold, others are refused; the page says when the recordings around an entry are kept."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, EvidenceHold, RecordingSegment
from tests.web_helpers import GATE, StoreEvent, post_form, recent

Tokens = Callable[[Role], dict[str, str]]
Clients = Callable[[Role], FlaskClient]


def audit_of(engine: sa.Engine, event_id: int) -> list[tuple[str, str, str, dict]]:
    with Session(engine) as session:
        records = session.exec(select(AuditRecord).where(
            AuditRecord.entity == "event", AuditRecord.entity_id == str(event_id),
            AuditRecord.action.in_(["evidence.held", "evidence.released"])).order_by(AuditRecord.id)).all()
        return [(r.action, r.actor, r.role, json.loads(r.after)) for r in records]


def test_an_auditor_holds_and_releases_through_the_api(
    app, store_event: StoreEvent, token_for: Tokens, web_engine: sa.Engine
) -> None:
    event = store_event(recent(30))
    api, auditor = app.test_client(), token_for(Role.AUDITOR)
    assert api.get(f"/api/v1/events/{event.id}", headers=auditor).json["hold"] is None

    held = api.post(f"/api/v1/events/{event.id}/hold", json={"reason": "police request 17"}, headers=auditor)
    assert held.status_code == 201, held.json
    assert (held.json["event_id"], held.json["reason"], held.json["held_by"]) == (event.id, "police request 17",
                                                                                  "auditor")
    assert held.json["released_at"] is None
    shown = api.get(f"/api/v1/events/{event.id}", headers=token_for(Role.OPERATOR)).json["hold"]
    assert (shown["reason"], shown["held_by"]) == ("police request 17", "auditor") and shown["held_at"]

    again = api.post(f"/api/v1/events/{event.id}/hold", json={"reason": "twice"}, headers=auditor)
    assert again.status_code == 409 and "already held" in again.json["error"]

    released = api.post(f"/api/v1/events/{event.id}/release", json={"reason": "case closed"}, headers=auditor)
    assert released.status_code == 200, released.json
    assert released.json["released_by"] == "auditor" and released.json["released_at"]
    assert api.get(f"/api/v1/events/{event.id}", headers=auditor).json["hold"] is None
    not_held = api.post(f"/api/v1/events/{event.id}/release", headers=auditor)
    assert not_held.status_code == 409 and "not held" in not_held.json["error"]

    trail = audit_of(web_engine, event.id)
    assert [(action, actor, role) for action, actor, role, _after in trail] == [
        ("evidence.held", "auditor", "auditor"), ("evidence.released", "auditor", "auditor")]
    assert trail[0][3]["reason"] == "police request 17" and trail[1][3]["reason"] == "case closed"


def test_the_api_refuses_other_roles_bad_bodies_and_unknown_events(
    app, store_event: StoreEvent, token_for: Tokens, web_engine: sa.Engine
) -> None:
    event = store_event(recent(30))
    api, auditor = app.test_client(), token_for(Role.AUDITOR)
    for role in (Role.GUARD, Role.OPERATOR, Role.ADMIN):
        for action in ("hold", "release"):
            refused = api.post(f"/api/v1/events/{event.id}/{action}", json={"reason": "x"}, headers=token_for(role))
            assert refused.status_code == 403, (role, action)
    assert api.post(f"/api/v1/events/{event.id}/hold", json={"reason": "x"}).status_code == 401

    for body, fields in (({}, {"reason": "Required."}), ({"reason": "   "}, {"reason": "Required."}),
                         ({"reason": "x" * 501}, {"reason": "At most 500 characters."}),
                         ({"reason": "ok", "until": "2027"}, {"until": "Unknown field."})):
        bad = api.post(f"/api/v1/events/{event.id}/hold", json=body, headers=auditor)
        assert (bad.status_code, bad.json) == (422, {"error": "invalid hold", "fields": fields}), body
    not_json = api.post(f"/api/v1/events/{event.id}/hold", data="reason=x", headers=auditor,
                        content_type="application/json")
    assert not_json.status_code == 400 and "JSON object" in not_json.json["error"]
    missing = api.post("/api/v1/events/99999/hold", json={"reason": "x"}, headers=auditor)
    assert missing.status_code == 404 and missing.json["error"] == "There is no such entry."
    assert api.post("/api/v1/events/99999/release", headers=auditor).status_code == 404
    assert audit_of(web_engine, event.id) == []  # nothing refused left a trace
    with Session(web_engine) as session:
        assert session.exec(select(EvidenceHold)).all() == []


def test_the_openapi_document_states_the_hold_endpoints(app, token_for: Tokens) -> None:
    document = app.test_client().get("/api/v1/openapi.json", headers=token_for(Role.AUDITOR)).json
    hold = document["paths"]["/api/v1/events/{event_id}/hold"]["post"]
    assert hold["x-roles"] == ["auditor"] and hold["requestBody"]["required"] is True
    assert set(hold["responses"]) == {"201", "400", "401", "403", "404", "409", "422"}
    release = document["paths"]["/api/v1/events/{event_id}/release"]["post"]
    assert release["requestBody"]["required"] is False and "200" in release["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["HoldIn"]["required"] == ["reason"]
    assert "hold" in schemas["EventDetailOut"]["properties"]


def _form_action(page: str, action: str) -> re.Match[str] | None:
    return re.search(rf'action="/events/\d+/{action}"[^>]*>\s*<input type="hidden" name="csrf_token" value="[^"]+"', page)


def test_an_auditor_holds_and_releases_on_the_event_page(
    client_for: Clients, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    event = store_event(recent(30))
    path = f"/events/{event.id}"
    auditor, guard = client_for(Role.AUDITOR), client_for(Role.GUARD)
    page = auditor.get(path).get_data(as_text=True)
    assert 'id="hold-status"' in page and "Not held" in page
    assert _form_action(page, "hold"), "the auditor gets the hold form, with its CSRF token"
    guard_page = guard.get(path).get_data(as_text=True)
    assert "Not held" in guard_page and 'id="do-hold"' not in guard_page

    assert auditor.post(f"{path}/hold", data={"reason": "no token"}).status_code == 400  # CSRF
    assert post_form(guard, f"{path}/hold", {"reason": "a guard's try"}, page=path).status_code == 403
    blank = post_form(auditor, f"{path}/hold", {"reason": "  "}, page=path)
    assert blank.status_code == 303
    assert "Give the reason why the evidence must be kept." in auditor.get(path).get_data(as_text=True)

    held = post_form(auditor, f"{path}/hold", {"reason": "insurance claim 42"}, page=path)
    assert held.status_code == 303 and held.headers["Location"].endswith(f"{path}#hold")
    page = auditor.get(path).get_data(as_text=True)
    assert "The evidence is held until an auditor releases it." in page
    assert 'id="hold-reason">insurance claim 42<' in page and 'id="hold-by">auditor<' in page
    assert _form_action(page, "release") and not _form_action(page, "hold")
    guard_page = guard.get(path).get_data(as_text=True)  # everyone who sees the entry sees the hold
    assert "insurance claim 42" in guard_page and 'id="do-release"' not in guard_page

    twice = post_form(auditor, f"{path}/hold", {"reason": "again"}, page=path)
    assert twice.status_code == 303 and "already held" in auditor.get(path).get_data(as_text=True)
    assert post_form(auditor, f"{path}/release", {"reason": "claim settled"}, page=path).status_code == 303
    page = auditor.get(path).get_data(as_text=True)
    assert "Hold released" in page and "Not held" in page
    assert post_form(auditor, "/events/99999/hold", {"reason": "x"}, page=path).status_code == 404
    assert [(a, actor, after["reason"]) for a, actor, _role, after in audit_of(web_engine, event.id)] == [
        ("evidence.held", "auditor", "insurance claim 42"), ("evidence.released", "auditor", "claim settled")]


def test_a_guards_confirmation_shows_as_a_hold_and_keeps_the_recordings(
    client_for: Clients, store_event: StoreEvent, web_engine: sa.Engine, token_for: Tokens, app
) -> None:
    flagged, quiet = store_event(recent(30)), store_event(recent(300))
    with session_scope(web_engine) as session:
        for start in (recent(31), recent(30.5)):
            session.add(RecordingSegment(camera_id=GATE, started_at=start, ended_at=start + timedelta(seconds=30),
                                         path=f"recordings/{GATE}/{start:%H%M%S}.mp4", sha256="0" * 64,
                                         size_bytes=1000, frames=300))
    operator = client_for(Role.OPERATOR)
    page = operator.get(f"/events/{flagged.id}").get_data(as_text=True)
    assert 'id="recordings-kept"' in page and "kept until a person decides on it" in page
    assert 'id="recordings-kept"' not in operator.get(f"/events/{quiet.id}").get_data(as_text=True)  # none around

    confirmed = app.test_client().post(f"/api/v1/events/{flagged.id}/reviews/confirm",
                                       json={"note": "climbed the fence"}, headers=token_for(Role.GUARD))
    assert confirmed.status_code == 201, confirmed.json
    page = operator.get(f"/events/{flagged.id}").get_data(as_text=True)
    assert 'id="hold-reason">confirmed intrusion<' in page and 'id="hold-by">guard<' in page
    assert "recording segment" in page and "kept while the hold lasts" in page
