"""Each status window writes the figures /metrics serves, on SQLite and PostgreSQL: the longest lag
of the window (a frame's arrival to the end of its analysis), and the frames dropped and detector
runs since the worker started, summed over its sessions; a disconnected camera has no lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from gatewatch.camera.worker import CameraStatus
from gatewatch.camera.worker_figures import WorkerFigures
from gatewatch.models.tables import Camera
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame
from tests.camera_rows import camera_engine, row  # noqa: F401 - the fixture "engine"


def arrived(seconds_ago: float, index: int = 0) -> Frame:
    """A frame that arrived ``seconds_ago``: only its time is read."""
    return Frame(index, datetime.now(UTC) - timedelta(seconds=seconds_ago), None)  # type: ignore[arg-type]


def window(stats: RunStats, status: CameraStatus, *lags: float, analysed: int = 45, dropped: int = 0) -> Camera:
    """Frames that waited ``lags`` seconds each; the last one closes a 3-second window. The row after it."""
    for lag in lags[:-1]:
        status.on_frame(arrived(lag))  # within the window: nothing is written yet
    stats.frames += 90
    stats.analysed += analysed
    stats.dropped += dropped
    stats.seconds += 3.0
    status.on_frame(arrived(lags[-1]))
    return row(status.engine)


def test_a_window_writes_its_longest_lag_and_the_counts_since_the_worker_started(engine: sa.Engine) -> None:
    status = CameraStatus(engine, "gate-1", interval=2.0, live=True)
    first = RunStats()
    status.follow(first, 30.0)
    assert row(engine).lag_seconds is None and row(engine).detections is None  # nothing reported yet

    behind = window(first, status, 0.1, 2.5, 0.3, analysed=45, dropped=4)
    assert 2.5 <= behind.lag_seconds < 4.0  # the worst frame of the window, not the last
    assert (behind.dropped_frames, behind.detections) == (4, 45)

    caught_up = window(first, status, 0.2, analysed=90)
    assert 0.2 <= caught_up.lag_seconds < 1.5  # a new window forgets the old one's worst
    assert (caught_up.dropped_frames, caught_up.detections) == (4, 135)

    second = RunStats()  # the source broke off and was opened again: a new session's counters
    status.follow(second, 30.0, attempts=2)
    again = window(second, status, 0.4, analysed=30, dropped=2)
    assert (again.dropped_frames, again.detections) == (6, 165)  # summed over both sessions


def test_a_disconnected_camera_has_no_lag_and_keeps_its_counts(engine: sa.Engine) -> None:
    status = CameraStatus(engine, "gate-1", interval=2.0, live=True)
    stats = RunStats()
    status.follow(stats, 30.0)
    assert window(stats, status, 0.5, analysed=60, dropped=1).lag_seconds is not None
    status.disconnected("stream rtsp://camera/1 ended after frame 90", count_reconnect=True)
    down = row(engine)
    assert not down.connected and down.lag_seconds is None
    assert (down.dropped_frames, down.detections) == (1, 60)


def test_a_file_analysed_faster_than_real_time_has_no_lag() -> None:
    figures = WorkerFigures()
    now = datetime.now(UTC)
    figures.frame(Frame(0, now + timedelta(seconds=5), None), now)  # type: ignore[arg-type]  # footage ahead
    assert figures.fields(RunStats())["lag_seconds"] == 0.0
    assert figures.fields(RunStats())["lag_seconds"] is None  # no frame in this window
