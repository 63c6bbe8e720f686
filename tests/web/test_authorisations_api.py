"""Standing authorisations in the JSON API: admins add and end them, every person reads them (NIKs
masked but for admins), errors name the field, and the answers are what the OpenAPI document says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import AuditRecord, Authorisation, EntryEvent
from tests.web_helpers import GATE, NIK, StoreEvent, count_rows

URL = "/api/v1/authorisations"
#: Monday 23 November 2026, 10:00 WIB.
MONDAY_TEN = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
Headers = Callable[[Role], dict[str, str]]


def body(**changes: Any) -> dict[str, Any]:
    base = {
        "holder": "Shift B, warehouse staff",
        "organisation": "PT Gudang Aman",
        "purpose": "day shift",
        "members": [{"name": "Sari Wulandari", "id_number": NIK}],
        "max_persons": 5,
        "max_vehicles": 1,
        "plates": ["bg 1234 ab"],
        "camera_id": GATE,
        "valid_from": "2026-11-23",
        "valid_until": "2026-11-27",
        "weekdays": [1, 2, 3, 4, 5],
        "start_time": "08:00",
        "end_time": "16:00",
    }
    return {**base, **changes}


def all_day_today(**changes: Any) -> dict[str, Any]:
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()  # the site's day, as the app reckons
    return body(valid_from=today, valid_until=today, weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=None,
                end_time=None, **changes)


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


def test_an_admin_adds_one_and_everyone_reads_it(api: FlaskClient, token_for: Headers, web_engine: sa.Engine) -> None:
    created = api.post(URL, json=body(), headers=token_for(Role.ADMIN))
    assert created.status_code == 201, created.json
    answer = created.json
    assert answer["id"] >= 1 and answer["created_by"] == "admin" and answer["ended_at"] is None
    assert answer["plates"] == ["BG 1234 AB"] and answer["weekdays"] == [1, 2, 3, 4, 5]
    assert (answer["start_time"], answer["end_time"]) == ("08:00", "16:00")
    assert answer["members"] == [{"name": "Sari Wulandari", "id_number": NIK}]
    assert answer["active_now"] is False  # those days are not today

    for role in (Role.OPERATOR, Role.AUDITOR):
        listed = api.get(URL, headers=token_for(role))
        assert listed.status_code == 200
        (item,) = listed.json["items"]
        assert item["holder"] == "Shift B, warehouse staff"
        assert item["members"] == [{"name": "Sari Wulandari", "id_number": NIK[:4] + " **** **** " + NIK[-4:]}]
    for role in (Role.GUARD, Role.ADMIN):  # they check people in: the NIK in full
        assert api.get(URL, headers=token_for(role)).json["items"][0]["members"][0]["id_number"] == NIK

    with Session(web_engine) as session:
        (record,) = session.exec(select(AuditRecord).where(AuditRecord.action == "authorisation.created")).all()
    assert (record.actor, record.role) == ("admin", "admin")
    assert NIK not in record.after


def test_only_admins_add_and_end(api: FlaskClient, token_for: Headers, web_engine: sa.Engine) -> None:
    created = api.post(URL, json=body(), headers=token_for(Role.ADMIN)).json
    for role in (Role.OPERATOR, Role.GUARD, Role.AUDITOR):
        assert api.post(URL, json=body(), headers=token_for(role)).status_code == 403
        assert api.post(f"{URL}/{created['id']}/end", headers=token_for(role)).status_code == 403
    assert count_rows(web_engine, Authorisation) == 1
    assert api.get(URL).status_code == 401


def test_the_active_filter_and_ending(api: FlaskClient, token_for: Headers) -> None:
    admin = token_for(Role.ADMIN)
    today = api.post(URL, json=all_day_today(holder="Today's crew"), headers=admin).json
    api.post(URL, json=body(holder="Another week"), headers=admin)
    assert today["active_now"] is True
    active = api.get(f"{URL}?active=true", headers=token_for(Role.GUARD)).json["items"]
    assert [item["holder"] for item in active] == ["Today's crew"]

    ended = api.post(f"{URL}/{today['id']}/end", headers=admin)
    assert ended.status_code == 200
    assert ended.json["ended_by"] == "admin" and ended.json["active_now"] is False
    assert api.get(f"{URL}?active=true", headers=admin).json["items"] == []
    again = api.post(f"{URL}/{today['id']}/end", headers=admin)
    assert again.status_code == 409 and "already" in again.json["error"]
    assert api.post(f"{URL}/999/end", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"members": [{"name": "Sari", "id_number": "12345"}]}, "members.0.id_number"),
        ({"weekdays": [0]}, "weekdays.0"),
        ({"weekdays": []}, "weekdays"),
        ({"valid_until": "2026-11-01"}, "valid_until"),
        ({"valid_from": "next monday"}, "valid_from"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"start_time": "8.00"}, "start_time"),
        ({"end_time": None}, "end_time"),
        ({"max_persons": 0, "max_vehicles": 0}, "max_vehicles"),
        ({"plates": ["???"]}, "plates.0"),
        ({"camera_id": "back-gate"}, "camera_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    api: FlaskClient, token_for: Headers, web_engine: sa.Engine, changes: dict[str, Any], field: str
) -> None:
    response = api.post(URL, json=body(**changes), headers=token_for(Role.ADMIN))
    assert response.status_code == 422, response.json
    assert field in response.json["fields"], response.json
    assert response.json["fields"][field]
    assert count_rows(web_engine, Authorisation) == 0


def test_a_body_that_is_not_json_is_400(api: FlaskClient, token_for: Headers) -> None:
    response = api.post(URL, data="holder=x", headers={**token_for(Role.ADMIN), "Content-Type": "text/plain"})
    assert response.status_code == 400


def test_adding_one_explains_an_open_entry_on_its_shift(
    api: FlaskClient, token_for: Headers, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    """NOTE: needs the cross-check rules to read the schedule fields (valid_from/until as dates, hours)."""
    entry = store_event(MONDAY_TEN)
    later = store_event(MONDAY_TEN + timedelta(hours=7))  # 17:00, after the shift
    assert entry.status == EventStatus.FLAGGED
    created = api.post(URL, json=body(), headers=token_for(Role.ADMIN)).json
    with Session(web_engine) as session:
        explained = session.get(EntryEvent, entry.id)
        still = session.get(EntryEvent, later.id)
        assert (explained.status, explained.authorisation_id) == (EventStatus.EXPLAINED, created["id"])
        assert still.status == EventStatus.FLAGGED


def _schema(document: dict, path: str, method: str, status: int) -> dict:
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return {**content["schema"], "components": document["components"]}


def test_the_answers_are_what_the_openapi_document_says(api: FlaskClient, token_for: Headers) -> None:
    document = api.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert paths[URL]["post"]["x-roles"] == ["admin"]
    assert paths[f"{URL}/{{authorisation_id}}/end"]["post"]["x-roles"] == ["admin"]
    assert "active" in {p["name"] for p in paths[URL]["get"]["parameters"]}

    admin = token_for(Role.ADMIN)
    answers = [
        ("post", URL, 201, api.post(URL, json=body(), headers=admin)),
        ("post", URL, 422, api.post(URL, json=body(weekdays=[]), headers=admin)),
        ("get", URL, 200, api.get(URL, headers=token_for(Role.AUDITOR))),
        ("post", f"{URL}/{{authorisation_id}}/end", 200, api.post(f"{URL}/1/end", headers=admin)),
        ("post", f"{URL}/{{authorisation_id}}/end", 409, api.post(f"{URL}/1/end", headers=admin)),
    ]
    for method, path, status, response in answers:
        assert response.status_code == status, (path, response.json)
        jsonschema.validate(response.json, _schema(document, path, method, status),
                            cls=jsonschema.Draft202012Validator)
