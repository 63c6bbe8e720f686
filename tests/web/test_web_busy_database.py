"""A registration made while another writer holds the database (a big CSV import) is refused, not lost.

SQLite has one write lock, which a 100,000-row import holds for a minute; the registration
waits for it and then gives up. The guard must hear that nothing was saved and keep what was
typed; an API client must get a status it can retry on.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.enums import Role
from gatewatch.models.tables import Visit
from tests.held_locks import held_write_lock
from tests.web_helpers import NIK, count_rows, csrf_token

FORM = {"visitor_name": "Rina Marlina", "id_number": NIK, "party_size": "1", "check_in_at": "2026-11-20T09:00"}


def test_a_guard_whose_registration_meets_a_locked_database_keeps_what_was_typed(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    token = csrf_token(guard, "/visits")
    with held_write_lock(web_engine, "visit"):
        response = guard.post("/visits", data={**FORM, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert 'id="form-busy"' in page and 'value="Rina Marlina"' in page and f'value="{NIK}"' in page
    assert count_rows(web_engine, Visit) == 0
    again = guard.post("/visits", data={**FORM, "csrf_token": token})
    assert again.status_code == 303
    with Session(web_engine) as session:
        assert [v.visitor_name for v in session.exec(select(Visit))] == ["Rina Marlina"]


def test_an_api_registration_meeting_a_locked_database_gets_503_to_retry(
    token_for: Callable[[Role], dict[str, str]], app: Flask, web_engine: sa.Engine
) -> None:
    api, guard = app.test_client(), token_for(Role.GUARD)
    assert api.get("/api/v1/visits", headers=guard).status_code == 200  # the token's first use is on record
    body = {"visitor_name": "Rina Marlina", "id_number": NIK, "check_in_at": "2026-11-20T09:00:00+07:00"}
    with held_write_lock(web_engine, "visit"):
        response = api.post("/api/v1/visits", json=body, headers=guard)
    assert response.status_code == 503 and "nothing was saved" in response.get_json()["error"]
    assert count_rows(web_engine, Visit) == 0
    assert api.post("/api/v1/visits", json=body, headers=guard).status_code == 201
