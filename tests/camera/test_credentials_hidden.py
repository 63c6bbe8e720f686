"""A camera's password stays out of everything a failing stream leaves behind: the status note every
role reads on the Cameras page and in the API, the audit trail, the worker's log; and out of the
command line's errors, a stream taken for a file or a configuration file that is not valid YAML."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.camera import worker
from gatewatch.camera.worker import CameraStatus, run_camera
from gatewatch.cli.main import main
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Camera
from gatewatch.settings import ConfigError, Settings, load_settings
from gatewatch.web.app import create_app
from tests.conftest import CAMERA_ID
from tests.web_helpers import PASSWORD, log_in

SECRET = "s3cret"
#: Nothing listens on port 9 (discard): the open fails at once, and FFmpeg's error quotes the URL.
UNREACHABLE = f"rtsp://admin:{SECRET}@127.0.0.1:9/stream"


def _stop_after_first_failure(monkeypatch: pytest.MonkeyPatch, stop: threading.Event) -> None:
    """The worker's own backoff (and its log line) runs once, then the worker stops instead of waiting."""
    back_off = worker._back_off

    def once(camera_id: str, failures: int, reason: str, _stop: threading.Event) -> None:
        stop.set()
        back_off(camera_id, failures, reason, stop)

    monkeypatch.setattr(worker, "_back_off", once)


def _camera(engine: sa.Engine) -> Camera:
    with Session(engine) as session:
        return session.get(Camera, CAMERA_ID)


def _audited_reasons(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        records = session.exec(select(AuditRecord).where(AuditRecord.action == "camera.disconnected")).all()
        return [record.after or "" for record in records]


def _guard(engine: sa.Engine, settings: Settings) -> FlaskClient:
    with session_scope(engine) as session:
        users.create_user(session, "guard", PASSWORD, Role.GUARD.value, full_name="Test guard", actor="test",
                          actor_role="test")
    client = create_app(settings, engine, testing=True).test_client()
    assert log_in(client, "guard").status_code == 302
    return client


def _shown(client: FlaskClient) -> Callable[[], list[str]]:
    return lambda: [client.get("/cameras").get_data(as_text=True), client.get("/api/v1/cameras").get_data(as_text=True)]


def test_a_stream_that_fails_leaves_no_password_anywhere(
    engine: sa.Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    camera = settings.cameras[0].model_copy(update={"source": UNREACHABLE})
    stop = threading.Event()
    _stop_after_first_failure(monkeypatch, stop)
    with caplog.at_level(logging.DEBUG):
        run_camera(engine, settings, camera, stop)

    note = _camera(engine).status_note
    assert note and "rtsp://***@127.0.0.1:9/stream" in note and SECRET not in note
    reasons = _audited_reasons(engine)
    assert reasons and all(SECRET not in reason for reason in reasons)
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert [r.getMessage() for r in caplog.records if SECRET in r.getMessage()] == []
    for answer in _shown(_guard(engine, settings))():
        assert "rtsp://***@127.0.0.1:9/stream" in answer and SECRET not in answer


def test_the_status_row_masks_a_reason_that_came_in_clear(engine: sa.Engine) -> None:
    """The worker's last line of defence: a failure that is not a SourceError may quote the URL too."""
    status = CameraStatus(engine, CAMERA_ID, live=True)
    status.disconnected(f"unexpected: {UNREACHABLE} refused", count_reconnect=False)
    assert _camera(engine).status_note == "unexpected: rtsp://***@127.0.0.1:9/stream refused"
    assert all(SECRET not in reason for reason in _audited_reasons(engine))


def test_a_note_stored_before_redaction_is_not_shown(engine: sa.Engine, settings: Settings) -> None:
    """Reading is the web's last line of defence: a note written by an older worker still holds the URL."""
    with session_scope(engine) as session:
        row = session.get(Camera, CAMERA_ID)
        row.status_note = f"stream {UNREACHABLE} cannot be opened"
        session.add(row)
    for answer in _shown(_guard(engine, settings))():
        assert "stream rtsp://***@127.0.0.1:9/stream cannot be opened" in answer and SECRET not in answer


def _config(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude={"config"})))
    return path


def test_a_stream_given_as_footage_is_refused_without_its_password(tmp_path: Path, settings: Settings) -> None:
    """``process`` takes a file: the URL comes back as a path that does not exist, ``rtsp:/admin:...``."""
    result = CliRunner().invoke(main, ["process", UNREACHABLE, "--camera", CAMERA_ID,
                                       "--config", str(_config(tmp_path, settings))])
    assert result.exit_code == 1, result.output
    assert "does not exist" in result.output and SECRET not in result.output


def test_a_configuration_that_is_not_yaml_is_refused_without_quoting_the_source(tmp_path: Path) -> None:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(f"cameras:\n  - id: gate\n\tsource: {UNREACHABLE}\n")
    with pytest.raises(ConfigError) as failure:
        load_settings(path)
    message = str(failure.value)
    assert "is not valid YAML" in message and "line 3, column 1" in message
    assert SECRET not in message
