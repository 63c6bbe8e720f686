"""Each status window writes the camera's load on the box and whether overload degraded it, on
SQLite and PostgreSQL; a clean window clears the degraded flag, and a stopped or disconnected
camera keeps neither load nor flag."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gatewatch.camera.worker import CameraStatus
from gatewatch.models.tables import Camera
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame
from tests.camera_rows import camera_engine, row  # noqa: F401 - the fixture "engine"


def window(stats: RunStats, status: CameraStatus, *, frames: int = 90, seconds: float = 3.0, work: float = 1.86,
           degraded: int = 0, dropped: int = 0, near_line: int = 0) -> Camera:
    """Add a window of ``seconds`` to ``stats`` (``work`` seconds of it spent working), report it, read the row."""
    stats.frames += frames
    stats.analysed += frames // 2
    stats.seconds += seconds
    stats.degraded += degraded
    stats.dropped += dropped
    stats.dropped_near_line += near_line
    stats.stages.add("decode", seconds - work)  # waiting for frames: not work
    stats.stages.add("detect", work * 0.75)
    stats.stages.add("track", work * 0.25)
    status.on_frame(Frame(stats.frames, datetime.now(UTC), None))  # type: ignore[arg-type]  # only its time is read
    return row(status.engine)


def test_a_window_writes_the_load_and_a_clean_one_is_not_degraded(engine: sa.Engine) -> None:
    stats, status = RunStats(), CameraStatus(engine, "gate-1", interval=2.0)
    status.follow(stats, 30.0)
    first = window(stats, status, work=1.5)
    assert first.connected and first.analysis_load == pytest.approx(0.5, abs=1e-3)
    stats.decode_cpu += 0.36  # the decoding thread's CPU is the camera's work too
    up = window(stats, status, work=1.5)
    assert up.connected and up.analysis_load == pytest.approx((1.5 + 0.36) / 3.0, abs=1e-3)
    assert up.degraded is False and up.status_note is None


def test_overload_marks_the_camera_degraded_and_says_how_until_a_clean_window(engine: sa.Engine) -> None:
    stats, status = RunStats(), CameraStatus(engine, "gate-1", interval=2.0)
    status.follow(stats, 30.0)

    thinned = window(stats, status, degraded=40)
    assert thinned.degraded is True and thinned.analysis_load == pytest.approx(0.62)
    behind, overload = thinned.status_note.split(" | ")
    assert behind.startswith("behind real time: 90 frames at 30.0 frames/s") and "degraded on 44%" in behind
    assert overload == "degraded by overload: detection thinned far from the line on 40 of 90 frames"

    dropping = window(stats, status, frames=80, dropped=10, near_line=0, degraded=80)
    assert dropping.degraded is True
    behind, overload = dropping.status_note.split(" | ")
    assert behind.startswith("behind real time: 80 frames at 26.7 frames/s") and "10 dropped (0 near" in behind
    assert overload == ("degraded by overload: detection thinned far from the line on 80 of 80 frames, "
                        "10 frames dropped (0 near the line)")

    clean = window(stats, status)
    assert clean.degraded is False and clean.status_note is None and clean.analysis_load == pytest.approx(0.62)


def test_dropped_frames_alone_degrade_the_camera(engine: sa.Engine) -> None:
    stats, status = RunStats(), CameraStatus(engine, "gate-1", interval=2.0)
    status.follow(stats, 30.0)
    dropping = window(stats, status, frames=85, dropped=5, near_line=2)
    assert dropping.degraded is True
    assert dropping.status_note.endswith("degraded by overload: 5 frames dropped (2 near the line)")


@pytest.mark.parametrize("stop", ["stopped", "disconnected"])
def test_a_stopped_or_disconnected_camera_keeps_no_load_and_is_not_degraded(engine: sa.Engine, stop: str) -> None:
    stats, status = RunStats(), CameraStatus(engine, "gate-1", interval=2.0, live=True)
    status.follow(stats, 30.0)
    assert window(stats, status, degraded=30).degraded is True
    if stop == "stopped":
        status.update(connected=False)  # as run_camera does at its end
    else:
        status.disconnected("stream rtsp://camera/1 ended after frame 90", count_reconnect=True)
    down = row(engine)
    assert not down.connected and down.analysis_load is None and down.degraded is False
