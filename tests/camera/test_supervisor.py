"""Several gates in one supervised process sharing one detector (or a process each), into one database."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from gatewatch.camera.supervisor import Supervisor
from gatewatch.models.db import make_engine
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import load_settings
from tests.databases import PostgresServer, fresh_postgres_database
from tests.shared_files import MODEL, SAMPLE_CONFIG, STREET


def write_config(tmp_path: Path, sources: dict[str, str]) -> Path:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    street = raw["cameras"][0]
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = str(MODEL)
    raw["cameras"] = [{**street, "id": camera_id, "name": camera_id, "source": source}
                      for camera_id, source in sources.items()]
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.slow
def test_three_cameras_into_one_postgresql(tmp_path: Path, postgres_server: PostgresServer) -> None:
    url = fresh_postgres_database(postgres_server)
    sources = {}
    for camera_id in ("gate-a", "gate-b", "gate-c"):
        copy = tmp_path / f"{camera_id}.mp4"
        copy.write_bytes(STREET.read_bytes())
        sources[camera_id] = str(copy)
    config = write_config(tmp_path, sources)
    result = subprocess.run([sys.executable, "-m", "gatewatch", "worker", "--all", "--config", str(config),
                             "--db", url], check=False, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    with Session(make_engine(url)) as session:
        events = session.exec(select(EntryEvent)).all()
    per_camera = Counter((e.camera_id, e.label, e.direction) for e in events)
    # Each copy shows what the street file shows alone: three people in, one out.
    for camera_id in sources:
        assert per_camera[(camera_id, "person", "entry")] == 3
        assert per_camera[(camera_id, "person", "exit")] == 1
    assert len(events) == 12
    assert len({(e.camera_id, e.track_id, e.frame_index) for e in events}) == 12  # nothing twice


@pytest.mark.slow
def test_workers_of_a_new_site_share_one_fresh_sqlite_database_and_log_as_asked(tmp_path: Path) -> None:
    # No database yet: it must be made once (workers used to race to create it, one failing with
    # "already exists"), and `gatewatch -v worker --all` has each camera log its progress too. The
    # cameras share one process, where a camera that fails does not stop the others.
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    sources = {"gate-x": str(broken)}
    for camera_id in ("gate-a", "gate-b"):
        copy = tmp_path / f"{camera_id}.mp4"
        copy.write_bytes(STREET.read_bytes())
        sources[camera_id] = str(copy)
    config = write_config(tmp_path, sources)
    result = subprocess.run([sys.executable, "-m", "gatewatch", "-v", "worker", "--all", "--config", str(config)],
                            check=False, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "already exists" not in result.stderr
    assert "one process for 3 cameras: gate-x, gate-a, gate-b" in result.stderr
    assert "gate-x: " in result.stderr and "this camera stops, the others go on" in result.stderr
    for camera_id in ("gate-a", "gate-b"):  # each camera's end-of-run timing line, which only -v shows
        assert f"gatewatch.camera.worker: {camera_id}: " in result.stderr and " dropped" in result.stderr
    with Session(make_engine(f"sqlite:///{tmp_path / 'data' / 'gatewatch.db'}")) as session:
        events = session.exec(select(EntryEvent)).all()
    assert Counter((e.camera_id, e.direction) for e in events) == {
        ("gate-a", "entry"): 3, ("gate-a", "exit"): 1, ("gate-b", "entry"): 3, ("gate-b", "exit"): 1}


def _exits(supervisor: Supervisor, name: str, count: int = 2) -> list[int]:
    """Run ``supervisor`` until its worker ``name`` has exited ``count`` times (a minute at most:
    a loaded machine starts Python slowly); its exit codes."""
    stop = threading.Event()
    history = supervisor.children[name].history
    running = threading.Thread(target=supervisor.run, args=(stop,), kwargs={"poll_seconds": 0.1})
    running.start()
    deadline = time.monotonic() + 60.0
    while len(history) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    running.join()
    return history


def test_a_crashing_worker_is_restarted_with_backoff(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    config = write_config(tmp_path, {"gate-x": str(broken)})
    supervisor = Supervisor(load_settings(config), str(config), per_camera=True)
    history = _exits(supervisor, "gate-x")
    # Started, failed (exit 1: the file is no video), restarted after 1 s, failed, after 2 s ...
    assert len(history) >= 2
    assert set(history) == {1}


def test_the_process_of_all_cameras_is_restarted_when_it_dies(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"gate-a": str(STREET), "gate-b": str(STREET)})
    raw = yaml.safe_load(config.read_text())
    raw["detector"]["model"] = str(tmp_path / "missing_openvino_model")  # the process exits 2 at once
    config.write_text(yaml.safe_dump(raw))
    supervisor = Supervisor(load_settings(config), str(config))
    assert list(supervisor.children) == ["cameras"]  # one process for both cameras
    history = _exits(supervisor, "cameras")
    assert len(history) >= 2 and set(history) == {2}
