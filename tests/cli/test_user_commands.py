"""The web app's commands: users and tokens from the command line, and the development server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session

from gatewatch.accounts import users
from gatewatch.cli.serve import serve
from gatewatch.cli.users import tokens
from gatewatch.cli.users import users as users_command
from gatewatch.models.db import make_engine

PASSWORD = "gate-password-1"


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """Settings from the environment alone: an empty data directory and database."""
    return {
        "GATEWATCH_DETECTOR__MODEL": "yolo11n.pt",
        "GATEWATCH_DATA_DIR": str(tmp_path / "data"),
        "GATEWATCH_CONFIG": "",
    }


Run = Callable[..., Result]


@pytest.fixture
def run(environment: dict[str, str]) -> Run:
    group = click.Group("gatewatch", commands=[users_command, tokens, serve])
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(group, list(args), input=stdin, env=environment, catch_exceptions=False)

    return invoke


def _database(environment: dict[str, str]) -> str:
    return f"sqlite:///{Path(environment['GATEWATCH_DATA_DIR']).resolve() / 'gatewatch.db'}"


def test_users_are_added_with_a_password_from_stdin_and_listed(run: Run, environment: dict[str, str]) -> None:
    added = run(
        "users", "add", "siti", "--role", "guard", "--full-name", "Siti Aminah", stdin=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert "user siti (guard) created" in added.output
    with Session(make_engine(_database(environment))) as session:
        assert users.verify_login(session, "siti", PASSWORD).full_name == "Siti Aminah"
    listed = run("users", "list")
    assert "siti" in listed.output and "guard" in listed.output and "active" in listed.output
    again = run("users", "add", "siti", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.exit_code == 2 and "is taken" in again.output
    short = run("users", "add", "budi", "--role", "guard", stdin="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output


def test_a_token_is_printed_once_and_can_be_revoked(run: Run, environment: dict[str, str]) -> None:
    run("users", "add", "reporter", "--role", "auditor", stdin=PASSWORD + "\n")
    issued = run("tokens", "issue", "reporter", "--name", "monthly report")
    assert issued.exit_code == 0
    token = issued.stdout.strip().splitlines()[-1]
    with Session(make_engine(_database(environment))) as session:
        assert users.user_for_token(session, token).username == "reporter"
    assert token not in run("tokens", "list").output
    assert "monthly report" in run("tokens", "list").output
    assert run("tokens", "revoke", "1").exit_code == 0
    with Session(make_engine(_database(environment))) as session:
        assert users.user_for_token(session, token) is None
    assert run("tokens", "revoke", "1").exit_code == 2
    assert run("tokens", "issue", "nobody", "--name", "x").exit_code == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_runs_the_app_on_an_empty_database(environment: dict[str, str]) -> None:
    port = _free_port()
    code = "from gatewatch.cli.serve import serve; serve()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port)],
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as login:
            cookie = login.headers["Set-Cookie"]
        assert (
            "gatewatch_session=" in cookie and "Secure" not in cookie
        )  # plain HTTP: a Secure cookie is lost
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert (Path(environment["GATEWATCH_DATA_DIR"]) / "gatewatch.db").exists()
