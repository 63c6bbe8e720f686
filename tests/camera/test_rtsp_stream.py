"""Live streams from a real RTSP server on loopback, stopped, paused and started again by the test.

The server is GStreamer's RTSP server (Debian's gir1.2-gst-rtsp-server-1.0, driven by Debian's
python3 through PyGObject): ffmpeg cannot serve RTSP to readers (its RTSP output only publishes
to a server, listen mode or not). It serves the vehicle footage, remuxed without re-encoding
into a looping Matroska file in the test's folder, at the footage's pace.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from gatewatch.camera.worker import run_camera
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import AuditRecord, Camera, EntryEvent
from gatewatch.settings import Settings
from gatewatch.vision.sources import SourceError, StreamSource
from tests.shared_files import HIGHWAY, MODEL, SAMPLE_CONFIG

T = TypeVar("T")

SYSTEM_PYTHON = "/usr/bin/python3"
#: Serves a file at rtsp://127.0.0.1:PORT/gate (and a second at /detect), run with SYSTEM_PYTHON.
SERVER_SCRIPT = str(Path(__file__).resolve().parents[2] / "scripts" / "rtsp_serve.py")


def _missing_server() -> str | None:
    if not shutil.which("ffmpeg"):
        return "ffmpeg"
    probe = [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"]
    if Path(SYSTEM_PYTHON).exists() and subprocess.run(probe, check=False, capture_output=True).returncode == 0:
        return None
    return "python3-gi gir1.2-gst-rtsp-server-1.0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RtspServer:
    """The RTSP server as a process of its own, so the test can kill, pause and restart it."""

    def __init__(self, video: Path, log: Path) -> None:
        self.video, self.log = video, log
        self.port = _free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/gate"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start serving; returns once the port takes connections."""
        with open(self.log, "ab") as log:
            self._process = subprocess.Popen([SYSTEM_PYTHON, SERVER_SCRIPT, str(self.port), str(self.video)],
                                             stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self._process.poll() is None, f"the RTSP server exited: {self.log.read_text()[-2000:]}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the RTSP server did not listen within 15 s: {self.log.read_text()[-2000:]}")

    def signal(self, number: signal.Signals) -> None:
        assert self._process is not None
        self._process.send_signal(number)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


@pytest.fixture
def rtsp_server(tmp_path: Path) -> Iterator[RtspServer]:
    """A server on a free loopback port serving the vehicle footage three times over (33 s)."""
    if missing := _missing_server():
        pytest.skip(f"the RTSP server needs Debian's {missing}: apt-get install them (make test does it as root)")
    looped = tmp_path / "highway-looped.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(HIGHWAY), "-c", "copy", str(looped)],
                   check=True, timeout=60)
    server = RtspServer(looped, tmp_path / "rtsp-server.log")
    server.start()
    yield server
    server.kill()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("stop_signal", "message"),
    [(signal.SIGKILL, r"ended after frame \d+"), (signal.SIGSTOP, r"stalled: no frame for 2\.\d s")],
    ids=["server-killed", "server-paused"],
)
def test_a_stream_that_stops_or_stalls_fails_naming_why(rtsp_server: RtspServer, stop_signal: signal.Signals,
                                                        message: str) -> None:
    stall_seconds = 2.0
    source = StreamSource(rtsp_server.url, stall_seconds=stall_seconds)
    frames = source.frames()
    try:
        for _ in range(30):
            next(frames)
        rtsp_server.signal(stop_signal)
        stopped = time.monotonic()
        with pytest.raises(SourceError, match=message):
            for _ in frames:
                pass
        waited = time.monotonic() - stopped
    finally:
        source.close()
        rtsp_server.kill()
    # Killed: at once. Paused: once the stall limit has passed, not a second read timeout later.
    assert waited < stall_seconds + 1.0


