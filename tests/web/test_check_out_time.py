"""A guard records a check-out a few minutes late, with the time the visitor left: in the API
({"at": ISO 8601}, site time without an offset) and on the visitor-log page (a time of day)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Visit
from tests.web_helpers import NIK, post_form

JAKARTA = ZoneInfo("Asia/Jakarta")


def _visit(engine: sa.Engine, check_in_at: datetime) -> int:
    with session_scope(engine) as session:
        visit = Visit(visitor_name="Rina Marlina", id_number=NIK, registered_by="test", check_in_at=check_in_at)
        session.add(visit)
        session.flush()
        return visit.id


def _checked_out_at(engine: sa.Engine, visit_id: int) -> datetime | None:
    with Session(engine) as session:
        return session.get(Visit, visit_id).checked_out_at


def test_the_api_takes_the_time_the_visitor_left_as_site_time(
    app: Flask, web_engine: sa.Engine, token_for: Callable[[Role], dict[str, str]]
) -> None:
    api, guard = app.test_client(), token_for(Role.GUARD)
    now = datetime.now(JAKARTA).replace(second=0, microsecond=0)
    visit_id = _visit(web_engine, now - timedelta(hours=2))
    left = now - timedelta(minutes=10)
    answer = api.post(f"/api/v1/visits/{visit_id}/check-out", headers=guard,
                      json={"at": left.replace(tzinfo=None).isoformat()})
    assert answer.status_code == 200, answer.json
    assert _checked_out_at(web_engine, visit_id) == left.astimezone(UTC)
    with Session(web_engine) as session:
        record = session.exec(sa.select(AuditRecord).where(AuditRecord.action == "visit.checked_out")).scalar_one()
    assert left.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") in record.after


def test_the_api_refuses_a_time_before_check_in_or_to_come_naming_at(
    app: Flask, web_engine: sa.Engine, token_for: Callable[[Role], dict[str, str]]
) -> None:
    api, guard = app.test_client(), token_for(Role.GUARD)
    check_in = datetime.now(UTC) - timedelta(hours=1)
    visit_id = _visit(web_engine, check_in)
    path = f"/api/v1/visits/{visit_id}/check-out"
    for at in ((check_in - timedelta(minutes=5)).isoformat(), (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
               "yesterday-ish"):
        answer = api.post(path, headers=guard, json={"at": at})
        assert answer.status_code == 422 and set(answer.json["fields"]) == {"at"}, answer.json
    assert api.post(path, headers=guard, json={"when": "now"}).status_code == 422
    assert _checked_out_at(web_engine, visit_id) is None
    assert api.post(path, headers=guard).status_code == 200  # no body: now


def test_the_page_takes_a_time_of_day(client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine) -> None:
    now = datetime.now(JAKARTA).replace(second=0, microsecond=0)
    visit_id = _visit(web_engine, now - timedelta(hours=3))
    guard = client_for(Role.GUARD)
    left = now - timedelta(minutes=20)
    post_form(guard, f"/visits/{visit_id}/check-out", {"at": left.strftime("%H:%M")}, page="/visits")
    assert _checked_out_at(web_engine, visit_id) == left.astimezone(UTC)
    other = _visit(web_engine, now - timedelta(minutes=30))
    refused = post_form(guard, f"/visits/{other}/check-out", {"at": "25:99"}, page="/visits")
    assert "A check-out time must lie between the check-in and now." in guard.get(
        refused.headers["Location"]).get_data(as_text=True)
    assert _checked_out_at(web_engine, other) is None
