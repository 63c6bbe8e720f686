"""Who may call what: every route of the app against every role and an anonymous visitor,
CSRF on every form, login throttling, cookies and security headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from gatewatch.accounts import users
from gatewatch.models.db import session_scope
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import (
    AuditRecord,
    Authorisation,
    ExportJob,
    ReplayRun,
    User,
    Visit,
    VisitImport,
    WatchlistPlate,
    Webhook,
)
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.web import access, auth
from gatewatch.web.app import create_app
from tests.web_helpers import GATE, NIK, PASSWORD, StoreEvent, count_rows, csrf_token, log_in, recent

OPERATOR, GUARD, AUDITOR, ADMIN, DEVICE = Role.OPERATOR, Role.GUARD, Role.AUDITOR, Role.ADMIN, Role.DEVICE
METRICS = Role.METRICS  # a Prometheus scraper: its token reads /metrics and nothing else
EVERYONE = frozenset(HUMAN_ROLES)  # a device is not a person: it reaches nothing a person reads
PUBLIC = frozenset()

#: The whole access matrix, written out by hand: a new route fails the test until it is added here.
EXPECTED: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("POST", "/account/language"): EVERYONE,
    ("GET", "/alerts/open.json"): frozenset({OPERATOR, GUARD, ADMIN}),
    ("POST", "/account/alert-sound"): frozenset({OPERATOR, GUARD, ADMIN}),
    ("GET", "/events"): EVERYONE,
    ("GET", "/events/<int:event_id>"): EVERYONE,
    ("POST", "/events/<int:event_id>/acknowledge"): frozenset({OPERATOR}),
    ("POST", "/events/<int:event_id>/note"): frozenset({OPERATOR}),
    ("POST", "/events/<int:event_id>/confirm"): frozenset({GUARD}),
    ("POST", "/events/<int:event_id>/link"): frozenset({GUARD}),
    ("POST", "/events/<int:event_id>/false-alarm"): frozenset({GUARD}),
    ("POST", "/events/<int:event_id>/plate"): frozenset({GUARD}),
    ("POST", "/events/<int:event_id>/hold"): frozenset({AUDITOR}),
    ("POST", "/events/<int:event_id>/release"): frozenset({AUDITOR}),
    ("GET", "/evidence/<int:event_id>/snapshot.jpg"): EVERYONE,
    ("GET", "/evidence/<int:event_id>/thumbnail.jpg"): EVERYONE,
    ("GET", "/evidence/<int:event_id>/clip.mp4"): EVERYONE,
    ("GET", "/evidence/<int:event_id>/boxes.json"): EVERYONE,
    ("GET", "/evidence/<int:event_id>/plate.jpg"): EVERYONE,
    ("GET", "/visits"): EVERYONE,
    ("POST", "/visits"): frozenset({GUARD}),
    ("POST", "/visits/<int:visit_id>/check-out"): frozenset({GUARD}),
    ("GET", "/visits/search"): EVERYONE,  # back to the visitor log (the language switch on the results)
    ("POST", "/visits/search"): EVERYONE,  # POSTed, so that a NIK searched for is in no URL
    ("GET", "/visits/<int:visit_id>/reveal"): frozenset({AUDITOR}),  # to the visit in the log, masked
    ("POST", "/visits/<int:visit_id>/reveal"): frozenset({AUDITOR}),  # guards and admins see NIKs in full
    ("POST", "/visits/imports"): frozenset({GUARD}),
    ("POST", "/visits/ktp-scan"): frozenset({GUARD}),
    ("GET", "/visits/imports/<int:import_id>"): EVERYONE,
    ("GET", "/visits/imports/<int:import_id>.json"): EVERYONE,
    ("GET", "/overview"): EVERYONE,
    ("GET", "/cameras"): EVERYONE,
    ("GET", "/cameras/live.json"): EVERYONE,
    ("GET", "/cameras/<camera_id>/live.jpg"): EVERYONE,
    ("GET", "/cameras/<camera_id>/line"): frozenset({ADMIN}),
    ("POST", "/cameras/<camera_id>/line"): frozenset({ADMIN}),
    ("GET", "/cameras/<camera_id>/line/preview.json"): frozenset({ADMIN}),
    ("GET", "/audit"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit.csv"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/verify"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/verify"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/exports"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports/<name>"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/exports/<name>/verify"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports/public-key.pem"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports/jobs/<int:job_id>"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports/jobs/<int:job_id>.json"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/exports/jobs/<int:job_id>/download"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/replays"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/replays"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/replays/recorded"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/replays/<int:run_id>"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/audit/replays/<int:run_id>/progress"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/replays/<int:run_id>/cancel"): frozenset({AUDITOR, ADMIN}),
    ("POST", "/audit/replays/queue/start"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/admin/users"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/admin/users"): frozenset({ADMIN}),
    ("POST", "/admin/users/<int:user_id>"): frozenset({ADMIN}),
    ("POST", "/admin/users/<int:user_id>/password"): frozenset({ADMIN}),
    ("GET", "/admin/tokens"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/admin/tokens"): frozenset({ADMIN}),
    ("POST", "/admin/tokens/<int:token_id>/revoke"): frozenset({ADMIN}),
    ("GET", "/admin/watchlist"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/admin/watchlist"): frozenset({ADMIN}),
    ("POST", "/admin/watchlist/<int:entry_id>/remove"): frozenset({ADMIN}),
    ("GET", "/admin/watchlist/persons"): frozenset({ADMIN, AUDITOR}),
    ("POST", "/admin/watchlist/persons"): frozenset({ADMIN}),
    ("POST", "/admin/watchlist/persons/<int:entry_id>/remove"): frozenset({ADMIN}),
    ("GET", "/admin/webhooks"): frozenset({ADMIN}),
    ("POST", "/admin/webhooks"): frozenset({ADMIN}),
    ("GET", "/admin/webhooks/<int:hook_id>"): frozenset({ADMIN}),
    ("POST", "/admin/webhooks/<int:hook_id>/edit"): frozenset({ADMIN}),
    ("POST", "/admin/webhooks/<int:hook_id>/delete"): frozenset({ADMIN}),
    ("POST", "/admin/webhooks/<int:hook_id>/test"): frozenset({ADMIN}),
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/events"): EVERYONE,
    ("GET", "/api/v1/events/queue-state"): EVERYONE,
    ("GET", "/api/v1/events/<int:event_id>"): EVERYONE,
    ("POST", "/api/v1/events/<int:event_id>/reviews/acknowledge"): frozenset({OPERATOR}),
    ("POST", "/api/v1/events/<int:event_id>/reviews/note"): frozenset({OPERATOR}),
    ("POST", "/api/v1/events/<int:event_id>/reviews/confirm"): frozenset({GUARD}),
    ("POST", "/api/v1/events/<int:event_id>/reviews/link"): frozenset({GUARD}),
    ("POST", "/api/v1/events/<int:event_id>/reviews/false-alarm"): frozenset({GUARD}),
    ("POST", "/api/v1/events/<int:event_id>/hold"): frozenset({AUDITOR}),
    ("POST", "/api/v1/events/<int:event_id>/release"): frozenset({AUDITOR}),
    ("GET", "/api/v1/visits"): EVERYONE,
    ("POST", "/api/v1/visits"): frozenset({GUARD}),
    ("POST", "/api/v1/visits/<int:visit_id>/check-out"): frozenset({GUARD}),
    ("POST", "/api/v1/visits/<int:visit_id>/reveal"): frozenset({AUDITOR}),
    ("GET", "/api/v1/cameras"): EVERYONE,
    ("GET", "/api/v1/stats"): EVERYONE,
    ("GET", "/authorisations"): EVERYONE,
    ("POST", "/authorisations"): frozenset({ADMIN}),
    ("POST", "/authorisations/<int:authorisation_id>/end"): frozenset({ADMIN}),
    ("GET", "/authorisations/<int:authorisation_id>/reveal"): frozenset({AUDITOR}),  # back to the list
    ("POST", "/authorisations/<int:authorisation_id>/reveal"): frozenset({AUDITOR}),  # members' NIKs, with a reason
    ("GET", "/api/v1/authorisations"): EVERYONE,
    ("POST", "/api/v1/authorisations"): frozenset({ADMIN}),
    ("POST", "/api/v1/authorisations/<int:authorisation_id>/end"): frozenset({ADMIN}),
    ("POST", "/api/v1/authorisations/<int:authorisation_id>/reveal"): frozenset({AUDITOR}),
    ("POST", "/api/v1/crossings"): frozenset({DEVICE}),
    ("GET", "/metrics"): frozenset({METRICS}),
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_the_matrix_names_every_route_and_the_registry_agrees(app: Flask) -> None:
    assert _routes(app) == set(EXPECTED)
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert access.roles_for(rule.endpoint) == EXPECTED[(method, rule.rule)], rule.rule


@pytest.fixture
def records(web_engine: sa.Engine, store_event: StoreEvent, accounts: dict[Role, str]) -> dict[str, int]:
    """One of each record a route can name, so an allowed request finds what it asks for."""
    event = store_event(recent(5))
    with session_scope(web_engine) as session:
        visit = Visit(visitor_name="Budi", id_number=NIK, check_in_at=recent(60), registered_by="test")
        session.add(visit)
        visit_import = VisitImport(filename="visits.csv", size_bytes=100, status="done", requested_by="guard")
        session.add(visit_import)
        token, _secret = users.issue_token(
            session, users.find_user(session, "guard").id, "matrix", actor="test", actor_role="test"
        )
        session.flush()
        user = users.find_user(session, "operator")
        run = ReplayRun(camera_id=GATE, source_key="file:matrix", video="/footage/matrix.mp4", footage_start=recent(60),
                        parameters=json.dumps({"camera": {"gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}}}),
                        status="pending", requested_by="test")
        session.add(run)
        watched = WatchlistPlate(plate="B 1234 XYZ", plate_key="81234XY2", reason="matrix", added_by="test")
        session.add(watched)
        authorisation = Authorisation(holder="Regu A", max_persons=4, valid_from=recent(60).date(),
                                      valid_until=recent(60).date(), created_by="test")
        session.add(authorisation)
        export_job = ExportJob(parameters="{}", status="failed", requested_by="test")
        session.add(export_job)
        hook = Webhook(url="https://relay.example/hook", secret="matrix-secret-0123", events='["event.flagged"]')
        session.add(hook)
        session.flush()
        return {
            "run_id": run.id,
            "job_id": export_job.id,
            "name": "none.zip",
            "event_id": event.id,
            "visit_id": visit.id,
            "import_id": visit_import.id,
            "token_id": token.id,
            "user_id": user.id,
            "entry_id": watched.id,
            "authorisation_id": authorisation.id,
            "hook_id": hook.id,
            "filename": "app.css",
            "camera_id": GATE,
        }


def _url(rule: str, values: dict[str, int]) -> str:
    for name, value in values.items():
        for placeholder in (f"<int:{name}>", f"<path:{name}>", f"<{name}>"):
            rule = rule.replace(placeholder, str(value))
    return rule


def _request(client: FlaskClient, method: str, url: str, token: str,  # type: ignore[no-untyped-def]
             headers: dict[str, str]):
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token, **headers})


def _expect(status: int, location: str, url: str, role: Role | None, allowed: frozenset[Role]) -> str | None:
    """What is wrong with the answer, or None."""
    is_api = url.startswith("/api/") or url in access.MACHINE_PATHS  # answered as the API: 401, no login page
    if allowed == PUBLIC:  # the login page may well say 401 to a bad password: only access is judged
        return None if status != 403 and status < 500 else f"public but answered {status}"
    if role is not None and role in allowed:
        if role is DEVICE:  # its one route wants a crossing in the body: refusing the empty one is fine
            return None if status in (400, 422) else f"allowed but answered {status}"
        to_login = "/login" in location and url != "/logout"  # logging out is meant to land there
        if status in (401, 403) or to_login or status >= 500:
            return f"allowed but answered {status} {location}"
        return None
    if role is None or (role in (DEVICE, METRICS) and not is_api):  # pages read no token: a stranger there
        expected_status = 401 if is_api else 302
        if status != expected_status or (not is_api and "/login" not in location):
            return f"anonymous: expected {expected_status} to the login, got {status} {location}"
        return None
    return None if status == 403 else f"forbidden role got {status} {location}"


def test_every_route_answers_every_role_and_anonymous_as_the_matrix_says(
    app: Flask, client_for: Callable[[Role], FlaskClient], token_for: Callable[[Role], dict[str, str]],
    records: dict[str, int],
) -> None:
    clients: dict[Role | None, FlaskClient] = {
        None: app.test_client(),
        **{role: client_for(role) for role in HUMAN_ROLES},
        DEVICE: app.test_client(),  # a device never logs in: it sends its token
        METRICS: app.test_client(),  # nor does a scraper
    }
    headers = {who: token_for(who) if who in (DEVICE, METRICS) else {} for who in clients}
    tokens = {who: csrf_token(client) for who, client in clients.items()}
    problems = []
    # Logging out ends the session the other requests need: it goes last.
    for method, rule in sorted(EXPECTED, key=lambda key: key[1] == "/logout"):
        url = _url(rule, records)
        for who, client in clients.items():
            response = _request(client, method, url, tokens[who], headers[who])
            response.get_data()  # a streamed answer (the CSV export) must be read to end its request
            problem = _expect(
                response.status_code, response.headers.get("Location", ""), url, who, EXPECTED[(method, rule)]
            )
            if problem:
                problems.append(f"{method} {url} as {who}: {problem}")
    assert not problems, "\n".join(problems)


def test_anonymous_api_calls_get_401_json_and_pages_redirect_to_login(app: Flask) -> None:
    client = app.test_client()
    api = client.get("/api/v1/events")
    assert api.status_code == 401
    assert api.is_json and "error" in api.json
    assert api.headers["WWW-Authenticate"].startswith("Bearer")
    page = client.get("/events?status=any")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/events?status%3Dany"


def test_a_view_without_an_access_rule_stops_the_app_from_starting(
    web_settings: Settings, web_engine: sa.Engine
) -> None:
    from gatewatch.web import app as app_module

    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/forgotten", "forgotten", lambda: "open")
    original = app_module._register_blueprints

    def with_extra(app: Flask) -> None:
        original(app)
        app.register_blueprint(extra)

    app_module._register_blueprints = with_extra  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError, match=r"extra\.forgotten"):
            create_app(web_settings, web_engine, testing=True)
    finally:
        app_module._register_blueprints = original  # type: ignore[assignment]


# --- CSRF --------------------------------------------------------------------------------------


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(GUARD)
    before = count_rows(web_engine, Visit)
    form = {"visitor_name": "Siti", "id_number": NIK, "party_size": "1", "check_in_at": "2026-11-20T09:00"}
    response = guard.post("/visits", data=form)
    assert response.status_code == 400
    assert "expired or came from elsewhere" in response.get_data(as_text=True)
    forged = guard.post("/visits", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert count_rows(web_engine, Visit) == before


def test_the_login_form_needs_its_csrf_token_too(app: Flask, accounts: dict[Role, str]) -> None:
    response = app.test_client().post("/login", data={"username": "guard", "password": PASSWORD})
    assert response.status_code == 400


def test_a_session_api_write_needs_the_csrf_header(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(GUARD)
    body = {"visitor_name": "Siti", "id_number": NIK, "check_in_at": "2026-11-20T09:00:00+07:00"}
    refused = guard.post("/api/v1/visits", json=body)
    assert refused.status_code == 400
    assert "CSRF" in refused.json["error"]
    assert count_rows(web_engine, Visit) == 0
    accepted = guard.post("/api/v1/visits", json=body, headers={"X-CSRFToken": csrf_token(guard, "/visits")})
    assert accepted.status_code == 201
    assert count_rows(web_engine, Visit) == 1


# --- logging in --------------------------------------------------------------------------------


def test_wrong_passwords_make_even_the_right_password_wait_a_moment(
    app: Flask, accounts: dict[Role, str], web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    monkeypatch.setattr(auth, "clock", lambda: now)
    client = app.test_client()
    for _attempt in range(users.FREE_FAILURES + 1):
        response = log_in(client, "guard", "wrong password")
        assert response.status_code == 401
        assert "Wrong username or password" in response.get_data(as_text=True)
    waiting = log_in(client, "guard", PASSWORD)
    assert waiting.status_code == 429
    assert "Too many failed logins. Try again after" in waiting.get_data(as_text=True)
    now += users.FIRST_DELAY  # no lockout: the wait is short, and then the right password works
    assert log_in(client, "guard", PASSWORD).status_code == 302
    with session_scope(web_engine) as session:
        user = users.find_user(session, "guard")
        records = session.execute(sa.select(AuditRecord).where(AuditRecord.entity_id == str(user.id))).scalars()
        failed = [r for r in records if r.action == "user.login_failed"]
        assert len(failed) == users.FREE_FAILURES + 1
        assert all("wrong password" not in f"{r.before}{r.after}" for r in failed)


def test_many_failed_logins_from_one_address_make_it_wait(
    app: Flask, accounts: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    monkeypatch.setattr(auth, "clock", lambda: now)
    client = app.test_client()
    statuses = [log_in(client, f"nobody{i}", "wrong password").status_code for i in range(users.FREE_FAILURES + 2)]
    assert statuses == [401] * (users.FREE_FAILURES + 1) + [429]
    # The address waits even for a user none of its failures named.
    assert "Too many failed logins" in log_in(client, "guard").get_data(as_text=True)


def test_a_deactivated_user_is_logged_out_at_the_next_click(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(GUARD)
    assert guard.get("/visits").status_code == 200
    with session_scope(web_engine) as session:
        session.execute(sa.update(User).where(User.username == "guard").values(active=False))
    response = guard.get("/visits")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_redirects_only_to_this_site(app: Flask, accounts: dict[Role, str]) -> None:
    client = app.test_client()
    token = csrf_token(client)
    for target, expected in (
        ("/overview", "/overview"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        # Browsers drop tabs and line breaks and read a backslash as a slash: all of these are //evil.example.
        ("/%09/evil.example", "/"),
        ("/%0d%0a/evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/events?status=any", "/events?status=any"),
    ):
        client.post("/logout", data={"csrf_token": token})
        response = client.post(
            f"/login?next={target}",
            data={"username": "auditor", "password": PASSWORD, "csrf_token": csrf_token(client)},
        )
        assert response.headers["Location"] == expected


def test_session_cookie_is_httponly_lax_and_secure_outside_tests(
    web_settings: Settings, web_engine: sa.Engine, accounts: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWATCH_COOKIE_SECURE", raising=False)
    production = create_app(web_settings, web_engine)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("GATEWATCH_COOKIE_SECURE", "0")
    assert create_app(web_settings, web_engine).config["SESSION_COOKIE_SECURE"] is False
    client = create_app(web_settings, web_engine, testing=True).test_client()
    response = log_in(client, "guard")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_security_headers(client_for: Callable[[Role], FlaskClient]) -> None:
    headers = client_for(OPERATOR).get("/events").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_secret_key_is_kept_private_and_reused(
    web_settings: Settings, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWATCH_SECRET_KEY", raising=False)
    first = create_app(web_settings, web_engine, testing=True).secret_key
    second = create_app(web_settings, web_engine, testing=True).secret_key
    path = web_settings.data_dir / "secret_key"
    assert first == second and len(first) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("GATEWATCH_SECRET_KEY", "from-the-environment")
    assert create_app(web_settings, web_engine, testing=True).secret_key == "from-the-environment"


def test_the_last_admin_cannot_be_demoted_or_deactivated(
    web_engine: sa.Engine, accounts: dict[Role, str]
) -> None:
    with session_scope(web_engine) as session:
        admin = users.find_user(session, "admin")
        with pytest.raises(users.LastAdmin):
            users.update_user(session, admin.id, active=False, actor="test", actor_role="admin")
        with pytest.raises(users.LastAdmin):
            users.update_user(session, admin.id, role="guard", actor="test", actor_role="admin")
        users.create_user(session, "second", PASSWORD, "admin", actor="test", actor_role="admin")
        assert (
            users.update_user(session, admin.id, role="guard", actor="test", actor_role="admin").role
            == "guard"
        )


def test_tokens_are_stored_only_as_their_digest(web_engine: sa.Engine, accounts: dict[Role, str]) -> None:
    with session_scope(web_engine) as session:
        guard = users.find_user(session, "guard")
        row, token = users.issue_token(session, guard.id, "gate tablet", actor="test", actor_role="admin")
        assert token.startswith(users.TOKEN_PREFIX)
        assert row.token_sha256 == users.token_digest(token) != token
        assert users.user_for_token(session, token).username == "guard"
        assert users.user_for_token(session, token + "x") is None
        users.revoke_token(session, row.id, actor="test", actor_role="admin")
        assert users.user_for_token(session, token) is None
        assert row.revoked_at is not None and row.revoked_at <= utcnow()
