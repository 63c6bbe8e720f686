"""The camera's status row tells an operator when analysis falls behind the camera, and why;
the audit trail keeps every outage of a live camera."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.worker import CameraStatus
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import AuditRecord, Camera
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame


def camera_database(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'gatewatch.db'}")
    migrate(engine)
    with Session(engine) as session:
        session.add(Camera(id="gate-1", name="Gate 1", source="rtsp://camera/1"))
        session.commit()
    return engine


def status_row(tmp_path: Path, frames: int, seconds: float, dropped: int = 0) -> Camera:
    engine = camera_database(tmp_path)
    stats = RunStats()
    status = CameraStatus(engine, "gate-1", interval=2.0)
    status.follow(stats, 30.0)
    stats.frames, stats.analysed, stats.dropped, stats.seconds = frames, frames // 2, dropped, seconds
    stats.stages.add("detect", seconds * 0.8)
    status.on_frame(Frame(frames, datetime.now(UTC), None))  # type: ignore[arg-type]  # only its time is read
    with Session(engine) as session:
        row = session.get(Camera, "gate-1")
    engine.dispose()
    return row


def test_keeping_up_shows_the_rate_and_no_note(tmp_path: Path) -> None:
    row = status_row(tmp_path, frames=90, seconds=3.0)
    assert row.connected and row.frames_per_second == 30.0
    assert row.status_note is None


def test_falling_behind_says_so_with_the_costliest_stage_first(tmp_path: Path) -> None:
    row = status_row(tmp_path, frames=60, seconds=3.0, dropped=30)
    assert row.frames_per_second == 20.0
    assert row.status_note.startswith("behind real time: 60 frames at 20.0 frames/s (0.67x real time)")
    assert "30 dropped" in row.status_note and "ms per frame: detect 40.0" in row.status_note


def test_nothing_is_written_before_the_interval_is_over(tmp_path: Path) -> None:
    row = status_row(tmp_path, frames=30, seconds=1.0)
    assert row.frames_per_second is None and not row.connected


def camera_audit(engine: sa.Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.entity == "camera").order_by(AuditRecord.seq)))


def test_an_outage_is_audited_once_from_the_first_failure_to_the_next_frame(tmp_path: Path) -> None:
    engine = camera_database(tmp_path)
    status = CameraStatus(engine, "gate-1", live=True)
    status.disconnected("stream rtsp://camera/1 ended after frame 900", count_reconnect=True)
    status.disconnected("stream rtsp://camera/1 cannot be opened: Connection refused", count_reconnect=True)
    with Session(engine) as session:
        down = session.get(Camera, "gate-1")
    assert not down.connected and down.reconnects == 2 and "cannot be opened" in down.status_note

    status.follow(RunStats(), 30.0, attempts=2)
    status.on_frame(Frame(0, datetime.now(UTC), None))  # type: ignore[arg-type]  # only its time is read
    status.on_frame(Frame(1, datetime.now(UTC), None))  # type: ignore[arg-type]
    with Session(engine) as session:
        up = session.get(Camera, "gate-1")
    assert up.connected and up.status_note is None and up.last_frame_at is not None and up.reconnects == 2

    disconnected, reconnected = camera_audit(engine)
    assert (disconnected.action, disconnected.actor, disconnected.role) == ("camera.disconnected", "worker", "system")
    assert json.loads(disconnected.after) == {"reason": "stream rtsp://camera/1 ended after frame 900"}
    assert reconnected.action == "camera.reconnected" and reconnected.entity_id == "gate-1"
    after = json.loads(reconnected.after)
    assert after["attempts"] == 2 and 0 <= after["outage_seconds"] < 5
    engine.dispose()


def test_a_file_camera_that_fails_leaves_no_outage_in_the_audit_trail(tmp_path: Path) -> None:
    engine = camera_database(tmp_path)
    status = CameraStatus(engine, "gate-1")
    status.disconnected("gate.mp4 is damaged after frame 20", count_reconnect=True)
    assert camera_audit(engine) == []
    engine.dispose()
