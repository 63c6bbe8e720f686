"""The demo password opens an account only from the computer gatewatch runs on, however the app
is served; and a server answers only to the host names it is told (DNS rebinding)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from gatewatch.accounts import users
from gatewatch.cli import serve
from gatewatch.cli.demo import DEMO_PASSWORD
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.settings import Settings
from gatewatch.web.app import create_app
from tests.web_helpers import PASSWORD, csrf_token, log_in

MESSAGE = "still has the demo password, which works only on the computer gatewatch runs on"
MESSAGE_ID = "masih memakai kata sandi demo"


@pytest.fixture
def demo_users(web_engine: sa.Engine, accounts: dict[Role, str]) -> None:
    with session_scope(web_engine) as session:
        users.create_user(session, "demo-admin", DEMO_PASSWORD, "admin", actor="test", actor_role="test")


def _client(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.20", "2001:db8::5", ""])
def test_the_demo_password_is_refused_over_the_network(app: Flask, demo_users: None, address: str) -> None:
    response = log_in(_client(app, address), "demo-admin", DEMO_PASSWORD)
    assert response.status_code == 401
    assert MESSAGE in response.get_data(as_text=True)
    assert DEMO_PASSWORD not in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_the_demo_password_works_on_the_computer_itself(app: Flask, demo_users: None, address: str) -> None:
    client = _client(app, address)
    assert log_in(client, "demo-admin", DEMO_PASSWORD).status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_a_real_password_works_from_anywhere(app: Flask, demo_users: None) -> None:
    assert log_in(_client(app, "10.0.0.5"), "guard", PASSWORD).status_code == 302


def test_the_refusal_is_in_the_sites_language(
    web_settings: Settings, web_engine: sa.Engine, demo_users: None
) -> None:
    indonesian = create_app(web_settings.model_copy(update={"language": "id"}), web_engine, testing=True)
    response = log_in(_client(indonesian, "10.0.0.5"), "demo-admin", DEMO_PASSWORD)
    assert response.status_code == 401
    assert MESSAGE_ID in response.get_data(as_text=True)


def test_behind_a_proxy_the_forwarded_address_counts(
    web_settings: Settings, web_engine: sa.Engine, demo_users: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWATCH_PROXY_HOPS", "1")
    proxied = create_app(web_settings, web_engine, testing=True)
    client = _client(proxied, "127.0.0.1")  # the proxy on this computer
    token = csrf_token(client)
    form = {"username": "demo-admin", "password": DEMO_PASSWORD, "csrf_token": token}
    remote = client.post("/login", data=form, headers={"X-Forwarded-For": "10.0.0.5"})
    assert remote.status_code == 401 and MESSAGE in remote.get_data(as_text=True)
    local = client.post("/login", data=form, headers={"X-Forwarded-For": "127.0.0.1"})
    assert local.status_code == 302


# --- trusted hosts -----------------------------------------------------------------------------


def test_a_foreign_host_gets_400_never_500(
    web_settings: Settings, web_engine: sa.Engine, accounts: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWATCH_TRUSTED_HOSTS", " gate.example.id , 10.1.2.3 ")
    app = create_app(web_settings, web_engine, testing=True)
    assert app.config["TRUSTED_HOSTS"] == ["gate.example.id", "10.1.2.3"]
    client = app.test_client()
    for method, path in (
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/visits"),
        ("GET", "/api/v1/health"),
        ("GET", "/no-such-page"),
        ("POST", "/logout"),
    ):
        response = client.open(path, method=method, headers={"Host": "rebound.attacker.example"})
        assert response.status_code == 400, (method, path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for host in ("gate.example.id", "gate.example.id:8443", "10.1.2.3"):
        assert client.get("/login", headers={"Host": host}).status_code == 200, host
    # A browser that reached the site by its name logs in as usual.
    named = {"Host": "gate.example.id"}
    page = client.get("/login", headers=named).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": "guard", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, headers=named).status_code == 302
    assert client.get("/visits", headers=named).status_code == 200


def test_without_the_setting_any_host_is_served(
    web_settings: Settings, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWATCH_TRUSTED_HOSTS", raising=False)
    app = create_app(web_settings, web_engine, testing=True)
    assert app.config["TRUSTED_HOSTS"] is None
    assert app.test_client().get("/login", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize(
    ("host", "environment", "expected"),
    [
        ("127.0.0.1", None, ["localhost", "127.0.0.1"]),
        ("localhost", None, ["localhost", "127.0.0.1"]),
        ("0.0.0.0", None, None),
        ("127.0.0.1", "gate.example.id", ["gate.example.id"]),
    ],
)
def test_serve_and_the_demo_on_loopback_answer_only_to_loopback_names(
    web_settings: Settings,
    web_engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    environment: str | None,
    expected: list[str] | None,
) -> None:
    if environment is None:
        monkeypatch.delenv("GATEWATCH_TRUSTED_HOSTS", raising=False)
    else:
        monkeypatch.setenv("GATEWATCH_TRUSTED_HOSTS", environment)
    served: list[Flask] = []
    monkeypatch.setattr(Flask, "run", lambda self, **_kwargs: served.append(self))

    class FakeApp:
        settings = web_settings
        engine = web_engine

    serve.run_dev_server(FakeApp(), host, 8000)  # type: ignore[arg-type]
    assert served[0].config["TRUSTED_HOSTS"] == expected
    if expected:
        client = served[0].test_client()
        assert client.get("/login", headers={"Host": "rebound.attacker.example:8000"}).status_code == 400
        assert client.get("/login", headers={"Host": f"{expected[0]}:8000"}).status_code == 200
