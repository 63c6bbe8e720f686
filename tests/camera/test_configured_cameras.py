"""The configured cameras are known from the first command: a fresh installation imports the sample
visitor log, whose rows name the gates, before any worker ran, even for a camera that is down."""

from __future__ import annotations

import csv
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.camera.footage import sync_configured_cameras
from gatewatch.cli.main import main
from gatewatch.models.db import make_engine
from gatewatch.models.tables import Camera, Visit
from gatewatch.settings import CameraSettings
from tests.held_locks import held_write_lock
from tests.shared_files import MODEL, SAMPLE_CONFIG

SAMPLE_VISITS = SAMPLE_CONFIG.parent / "visits.csv"
#: The street gate's camera at installation: unreachable (nothing listens on port 9), with credentials.
DOWN_CAMERA = "rtsp://admin:s3cret-pass@127.0.0.1:9/stream1"


def camera(name: str = "Gate 1", source: str = DOWN_CAMERA) -> CameraSettings:
    return CameraSettings.model_validate({"id": "gate-1", "name": name, "source": source,
                                          "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}})


def rows(engine: sa.Engine) -> dict[str, Camera]:
    with Session(engine) as session:
        return {row.id: row for row in session.exec(select(Camera))}


def test_a_fresh_installation_imports_the_sample_visitor_log(tmp_path: Path, database_url: str) -> None:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = str(MODEL)
    raw["cameras"][0]["source"] = DOWN_CAMERA
    config = tmp_path / "gatewatch.yaml"
    config.write_text(yaml.safe_dump(raw))
    engine = make_engine(database_url)
    assert rows(engine) == {}  # fresh: no worker ever ran

    result = CliRunner().invoke(main, ["visits", "import", str(SAMPLE_VISITS), "--config", str(config),
                                       "--db", database_url, "--by", "cli:test"], env={"GATEWATCH_CONFIG": None})

    with SAMPLE_VISITS.open(newline="", encoding="utf-8") as sample:
        expected = list(csv.DictReader(sample))
    assert result.exit_code == 0, result.output
    assert f"{len(expected)} visits imported" in result.output
    with Session(engine) as session:
        imported = session.exec(select(Visit).order_by(Visit.id)).all()
    assert [(v.visitor_name, v.camera_id) for v in imported] == [(r["visitor_name"], r["camera_id"]) for r in expected]
    cameras = rows(engine)
    assert sorted(cameras) == ["street-gate", "vehicle-gate"]
    street = cameras["street-gate"]
    assert "s3cret-pass" not in street.source and "127.0.0.1:9/stream1" in street.source  # masked for showing
    assert (street.connected, street.last_frame_at, street.reconnects) == (False, None, 0)  # no worker said so
    engine.dispose()


def test_syncing_again_changes_the_name_and_source_never_the_status(database_url: str) -> None:
    engine = make_engine(database_url)
    assert sync_configured_cameras(engine, [camera()])
    seen = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    with Session(engine) as session:
        row = session.get(Camera, "gate-1")
        row.connected, row.last_frame_at, row.reconnects, row.status_note = True, seen, 3, "RTSP timeout"
        session.add(row)
        session.commit()

    assert sync_configured_cameras(engine, [camera()])  # the same configuration: nothing changes
    assert sync_configured_cameras(engine, [camera("Front gate", "rtsp://10.0.0.7/main")])

    (row,) = rows(engine).values()
    assert (row.name, row.source) == ("Front gate", "rtsp://10.0.0.7/main")
    assert (row.connected, row.last_frame_at, row.reconnects, row.status_note) == (True, seen, 3, "RTSP timeout")
    engine.dispose()


def test_a_database_that_cannot_take_the_rows_now_gets_a_warning_not_an_error(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(database_url)
    with caplog.at_level(logging.WARNING, "gatewatch.camera.footage"), held_write_lock(engine, "camera"):
        assert not sync_configured_cameras(engine, [camera()])
    assert "the configured cameras could not be written" in caplog.text
    assert "s3cret-pass" not in caplog.text
    assert rows(engine) == {}
    assert sync_configured_cameras(engine, [camera()])  # the next start writes them
    assert list(rows(engine)) == ["gate-1"]
    engine.dispose()
