"""Hostile numbers and dates never make a server error: an id beyond what the database holds is a
404 on every route, a date beyond what can be computed a 400 naming it (the pages show their own
day instead), a page number that is not a number the page's first; and a flagged entry links only
to a visit whose cover holds it. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.web import access
from tests.web_helpers import NIK, StoreEvent, csrf_token

#: Ids beyond a PostgreSQL integer (2**31 - 1) and SQLite's 64 bits, and below any id.
HOSTILE_IDS = ("377261682136534089728", str(2**31), str(2**63), "-1", "-377261682136534089728")
#: Dates whose day after, or day before, or site midnight in UTC, cannot be computed.
HOSTILE_DATES = ("9999-12-31", "0001-01-01", "9999-12-30", "0001-01-02")
#: Page and API arguments that take a date.
PAGE_DATES = ("/overview?date={}", "/visits?date={}", "/events?date={}", "/audit?from={}", "/audit?to={}")
API_DATES = ("/api/v1/events?date={}", "/api/v1/stats?date={}", "/api/v1/visits?date={}")
ClientFor = Callable[[Role], FlaskClient]
Headers = Callable[[Role], dict[str, str]]
_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _with_ids(app: Flask) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) of every route that takes a whole-number id."""
    routes = []
    for rule in app.url_map.iter_rules():
        if any(converter == "int" for converter, _name in _ARGUMENT.findall(rule.rule)):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((rule.rule, method, rule.endpoint))
    return routes


def _role_for(app: Flask, endpoint: str) -> Role:
    with app.test_request_context():
        roles = access.roles_for(endpoint) or frozenset({Role.ADMIN})
    return min(roles & frozenset(HUMAN_ROLES) or roles)


def _url(rule: str, number: str) -> str:
    return _ARGUMENT.sub(lambda m: number if m.group(1) == "int" else "x", rule)


