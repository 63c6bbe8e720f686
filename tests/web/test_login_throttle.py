"""Failed logins are counted in the database, per address and per username: every web worker
and server and every restart see the same count. Waits grow with each failure; a stranger's
address soon waits long, the username only briefly, so nobody can keep a user out from
elsewhere. Unknown usernames are answered exactly like real ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, LoginThrottle
from gatewatch.settings import Settings
from gatewatch.web import auth
from gatewatch.web.app import create_app
from tests.web_helpers import PASSWORD, log_in

STRANGER, OFFICE = "10.9.9.9", "10.1.1.1"


class Clock:
    """A clock the test moves by hand, used by the login for every wait."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(auth, "clock", fixed, raising=False)  # (raising: so the tests run on code before it)
    return fixed


def _client(app: Flask, address: str = STRANGER) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # every request comes from this address
    return client


def _throttle(engine: sa.Engine, scope: str) -> LoginThrottle | None:
    with Session(engine) as session:
        return session.get(LoginThrottle, scope)


def _wait(engine: sa.Engine, scope: str, now: datetime) -> timedelta:
    row = _throttle(engine, scope)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return timedelta(0)
    return row.blocked_until - now


def _error(response: object) -> str:
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    start = page.index('id="login-error">') + len('id="login-error">')
    return page[start : page.index("</div>", start)]


