"""Devices from the command line: added without a password, given a token, never able to log in,
and the analysis commands leave an external camera alone."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlmodel import Session

from gatewatch.accounts import users
from gatewatch.cli.analysis import process, worker
from gatewatch.cli.users import tokens
from gatewatch.cli.users import users as users_command
from gatewatch.models.db import make_engine
from gatewatch.models.enums import Role


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "GATEWATCH_DETECTOR__MODEL": "yolo11n.pt",
        "GATEWATCH_DATA_DIR": str(tmp_path / "data"),
        "GATEWATCH_CONFIG": "",
    }


def _run(environment: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    group = click.Group("gatewatch", commands=[users_command, tokens, process, worker])
    return CliRunner().invoke(group, list(args), input=stdin, env=environment, catch_exceptions=False)


def test_a_device_is_added_without_a_password_and_told_how_to_get_a_token(
    environment: dict[str, str], tmp_path: Path
) -> None:
    added = _run(environment, "users", "add", "anpr-gate", "--role", "device", stdin="")
    assert added.exit_code == 0, added.output
    assert "tokens issue anpr-gate --name" in added.output
    issued = _run(environment, "tokens", "issue", "anpr-gate", "--name", "ANPR at the truck gate")
    assert issued.exit_code == 0 and issued.stdout.strip().startswith(users.TOKEN_PREFIX)
    listed = _run(environment, "users", "list")
    assert "anpr-gate" in listed.output and "device" in listed.output
    engine = make_engine(f"sqlite:///{(tmp_path / 'data' / 'gatewatch.db').resolve()}")
    with Session(engine) as session:
        device = users.find_user(session, "anpr-gate")
        assert device is not None and device.role == Role.DEVICE
        assert device.password_hash == users.NO_PASSWORD
        with pytest.raises(users.LoginRefused, match="wrong username or password"):
            users.verify_login(session, "anpr-gate", "")
        with pytest.raises(users.DeviceHasNoPassword):
            users.set_password(session, device.id, "a-long-password-1", actor="test", actor_role="test")
        with pytest.raises(users.RoleKindChange):
            users.update_user(session, device.id, role="admin", actor="test", actor_role="test")
        assert users.user_for_token(session, issued.stdout.strip()) == device
    engine.dispose()


def test_the_analysis_commands_refuse_an_external_camera(environment: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"),
        "detector": {"model": "yolo11n.pt"},
        "cameras": [{"id": "nvr", "name": "NVR", "source": "external"}],
    }))
    env = {**environment, "GATEWATCH_CONFIG": str(config)}
    for args in (("worker", "--camera", "nvr"), ("process", str(tmp_path / "any.mp4"), "--camera", "nvr")):
        result = _run(env, *args)
        assert result.exit_code == 2, result.output
        assert "camera 'nvr' is external" in result.output
