"""The camera's status row tells an operator when analysis falls behind the camera, and why."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import Camera
from gatewatch.vision.runstats import RunStats
from gatewatch.worker import CameraStatus


def status_row(tmp_path: Path, frames: int, seconds: float, dropped: int = 0) -> Camera:
    engine = make_engine(f"sqlite:///{tmp_path / 'gatewatch.db'}")
    migrate(engine)
    with Session(engine) as session:
        session.add(Camera(id="gate-1", name="Gate 1", source="rtsp://camera/1"))
        session.commit()
    stats = RunStats()
    status = CameraStatus(engine, "gate-1", interval=2.0)
    status.follow(stats, 30.0)
    stats.frames, stats.analysed, stats.dropped, stats.seconds = frames, frames // 2, dropped, seconds
    stats.stages.add("detect", seconds * 0.8)
    status.on_frame(None)  # type: ignore[arg-type]  # the frame itself is not looked at
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
