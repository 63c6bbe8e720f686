"""The JSON API under /api/v1: token and session auth, each endpoint's answers and errors, and an
OpenAPI document that lists exactly the routes there are and describes what they really send."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlmodel import Session

from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import EntryEvent, User, Visit
from gatewatch.settings import Settings
from gatewatch.web.api.openapi import openapi_path
from tests.web_helpers import NIK, VEHICLE_GATE, StoreEvent, count_rows, csrf_token

MORNING = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 WIB


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


def test_health_is_public_and_says_nothing_else(api: FlaskClient) -> None:
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_without_a_valid_token_the_api_answers_401(
    api: FlaskClient, token_for: Callable[[Role], dict[str, str]], web_engine: sa.Engine
) -> None:
    assert api.get("/api/v1/events").status_code == 401
    assert api.get("/api/v1/events", headers={"Authorization": "Bearer gw_not-a-token"}).status_code == 401
    assert api.get("/api/v1/events", headers={"Authorization": "Basic Z3VhcmQ6eA=="}).status_code == 401
    headers = token_for(Role.GUARD)
    assert api.get("/api/v1/events", headers=headers).status_code == 200
    with session_scope(web_engine) as session:
        session.execute(sa.update(User).where(User.username == "guard").values(active=False))
    assert api.get("/api/v1/events", headers=headers).status_code == 401


def test_a_token_opens_no_page(api: FlaskClient, token_for: Callable[[Role], dict[str, str]]) -> None:
    response = api.get("/events", headers=token_for(Role.ADMIN))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_token_writes_need_no_csrf_but_the_role_still_counts(
    api: FlaskClient,
    store_event: StoreEvent,
    token_for: Callable[[Role], dict[str, str]],
    web_engine: sa.Engine,
) -> None:
    event = store_event(MORNING)
    refused = api.post(f"/api/v1/events/{event.id}/reviews/acknowledge", headers=token_for(Role.GUARD))
    assert refused.status_code == 403 and refused.json["error"] == "the role guard may not do this"
    done = api.post(f"/api/v1/events/{event.id}/reviews/acknowledge", headers=token_for(Role.OPERATOR))
    assert done.status_code == 201
    assert done.json["decision"] == "acknowledge" and done.json["actor"] == "operator"
    conflict = api.post(f"/api/v1/events/{event.id}/reviews/acknowledge", headers=token_for(Role.OPERATOR))
    assert conflict.status_code == 409
    with Session(web_engine) as session:
        assert session.get(EntryEvent, event.id).status == EventStatus.ACKNOWLEDGED


def test_event_list_filters_and_pages_like_the_queue(
    api: FlaskClient, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]]
) -> None:
    events = [store_event(MORNING + timedelta(minutes=i)) for i in range(3)]
    car = store_event(MORNING + timedelta(minutes=9), label="car", camera_id=VEHICLE_GATE)
    headers = token_for(Role.AUDITOR)
    body = api.get("/api/v1/events?size=2", headers=headers).json
    assert [item["id"] for item in body["items"]] == [car.id, events[2].id]
    assert (body["total"], body["total_is_capped"], body["page"]) == (4, False, 1)
    assert body["items"][0]["clip_url"] == f"/evidence/{car.id}/clip.mp4"
    second = api.get("/api/v1/events?size=2&page=2", headers=headers).json
    assert [item["id"] for item in second["items"]] == [events[1].id, events[0].id]
    only_cars = api.get(f"/api/v1/events?camera={VEHICLE_GATE}", headers=headers).json
    assert [item["id"] for item in only_cars["items"]] == [car.id]
    bad = api.get("/api/v1/events?status=lost&size=0", headers=headers)
    assert bad.status_code == 400 and "status" in bad.json["fields"]
    state = api.get("/api/v1/events/queue-state", headers=headers).json
    assert state == {"newest_open_id": car.id, "open_count": 4}


def test_an_event_says_which_two_wheeler_a_rider_rides(
    api: FlaskClient, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]], web_engine: sa.Engine
) -> None:
    bike = store_event(MORNING, label="motorcycle", camera_id=VEHICLE_GATE)
    rider = store_event(MORNING + timedelta(minutes=1))
    with session_scope(web_engine) as session:
        session.execute(sa.update(EntryEvent).where(EntryEvent.id == rider.id).values(rides_track_id=bike.track_id))
    headers = token_for(Role.AUDITOR)
    items = {item["id"]: item for item in api.get("/api/v1/events", headers=headers).json["items"]}
    assert items[rider.id]["rides_track_id"] == bike.track_id
    assert items[bike.id]["rides_track_id"] is None
    assert api.get(f"/api/v1/events/{rider.id}", headers=headers).json["rides_track_id"] == bike.track_id
    document = api.get("/api/v1/openapi.json").json
    event_schema = document["components"]["schemas"]["EventOut"]
    assert "rides_track_id" in event_schema["required"]
    assert event_schema["properties"]["rides_track_id"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]


def test_event_detail_has_the_review_history(
    api: FlaskClient, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]]
) -> None:
    event = store_event(MORNING)
    api.post(
        f"/api/v1/events/{event.id}/reviews/note",
        json={"note": "seen on camera 2 as well"},
        headers=token_for(Role.OPERATOR),
    )
    detail = api.get(f"/api/v1/events/{event.id}", headers=token_for(Role.AUDITOR)).json
    assert detail["flag"] == "unregistered" and "no visit or authorisation covers the person entry" in detail["flag_detail"]
    assert detail["flag_items"][0]["code"] == "unregistered"
    assert [(r["decision"], r["note"]) for r in detail["reviews"]] == [("note", "seen on camera 2 as well")]
    assert api.get("/api/v1/events/999", headers=token_for(Role.AUDITOR)).status_code == 404


def test_review_input_errors_are_per_field(
    api: FlaskClient, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]]
) -> None:
    event = store_event(MORNING)
    guard = token_for(Role.GUARD)
    no_note = api.post(f"/api/v1/events/{event.id}/reviews/confirm", json={}, headers=guard)
    assert no_note.status_code == 422 and "note" in no_note.json["fields"]
    no_visit = api.post(f"/api/v1/events/{event.id}/reviews/link", json={"visit_id": 42}, headers=guard)
    assert no_visit.status_code == 422 and "visit_id" in no_visit.json["fields"]
    typo = api.post(f"/api/v1/events/{event.id}/reviews/link", json={"visit": 1}, headers=guard)
    assert typo.status_code == 422 and typo.json["fields"]["visit"] == "Unknown field."
    not_json = api.post(f"/api/v1/events/{event.id}/reviews/confirm", data="note=x", headers=guard)
    assert not_json.status_code == 400


def test_visits_are_created_with_field_errors_and_checked_out(
    api: FlaskClient,
    store_event: StoreEvent,
    token_for: Callable[[Role], dict[str, str]],
    web_engine: sa.Engine,
) -> None:
    entry = store_event(MORNING)
    guard = token_for(Role.GUARD)
    wrong = api.post(
        "/api/v1/visits",
        headers=guard,
        json={
            "visitor_name": "Rina",
            "id_number": "16710112O385OOO1",
            "party_size": 10_000,
            "vehicle_plate": "X" * 40,
            "check_in_at": "20/11/2026",
        },
    )
    assert wrong.status_code == 422
    assert set(wrong.json["fields"]) == {"id_number", "party_size", "vehicle_plate", "check_in_at"}
    assert count_rows(web_engine, Visit) == 0
    created = api.post(
        "/api/v1/visits",
        headers=guard,
        json={
            "visitor_name": "Rina",
            "id_number": NIK,
            "check_in_at": "2026-11-20T09:00:00",
        },
    )
    assert created.status_code == 201
    visit = created.json
    assert visit["check_in_at"] == "2026-11-20T02:00:00Z"  # read as site time
    assert visit["explained_event_ids"] == [entry.id]
    listed = api.get("/api/v1/visits?date=2026-11-20&open=true", headers=token_for(Role.AUDITOR)).json
    assert [v["id"] for v in listed["items"]] == [visit["id"]]
    out = api.post(f"/api/v1/visits/{visit['id']}/check-out", headers=guard)
    assert out.status_code == 200 and out.json["checked_out_at"] is not None
    assert api.post(f"/api/v1/visits/{visit['id']}/check-out", headers=guard).status_code == 409
    assert api.post("/api/v1/visits/999/check-out", headers=guard).status_code == 404
    assert (
        api.post("/api/v1/visits", headers=guard, data="{", content_type="application/json").status_code
        == 400
    )


def test_cameras_hide_their_source_and_stats_count_the_day(
    api: FlaskClient, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]]
) -> None:
    store_event(MORNING)
    store_event(MORNING + timedelta(minutes=30), direction="exit")
    headers = token_for(Role.OPERATOR)
    cameras = api.get("/api/v1/cameras", headers=headers).json["items"]
    assert {c["id"] for c in cameras} == {"gate-a", "gate-b"}
    assert all("source" not in c for c in cameras)
    stats = api.get("/api/v1/stats?date=2026-11-20&camera=gate-a", headers=headers).json
    assert stats["hours"][9] == {"hour": 9, "entries": 1, "exits": 1}
    assert stats["flags"]["unregistered"] == 1 and stats["inside"] == 0
    assert api.get("/api/v1/stats?date=tomorrow", headers=headers).status_code == 400


def test_unknown_api_paths_answer_json(api: FlaskClient, token_for: Callable[[Role], dict[str, str]]) -> None:
    missing = api.get("/api/v1/nothing", headers=token_for(Role.OPERATOR))
    assert missing.status_code == 404 and missing.is_json
    wrong_method = api.delete("/api/v1/visits", headers=token_for(Role.OPERATOR))
    assert wrong_method.status_code == 405 and wrong_method.is_json


# --- the OpenAPI document ----------------------------------------------------------------------


def test_openapi_lists_exactly_the_api_routes_and_is_valid(app: Flask, api: FlaskClient) -> None:
    document = api.get("/api/v1/openapi.json").json
    validate(document)
    assert document["openapi"] == "3.1.0"
    registered = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == registered
    review = document["paths"]["/api/v1/events/{event_id}/reviews/confirm"]["post"]
    assert review["x-roles"] == ["guard"]
    assert {p["name"] for p in review["parameters"]} == {"event_id"}
    assert document["paths"]["/api/v1/health"]["get"]["security"] == []


def _response_schema(document: dict, path: str, method: str, status: int) -> dict:
    reference = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"][
        "schema"
    ]
    return {**reference, "components": document["components"]}


@pytest.mark.parametrize(
    ("path", "url", "method", "status", "role"),
    [
        ("/api/v1/events", "/api/v1/events", "get", 200, Role.AUDITOR),
        ("/api/v1/events/{event_id}", "/api/v1/events/{event}", "get", 200, Role.AUDITOR),
        ("/api/v1/events/queue-state", "/api/v1/events/queue-state", "get", 200, Role.OPERATOR),
        (
            "/api/v1/events/{event_id}/reviews/acknowledge",
            "/api/v1/events/{event}/reviews/acknowledge",
            "post",
            201,
            Role.OPERATOR,
        ),
        (
            "/api/v1/events/{event_id}/reviews/acknowledge",
            "/api/v1/events/{event}/reviews/acknowledge",
            "post",
            403,
            Role.GUARD,
        ),
        ("/api/v1/visits", "/api/v1/visits", "get", 200, Role.GUARD),
        ("/api/v1/visits", "/api/v1/visits", "post", 422, Role.GUARD),
        ("/api/v1/cameras", "/api/v1/cameras", "get", 200, Role.ADMIN),
        ("/api/v1/stats", "/api/v1/stats", "get", 200, Role.OPERATOR),
        ("/api/v1/health", "/api/v1/health", "get", 200, None),
    ],
)
def test_answers_match_their_documented_schema(
    path: str,
    url: str,
    method: str,
    status: int,
    role: Role | None,
    api: FlaskClient,
    store_event: StoreEvent,
    token_for: Callable[[Role], dict[str, str]],
) -> None:
    event = store_event(MORNING)
    document = api.get("/api/v1/openapi.json").json
    headers = token_for(role) if role else {}
    response = api.open(
        url.format(event=event.id),
        method=method.upper(),
        headers=headers,
        json={"visitor_name": ""} if method == "post" and "visits" in url else None,
    )
    assert response.status_code == status
    schema = _response_schema(document, path, method, status)
    jsonschema.validate(response.json, schema, cls=jsonschema.Draft202012Validator)


def test_the_visit_request_schema_is_the_input_models(api: FlaskClient) -> None:
    document = api.get("/api/v1/openapi.json").json
    body = document["paths"]["/api/v1/visits"]["post"]["requestBody"]
    schema = document["components"]["schemas"][
        body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    ]
    assert body["required"] is True
    assert set(schema["required"]) == {"visitor_name", "id_number", "check_in_at"}
    assert schema["properties"]["party_size"]["maximum"] == 50


def test_session_reads_work_for_the_pages_scripts(
    client_for: Callable[[Role], FlaskClient], web_settings: Settings
) -> None:
    operator = client_for(Role.OPERATOR)
    assert operator.get("/api/v1/events/queue-state").json == {"newest_open_id": None, "open_count": 0}
    token = csrf_token(operator, "/events")
    assert (
        operator.post("/api/v1/events/1/reviews/acknowledge", headers={"X-CSRFToken": token}).status_code
        == 404
    )