def _assert_api_error(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.is_json and isinstance(response.json["error"], str) and response.json["error"]
    if field is not None:
        assert field in response.json["fields"], response.json


def test_an_id_beyond_the_database_is_404_on_every_route(
    app: Flask, client_for: ClientFor, token_for: Headers
) -> None:
    routes = _with_ids(app)
    assert len(routes) > 20
    clients: dict[Role, FlaskClient] = {}
    for rule, method, endpoint in routes:
        role = _role_for(app, endpoint)
        for number in HOSTILE_IDS:
            url = _url(rule, number)
            if rule.startswith("/api/"):
                response = app.test_client().open(url, method=method, headers=token_for(role), json={})
                _assert_api_error(response, 404)
            else:
                client = clients.get(role) or clients.setdefault(role, client_for(role))
                data = {"csrf_token": csrf_token(client, "/")} if method == "POST" else None
                response = client.open(url, method=method, data=data)
                assert response.status_code == 404, (method, url, response.status_code)


def test_the_reported_urls(app: Flask, client_for: ClientFor, token_for: Headers) -> None:
    operator = client_for(Role.OPERATOR)
    for url in ("/events?page=%C2%B2", "/events?page=99999999999999999999999", "/audit?page=%C2%B2"):
        client = client_for(Role.AUDITOR) if url.startswith("/audit") else operator
        assert client.get(url).status_code == 200, url
    assert operator.get("/overview?date=9999-12-31").status_code == 200  # the page shows today instead
    answer = app.test_client().post("/api/v1/visits/377261682136534089728/check-out", headers=token_for(Role.GUARD))
    _assert_api_error(answer, 404)
    for url in ("/api/v1/events?page=%C2%B2", "/api/v1/events?page=1000001", "/api/v1/visits?offset=-1",
                "/api/v1/visits?limit=%C2%B2", "/api/v1/events?size=0"):
        name = re.search(r"\?(\w+)=", url).group(1)
        _assert_api_error(app.test_client().get(url, headers=token_for(Role.GUARD)), 400, name)


@pytest.mark.parametrize("day", HOSTILE_DATES)
def test_a_date_beyond_what_can_be_computed_is_refused(
    app: Flask, client_for: ClientFor, token_for: Headers, day: str
) -> None:
    auditor = client_for(Role.AUDITOR)
    for url in PAGE_DATES:
        response = auditor.get(url.format(day))
        assert response.status_code in (200, 400), (url.format(day), response.status_code)
    exports = auditor.post("/audit/exports", data={"from": day, "to": day, "csrf_token": csrf_token(auditor, "/")})
    assert exports.status_code == 422 and b"Not a date" in exports.data
    for url in API_DATES:
        _assert_api_error(app.test_client().get(url.format(day), headers=token_for(Role.AUDITOR)), 400, "date")


def test_an_empty_or_repeated_or_malformed_argument_is_400_naming_it(app: Flask, token_for: Headers) -> None:
    for url, name in (
        ("/api/v1/events?date=", "date"),
        ("/api/v1/stats?date=", "date"),
        ("/api/v1/visits?open=null", "open"),
        ("/api/v1/visits?open=true&open=false", "open"),
        ("/api/v1/authorisations?active=5080283304698647.0", "active"),
        ("/api/v1/events?status=nonsense", "status"),
        ("/api/v1/events?page=1.5", "page"),
    ):
        _assert_api_error(app.test_client().get(url, headers=token_for(Role.GUARD)), 400, name)
    for url in ("/api/v1/visits?open=true", "/api/v1/visits?open=false", "/api/v1/authorisations?active=false",
                "/api/v1/stats?date=2026-11-20", "/api/v1/events?page=1000000"):
        assert app.test_client().get(url, headers=token_for(Role.GUARD)).status_code == 200, url


def test_a_method_the_route_does_not_take_is_405_with_allow(app: Flask, token_for: Headers) -> None:
    for method in ("TRACE", "PUT", "DELETE", "PATCH"):
        response = app.test_client().open("/api/v1/events", method=method, headers=token_for(Role.GUARD))
        _assert_api_error(response, 405)
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}
    response = app.test_client().get("/api/v1/visits/1/check-out", headers=token_for(Role.GUARD))
    _assert_api_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_a_flagged_entry_links_only_to_a_visit_whose_cover_holds_it(
    app: Flask, store_event: StoreEvent, token_for: Headers
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    guard = token_for(Role.GUARD)
    api = app.test_client()
    months_before = api.post("/api/v1/visits", headers=guard, json={
        "visitor_name": "Budi Santoso", "id_number": NIK, "check_in_at": (now - timedelta(days=90)).isoformat(),
    })
    assert months_before.status_code == 201, months_before.json
    event = store_event(now - timedelta(minutes=5))
    answer = api.post(f"/api/v1/events/{event.id}/reviews/link", headers=guard,
                      json={"visit_id": months_before.json["id"]})
    _assert_api_error(answer, 422, "visit_id")
    assert api.get(f"/api/v1/events/{event.id}", headers=guard).json["status"] == "flagged"
    for visit_id in (0, -1, 2**31, "1"):
        refused = api.post(f"/api/v1/events/{event.id}/reviews/link", headers=guard, json={"visit_id": visit_id})
        _assert_api_error(refused, 422, "visit_id")
    _assert_api_error(api.post(f"/api/v1/events/{event.id}/reviews/link", headers=guard, json={}), 422, "visit_id")
    _assert_api_error(api.post(f"/api/v1/events/{event.id}/reviews/confirm", headers=guard, json={"note": " "}),
                      422, "note")


def test_a_nul_in_a_query_is_400_not_a_database_error(app: Flask, token_for: Headers) -> None:
    for url, name in (("/api/v1/events?camera=a%00b", "camera"), ("/api/v1/visits?q=%00", "q"),
                      ("/api/v1/visits?plate=B%001", "plate"), ("/api/v1/stats?camera=%00", "camera")):
        _assert_api_error(app.test_client().get(url, headers=token_for(Role.GUARD)), 400, name)