def _settings(tmp_path: Path, url: str) -> Settings:
    """The sample configuration's vehicle gate, watching ``url`` (11 car entries per footage pass)."""
    sample = yaml.safe_load(SAMPLE_CONFIG.read_text())
    camera = next(c for c in sample["cameras"] if c["id"] == "vehicle-gate")
    return Settings(detector={"model": str(MODEL)}, data_dir=tmp_path / "data",
                    cameras=[{**camera, "source": url, "stall_seconds": 5.0}])


class Worker:
    """``run_camera`` on a thread, as ``gatewatch worker`` runs it; its failure fails the test."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.engine = engine
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(settings,), name="camera-worker")
        self._thread.start()

    def _run(self, settings: Settings) -> None:
        try:
            run_camera(self.engine, settings, settings.cameras[0], self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported on the test's thread
            self.error = exc

    def wait_for(self, what: str, check: Callable[[Session], T | None], timeout: float) -> T:
        """Poll ``check`` on a fresh session until it returns a true value."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.error is None, f"the worker failed: {self.error!r}"
            with Session(self.engine) as session:
                if value := check(session):
                    return value
            assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
            time.sleep(0.1)

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the worker did not stop within 30 s of being told"
        assert self.error is None, f"the worker failed: {self.error!r}"


def _camera(session: Session) -> Camera:
    row = session.get(Camera, "vehicle-gate")
    assert row is not None
    return row


def _events_after(moment: datetime) -> Callable[[Session], list[EntryEvent]]:
    return lambda session: list(session.exec(select(EntryEvent).where(EntryEvent.occurred_at > moment)))


def _audited(action: str) -> Callable[[Session], AuditRecord | None]:
    return lambda session: session.exec(select(AuditRecord).where(AuditRecord.action == action)).first()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_the_worker_rides_out_a_server_outage(tmp_path: Path, rtsp_server: RtspServer) -> None:
    settings = _settings(tmp_path, rtsp_server.url)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    started = datetime.now(UTC)
    worker = Worker(engine, settings)
    try:
        worker.wait_for("event from the first connection", _events_after(started), timeout=45)
        worker.wait_for("connected status", lambda s: _camera(s).connected, timeout=5)

        rtsp_server.kill()
        down = time.monotonic()
        worker.wait_for("disconnected status", lambda s: not _camera(s).connected, timeout=10)
        # It keeps trying: the break and at least one failed reopen are counted.
        retrying = worker.wait_for("retry", lambda s: (row := _camera(s)).reconnects >= 2 and row, timeout=10)
        assert "cannot be opened" in retrying.status_note and rtsp_server.url in retrying.status_note

        rtsp_server.start()
        back, back_at = time.monotonic(), datetime.now(UTC)
        reconnected = worker.wait_for("reconnection", _audited("camera.reconnected"), timeout=40)
        reconnect_seconds = (reconnected.at - back_at).total_seconds()
        outage = json.loads(reconnected.after)
        print(f"\nRTSP server down {back - down:.1f} s; reconnect time (server back -> first frame) "
              f"{reconnect_seconds:.2f} s; outage (break -> first frame) {outage['outage_seconds']:.2f} s")
        camera = worker.wait_for("connected status", lambda s: (row := _camera(s)).connected and row, timeout=5)
        later = worker.wait_for("event after the outage", _events_after(back_at), timeout=40)
    finally:
        worker.finish()

    assert camera.reconnects >= 2 and camera.last_frame_at > back_at
    with Session(engine) as session:
        disconnected = _audited("camera.disconnected")(session)
    assert disconnected is not None and disconnected.actor == "worker"
    assert json.loads(disconnected.after)["reason"].startswith(f"stream {rtsp_server.url} ended after frame")
    assert outage["attempts"] >= 2
    # From the break to the first frame again: the time the server was down and the reconnect.
    assert back - down <= outage["outage_seconds"] <= back - down + reconnect_seconds + 1.0
    assert disconnected.at < reconnected.at <= min(e.created_at for e in later)
    assert all(e.label == "car" and e.direction == "entry" for e in later)
    report = verify_integrity(engine, settings)
    assert report.ok, "\n".join(report.lines())
    engine.dispose()
