"""The real detector on the real footage, through the command a user runs.

These are the slow tests: each analyses a whole file with the shared YOLO11n model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
import yaml
from sqlmodel import Session, select

from gatewatch.models.db import make_engine
from gatewatch.models.tables import EntryEvent
from tests.shared_files import HIGHWAY, MODEL, SAMPLE_CONFIG, STREET

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("footage")
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(path / "data")
    raw["detector"]["model"] = str(MODEL)
    (path / "gatewatch.yaml").write_text(yaml.safe_dump(raw))
    return path


def process_json(workdir: Path, video: Path, camera: str, start: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "gatewatch", "process", str(video), "--camera", camera, "--start", start, "--json",
         "--config", str(workdir / "gatewatch.yaml")],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    # --json: one JSON object a line on stdout and nothing else.
    return [json.loads(line) for line in result.stdout.splitlines()]


def stored_events(workdir: Path, camera: str) -> list[EntryEvent]:
    engine = make_engine(f"sqlite:///{workdir / 'data' / 'gatewatch.db'}")
    with Session(engine) as session:
        return list(session.exec(select(EntryEvent).where(EntryEvent.camera_id == camera)).all())


def assert_evidence(workdir: Path, event: EntryEvent) -> None:
    data = workdir / "data"
    assert event.evidence_error is None
    snapshot = (data / event.snapshot_path).read_bytes()
    assert snapshot[:3] == b"\xff\xd8\xff"  # a JPEG
    with av.open(str(data / event.clip_path)) as clip:
        stream = clip.streams.video[0]
        assert stream.codec_context.name == "h264"  # what Chromium plays; mp4v would not
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in clip.decode(stream))
    assert clip.format.name.startswith("mov,mp4")
    assert frames >= 30  # at least a second around the crossing


def test_people_crossing_the_street_gate(workdir: Path) -> None:
    lines = process_json(workdir, STREET, "street-gate", "2026-11-20T09:00:00+07:00")
    assert {tuple(sorted(line)) for line in lines} == {
        ("camera", "confidence", "direction", "flag", "frame", "label", "rides_track_id", "time", "track_id")
    }
    entries = [line for line in lines if line["direction"] == "entry"]
    exits = [line for line in lines if line["direction"] == "exit"]
    # Three people walk up the street across the line and one walks down it (checked by eye).
    assert [e["label"] for e in entries] == ["person"] * 3
    assert [e["label"] for e in exits] == ["person"]
    assert all(e["flag"] == "unregistered" for e in entries)  # nobody is registered here
    assert all(e["flag"] is None for e in exits)
    assert entries[0]["time"].startswith("2026-11-20T02:00:0")  # footage time: start + frame / fps
    events = stored_events(workdir, "street-gate")
    assert len(events) == 4
    for event in events:
        assert_evidence(workdir, event)


def test_cars_crossing_the_vehicle_gate_and_running_again_adds_nothing(workdir: Path) -> None:
    # A registered vehicle with a plate: a misread plate on the footage would show as unknown_plate.
    registered = subprocess.run(
        [sys.executable, "-m", "gatewatch", "visits", "add", "--name", "Sopir Truk", "--nik", "1671011203850001",
         "--plate", "BG 1234 AB", "--vehicle-type", "car", "--check-in", "2026-11-20T09:04:00+07:00",
         "--config", str(workdir / "gatewatch.yaml")],
        capture_output=True, text=True, timeout=120,
    )
    assert registered.returncode == 0, registered.stderr
    first = process_json(workdir, HIGHWAY, "vehicle-gate", "2026-11-20T09:05:00+07:00")
    assert len(first) >= 9
    assert {line["label"] for line in first} == {"car"}
    assert {line["direction"] for line in first} == {"entry"}  # all traffic comes towards the camera
    stored = stored_events(workdir, "vehicle-gate")
    assert len(stored) == len(first)
    assert_evidence(workdir, stored[0])
    # The plates here are a few pixels high: none is read, so none is called unknown, and one car
    # is explained by the registered vehicle as it would be without plate reading.
    assert {event.plate_status for event in stored} == {"unreadable"}
    assert "unknown_plate" not in {event.flag for event in stored}
    assert sum(event.status == "explained" for event in stored) == 1

    again = process_json(workdir, HIGHWAY, "vehicle-gate", "2026-11-20T09:05:00+07:00")
    assert again == first
    assert len(stored_events(workdir, "vehicle-gate")) == len(first)
