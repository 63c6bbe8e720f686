"""What browsers and proxies may keep: nothing of a page or an API answer (they carry NIK numbers and
visitors), static files yes; HSTS only where the site says it is served over TLS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.models.enums import Role
from gatewatch.settings import Settings
from gatewatch.web.app import create_app
from gatewatch.web.headers import HSTS_ENV
from tests.web_helpers import StoreEvent, recent

ClientFor = Callable[[Role], FlaskClient]


def test_pages_and_api_answers_are_never_stored(
    client_for: ClientFor, token_for: Callable[[Role], dict[str, str]]
) -> None:
    guard = client_for(Role.GUARD)
    answers = {
        "visits page": guard.get("/visits"),
        "visits API, session": guard.get("/api/v1/visits"),
        "visits API, token": guard.application.test_client().get("/api/v1/visits", headers=token_for(Role.GUARD)),
        "cameras page": guard.get("/cameras"),
    }
    for what, answer in answers.items():
        assert answer.status_code == 200, what
        assert answer.headers["Cache-Control"] == "no-store", what


def test_the_login_page_and_a_refusal_are_not_stored_either(client_for: ClientFor) -> None:
    anonymous = client_for(Role.GUARD).application.test_client()
    for answer in (anonymous.get("/login"), anonymous.get("/api/v1/visits"), anonymous.get("/no-such-page")):
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path


def test_static_files_may_be_cached(client_for: ClientFor) -> None:
    answer = client_for(Role.GUARD).application.test_client().get("/static/app.css")
    assert answer.status_code == 200
    assert "no-store" not in answer.headers.get("Cache-Control", "")


def test_evidence_keeps_its_private_cache(client_for: ClientFor, store_event: StoreEvent) -> None:
    event = store_event(recent(5))
    answer = client_for(Role.GUARD).get(f"/evidence/{event.id}/snapshot.jpg")
    assert answer.status_code == 200
    assert "private" in answer.headers["Cache-Control"] and "no-store" not in answer.headers["Cache-Control"]


def test_every_answer_keeps_the_security_headers(client_for: ClientFor) -> None:
    guard = client_for(Role.GUARD)
    for answer in (guard.get("/visits"), guard.get("/api/v1/visits"), guard.get("/static/app.js")):
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("0", None), ("31536000", "max-age=31536000; includeSubDomains")],
    ids=["unset", "empty", "zero", "a-year"],
)
def test_hsts_only_when_the_site_sets_it(
    web_settings: Settings, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, value: str | None,
    expected: str | None,
) -> None:
    if value is None:
        monkeypatch.delenv(HSTS_ENV, raising=False)
    else:
        monkeypatch.setenv(HSTS_ENV, value)
    client = create_app(web_settings, web_engine, testing=True).test_client()
    for path in ("/login", "/static/app.css", "/api/v1/health"):
        assert client.get(path).headers.get("Strict-Transport-Security") == expected, path


@pytest.mark.parametrize("value", ["a year", "-1", "1.5"])
def test_a_wrong_hsts_setting_stops_the_app_from_starting(
    web_settings: Settings, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(HSTS_ENV, value)
    with pytest.raises(ValueError, match=HSTS_ENV):
        create_app(web_settings, web_engine, testing=True)
