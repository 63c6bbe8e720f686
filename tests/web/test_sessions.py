"""Web sessions end when they should: at logout (copies of the cookie too), when an admin sets a
new password, deactivates the user or changes the role, and a fixed time after the login
however busy the session was. Logging in starts a new session. API tokens are not sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gatewatch.accounts import users
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.web import auth
from tests.web_helpers import PASSWORD, csrf_token, log_in, post_form

COOKIE = "gatewatch_session"


def _copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (stolen, or a second tab)."""
    copy = app.test_client()
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    copy.set_cookie(COOKIE, cookie.value)
    return copy


def _logged_out(client: FlaskClient) -> bool:
    response = client.get("/visits")
    if response.status_code == 200:
        return False
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return True


def _user_id(engine: sa.Engine, username: str) -> int:
    with session_scope(engine) as session:
        return users.find_user(session, username).id


def test_a_copied_session_cookie_is_refused_after_logout(
    app: Flask, client_for: Callable[[Role], FlaskClient]
) -> None:
    guard = client_for(Role.GUARD)
    copy = _copy_of(guard, app)
    assert not _logged_out(copy)
    response = post_form(guard, "/logout", page="/visits")
    assert response.status_code == 302
    assert _logged_out(guard)
    assert _logged_out(copy)


def test_logging_out_and_in_again_gives_a_working_session_with_working_forms(
    client_for: Callable[[Role], FlaskClient],
) -> None:
    guard = client_for(Role.GUARD)
    post_form(guard, "/logout", page="/visits")
    assert log_in(guard, "guard").status_code == 302
    assert not _logged_out(guard)
    # The new session has its own CSRF token, and forms work with it.
    assert post_form(guard, "/logout", page="/visits").status_code == 302


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/users/{id}/password", {"password": "a-new-password-2"}),
        ("/admin/users/{id}", {"active": "0"}),
        ("/admin/users/{id}", {"role": "operator"}),
    ],
    ids=["password reset", "deactivation", "role change"],
)
def test_an_admin_change_ends_the_users_sessions(
    app: Flask,
    client_for: Callable[[Role], FlaskClient],
    web_engine: sa.Engine,
    path: str,
    form: dict[str, str],
) -> None:
    guard = client_for(Role.GUARD)
    copy = _copy_of(guard, app)
    admin = client_for(Role.ADMIN)
    assert not _logged_out(guard)
    response = post_form(admin, path.format(id=_user_id(web_engine, "guard")), form, page="/admin/users")
    assert response.status_code == 303
    assert _logged_out(guard)
    assert _logged_out(copy)
    assert not _logged_out(admin)  # the admin's own session goes on


def test_a_reactivated_user_needs_a_new_login(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    guard_id = _user_id(web_engine, "guard")
    with session_scope(web_engine) as session:
        users.update_user(session, guard_id, active=False, actor="test", actor_role="admin")
        users.update_user(session, guard_id, active=True, actor="test", actor_role="admin")
    assert _logged_out(guard)
    assert log_in(guard, "guard").status_code == 302
    assert not _logged_out(guard)


def test_a_language_change_keeps_the_session(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    with session_scope(web_engine) as session:
        users.update_user(
            session, _user_id(web_engine, "guard"), locale="id", actor="test", actor_role="guard"
        )
    assert not _logged_out(guard)


def test_logging_in_starts_a_new_session(app: Flask, accounts: dict[Role, str]) -> None:
    client = app.test_client()
    token_before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "set before the login"
    assert log_in(client, "guard").status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
    assert csrf_token(client, "/visits") != token_before  # no token of before the login is valid
    assert not _logged_out(client)


def test_a_session_of_the_old_form_without_its_version_is_refused(
    app: Flask, accounts: dict[Role, str], web_engine: sa.Engine
) -> None:
    client = app.test_client()
    assert log_in(client, "guard").status_code == 302
    with client.session_transaction() as session:
        session["_user_id"] = str(_user_id(web_engine, "guard"))
    assert _logged_out(client)


def test_a_session_ends_a_fixed_time_after_its_login_however_busy(
    app: Flask, accounts: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime.now(UTC)
    now = start
    monkeypatch.setattr(auth, "clock", lambda: now)
    client = app.test_client()
    assert log_in(client, "guard").status_code == 302
    limit = app.config["ABSOLUTE_SESSION_LIFETIME"]
    assert limit == auth.ABSOLUTE_SESSION_LIFETIME
    while now < start + limit - timedelta(hours=1):  # a request every hour: never idle
        now += timedelta(hours=1)
        assert not _logged_out(client)
    now = start + limit + timedelta(minutes=5)
    assert _logged_out(client)
    assert log_in(client, "guard").status_code == 302
    assert not _logged_out(client)


def test_api_tokens_keep_working_after_the_users_logout(
    app: Flask, client_for: Callable[[Role], FlaskClient], token_for: Callable[[Role], dict[str, str]]
) -> None:
    headers = token_for(Role.GUARD)
    guard = client_for(Role.GUARD)
    post_form(guard, "/logout", page="/visits")
    assert app.test_client().get("/api/v1/visits", headers=headers).status_code == 200


def test_a_password_reset_on_the_command_line_side_ends_sessions_too(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    with session_scope(web_engine) as session:
        users.set_password(
            session, _user_id(web_engine, "guard"), PASSWORD + "x", actor="test", actor_role="admin"
        )
    assert _logged_out(guard)
