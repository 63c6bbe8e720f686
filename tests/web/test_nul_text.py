"""NUL characters in a request's text are refused naming where they were (400 in a query or form,
422 in a JSON body), on SQLite as on PostgreSQL (which cannot store them: a server error before),
and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gatewatch.models.enums import Role
from gatewatch.models.tables import Visit
from tests.web_helpers import NIK, count_rows, post_form

VISIT = {"id_number": NIK, "check_in_at": "2026-11-20T09:00:00"}


def test_a_json_body_with_nul_is_refused_naming_the_field(
    app: Flask, token_for: Callable[[Role], dict[str, str]], web_engine: sa.Engine
) -> None:
    api, guard = app.test_client(), token_for(Role.GUARD)
    answer = api.post("/api/v1/visits", headers=guard, json={**VISIT, "visitor_name": "Rina\u0000"})
    assert answer.status_code == 422 and set(answer.json["fields"]) == {"visitor_name"}, answer.json
    nested = api.post("/api/v1/authorisations", headers=token_for(Role.ADMIN),
                      json={"holder": "Regu A", "members": [{"name": "x\u0000", "id_number": NIK}]})
    assert nested.status_code == 422 and set(nested.json["fields"]) == {"members.0.name"}
    assert count_rows(web_engine, Visit) == 0
    assert api.post("/api/v1/visits", headers=guard, json={**VISIT, "visitor_name": "Rina"}).status_code == 201


def test_a_form_or_query_with_nul_is_refused(client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine) -> None:
    guard = client_for(Role.GUARD)
    posted = post_form(guard, "/visits", {**VISIT, "visitor_name": "Rina\u0000", "party_size": "1"}, page="/visits")
    assert posted.status_code == 400
    assert guard.get("/visits?q=Rina%00").status_code == 400
    assert count_rows(web_engine, Visit) == 0