def test_two_workers_on_one_database_share_the_count(
    web_settings: Settings, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    first = _client(create_app(web_settings, web_engine, testing=True))
    second = _client(create_app(web_settings, web_engine, testing=True))
    for attempt in range(users.FREE_FAILURES + 1):
        worker = first if attempt % 2 else second
        assert log_in(worker, "guard", "wrong password").status_code == 401
    # Each worker saw only half of the failures, yet both make the next attempt wait.
    assert log_in(first, "guard").status_code == 429
    assert log_in(second, "guard").status_code == 429


def test_a_restart_keeps_the_count(
    web_settings: Settings, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    before = _client(create_app(web_settings, web_engine, testing=True))
    for _attempt in range(users.FREE_FAILURES + 1):
        assert log_in(before, "admin", "wrong password").status_code == 401
    after_restart = _client(create_app(web_settings, web_engine, testing=True))
    response = log_in(after_restart, "admin")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


def test_unknown_and_real_usernames_get_the_same_answers(
    app: Flask,
    web_engine: sa.Engine,
    accounts: dict[Role, str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[str] = []
    real_check = users.check_password_hash

    def counting_check(pwhash: str, password: str) -> bool:
        hashed.append(password)
        return real_check(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting_check)
    answers: dict[str, list[tuple[int, str, int]]] = {}
    start = clock.now
    for username, address in (("admin", "10.0.0.1"), ("no-such-user", "10.0.0.2")):
        clock.now = start  # the same moments for both, so the waits named are comparable
        client = _client(app, address)
        answers[username] = []
        for _attempt in range(users.FREE_FAILURES + 3):
            hashed.clear()
            response = log_in(client, username, "wrong password")
            # A password is hashed exactly when a real one would be: the same work, the same time.
            answers[username].append((response.status_code, _error(response), len(hashed)))
    assert answers["admin"] == answers["no-such-user"]
    assert [status for status, _text, _hashes in answers["admin"]] == [401] * (users.FREE_FAILURES + 1) + [
        429
    ] * 2
    assert "Too many failed logins. Try again after" in answers["admin"][-1][1]
    assert "locked" not in str(answers)
    assert _throttle(web_engine, "user:no-such-user") is not None


def test_waits_double_and_the_username_waits_far_less_than_the_address(
    app: Flask, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    stranger = _client(app, STRANGER)
    address_waits, username_waits = [], []
    for _attempt in range(users.FREE_FAILURES + 12):
        assert log_in(stranger, "admin", "wrong password").status_code == 401
        address_waits.append(_wait(web_engine, f"addr:{STRANGER}", clock.now).total_seconds())
        username_waits.append(_wait(web_engine, "user:admin", clock.now).total_seconds())
        clock.now += timedelta(seconds=address_waits[-1])
    free = [0.0] * users.FREE_FAILURES
    assert address_waits == free + [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert username_waits == free + [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]


def test_a_stranger_cannot_keep_the_admin_out_from_another_address(
    app: Flask, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    stranger, office = _client(app, STRANGER), _client(app, OFFICE)
    for _attempt in range(users.FREE_FAILURES + 15):  # as fast as the stranger's own wait allows
        log_in(stranger, "admin", "wrong password")
        clock.now += _wait(web_engine, f"addr:{STRANGER}", clock.now)
    assert log_in(stranger, "admin", "wrong password").status_code == 401  # its wait has just run out
    assert log_in(stranger, "admin", "wrong password").status_code == 429
    clock.now += users.USERNAME_MAX_DELAY
    assert log_in(stranger, "admin", PASSWORD).status_code == 429  # the stranger's address still waits
    assert log_in(office, "admin").status_code == 302  # the admin, from the office, is in
    with Session(web_engine) as session:
        failed = session.exec(select(AuditRecord).where(AuditRecord.action == "user.login_failed")).all()
    assert len(failed) == users.FREE_FAILURES + 16
    assert all("wrong password" not in f"{r.before}{r.after}" for r in failed)


def test_a_success_clears_the_address_and_the_username(
    app: Flask, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    client = _client(app, OFFICE)
    for _attempt in range(users.FREE_FAILURES + 1):
        log_in(client, "guard", "wrong password")
    clock.now += users.FIRST_DELAY
    assert log_in(client, "guard").status_code == 302
    assert _throttle(web_engine, f"addr:{OFFICE}") is None
    assert _throttle(web_engine, "user:guard") is None
    client.post("/logout", data={"csrf_token": ""})
    fresh = _client(app, OFFICE)
    for _attempt in range(users.FREE_FAILURES):
        assert log_in(fresh, "guard", "wrong password").status_code == 401
    assert _wait(web_engine, "user:guard", clock.now) == timedelta(0)


def test_old_failures_are_forgotten(
    app: Flask, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    client = _client(app, OFFICE)
    for _attempt in range(users.FREE_FAILURES):
        log_in(client, "guard", "wrong password")
    clock.now += users.THROTTLE_MEMORY + timedelta(minutes=1)
    assert log_in(client, "guard", "wrong password").status_code == 401
    assert _throttle(web_engine, "user:guard").failures == 1
    assert _wait(web_engine, "user:guard", clock.now) == timedelta(0)


def test_an_ipv6_client_counts_as_its_network(app: Flask, accounts: dict[Role, str], clock: Clock) -> None:
    for number in range(users.FREE_FAILURES + 1):  # a new address of the same /64 each time
        client = _client(app, f"2001:db8:1:2::{number + 1:x}")
        assert log_in(client, f"nobody{number}", "wrong password").status_code == 401
    assert log_in(_client(app, "2001:db8:1:2::ff"), "guard").status_code == 429
    assert log_in(_client(app, "2001:db8:1:3::1"), "guard").status_code == 302


def test_a_new_password_set_by_an_admin_lifts_the_username_wait(
    app: Flask, web_engine: sa.Engine, accounts: dict[Role, str], clock: Clock
) -> None:
    stranger = _client(app, STRANGER)
    for _attempt in range(users.FREE_FAILURES + 3):
        log_in(stranger, "guard", "wrong password")
        clock.now += _wait(web_engine, f"addr:{STRANGER}", clock.now) - users.FIRST_DELAY
    with session_scope(web_engine) as session:
        guard = users.find_user(session, "guard")
        users.set_password(session, guard.id, "a-new-password-2", actor="admin", actor_role="admin")
    assert log_in(_client(app, OFFICE), "guard", "a-new-password-2").status_code == 302
