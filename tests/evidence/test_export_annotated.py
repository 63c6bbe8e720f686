"""Exports of copied clips: the original clip and its boxes JSON as stored, and on request an annotated
rendition per event, drawn by a process of its own, hashed in the manifest like every file."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session

from gatewatch.cli.main import main
from gatewatch.evidence.annotated import render_renditions
from gatewatch.evidence.export import MANIFEST, ExportSelection, create_export, verify_export
from gatewatch.evidence.export_jobs import (
    ExportStatus,
    export_job_state,
    job_file,
    renditions_dir,
    request_export_job,
    run_export_job,
)
from gatewatch.evidence.signing import installation_key
from gatewatch.models.enums import ClipKind
from gatewatch.settings import Settings
from gatewatch.vision.evidence import BOX_COLOUR
from tests.evidence_fixtures import WHEN
from tests.remuxed_clip import BOX, BOX_UNTIL, RemuxedClip, remux_cut, store_copied_event

CAMERA_ID = "gate-1"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def copied_clip(tmp_path_factory: pytest.TempPathFactory) -> RemuxedClip:
    return remux_cut(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture
def site(settings: Settings, database_url: str) -> Settings:
    """The settings with the test's database, as a process started for a job must find it."""
    return settings.model_copy(update={"database_url": database_url})


def _members(path: Path) -> tuple[dict[str, bytes], dict[str, dict[str, object]]]:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return members, json.loads(members[MANIFEST])["files"]


def _amber_share(frame: np.ndarray, x: float, y1: float, y2: float) -> float:
    """The share of rows along the vertical edge at ``x`` (source pixels) with a pixel near ``BOX_COLOUR``."""
    strip = frame[round(y1) + 20 : round(y2) - 20, round(x) - 3 : round(x) + 4].astype(int)
    near = np.abs(strip - np.array(BOX_COLOUR)).max(axis=2) <= 60
    return float(near.any(axis=1).mean())


def _frames_at(data: bytes, times: tuple[float, ...]) -> list[np.ndarray]:
    """The BGR frames of an MP4 shown at each of ``times`` (seconds)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        decoded = [(float(frame.pts * stream.time_base), frame.to_ndarray(format="bgr24"))
                   for frame in container.decode(stream)]
    return [min(decoded, key=lambda item: abs(item[0] - t))[1] for t in times]


def _assert_annotated(data: bytes, clip: RemuxedClip) -> None:
    during, after = _frames_at(data, (1.2, BOX_UNTIL + 0.5))
    assert during.shape[:2] == (clip.frame_size[1], clip.frame_size[0])
    x1, y1, x2, y2 = BOX
    assert _amber_share(during, x1, y1, y2) > 0.9 and _amber_share(during, x2, y1, y2) > 0.9
    assert _amber_share(after, x1, y1, y2) < 0.1  # the event's track is not in that frame: no box


def test_an_export_holds_the_stored_clip_and_boxes_as_they_are(
    engine: sa.Engine, site: Settings, copied_clip: RemuxedClip, tmp_path: Path
) -> None:
    event = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN)
    path = tmp_path / "export.zip"
    summary = create_export(engine, site, ExportSelection(event_ids=(event.id,)), path, actor="auditor-sri",
                            role="auditor")
    members, listed = _members(path)
    for relative in (event.clip_path, event.boxes_path):
        assert members[relative] == (site.data_dir / relative).read_bytes()  # byte for byte
        assert listed[relative]["sha256"] == hashlib.sha256(members[relative]).hexdigest()
    assert members[event.clip_path] == copied_clip.path.read_bytes()
    assert listed[event.boxes_path]["sha256"] == event.boxes_sha256
    assert not [name for name in members if name.startswith("annotated/")]
    events = json.loads(members["events.json"])
    assert (events[0]["evidence_check"], events[0]["annotated_clip"], events[0]["clip_kind"]) == (
        "verified", None, ClipKind.COPY)
    assert (summary.annotated, summary.evidence_problems) == (0, [])
    assert json.loads(members[MANIFEST])["annotated"] is None
    assert verify_export(path, installation_key(site.data_dir).public_key()).ok


def test_an_export_job_asked_for_annotated_clips_makes_them_in_a_process_of_its_own(
    engine: sa.Engine, site: Settings, copied_clip: RemuxedClip
) -> None:
    event = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN)
    missing = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN.replace(second=30))
    (site.data_dir / missing.boxes_path).unlink()  # its rendition cannot be made; the others still are
    job_id = request_export_job(engine, ExportSelection(event_ids=(event.id, missing.id)), actor="auditor-sri",
                                role="auditor", annotated=True)
    run_export_job(engine, site, job_id)  # what the web app's thread runs: no video library here

    with Session(engine) as session:
        state = export_job_state(session, job_id)
    assert state is not None and state.status == ExportStatus.DONE, state and state.error
    assert state.annotated and state.result["annotated"] == 1
    assert state.result["annotation_problems"] == [f"event #{missing.id}: no annotated clip: its boxes JSON is missing"]
    assert not renditions_dir(site, job_id).exists()  # the scratch folder is gone
    path = job_file(site, state)
    assert path is not None
    members, listed = _members(path)
    name = f"annotated/event-{event.id}.mp4"
    assert listed[name]["sha256"] == hashlib.sha256(members[name]).hexdigest()
    assert f"annotated/event-{missing.id}.mp4" not in members
    assert members[event.clip_path] == copied_clip.path.read_bytes()  # the original beside it, untouched
    _assert_annotated(members[name], copied_clip)
    events = {row["id"]: row for row in json.loads(members["events.json"])}
    assert (events[event.id]["annotated_clip"], events[missing.id]["annotated_clip"]) == (name, None)
    result = verify_export(path, installation_key(site.data_dir).public_key())
    assert result.ok, result.problems


def test_the_export_command_adds_annotated_clips_with_its_flag(
    engine: sa.Engine, site: Settings, copied_clip: RemuxedClip, database_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    event = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN)
    monkeypatch.delenv("GATEWATCH_CONFIG", raising=False)
    monkeypatch.setenv("GATEWATCH_DATA_DIR", str(site.data_dir))
    monkeypatch.setenv("GATEWATCH_DETECTOR__MODEL", site.detector.model)
    out = tmp_path / "cli.zip"
    result = CliRunner().invoke(main, ["export", "create", str(out), "--event", str(event.id), "--annotated",
                                       "--db", database_url, "--by", "auditor-sri"])
    assert result.exit_code == 0, result.output
    assert "annotated clips: 1" in result.output
    members, listed = _members(out)
    name = f"annotated/event-{event.id}.mp4"
    assert listed[name]["sha256"] == hashlib.sha256(members[name]).hexdigest()
    _assert_annotated(members[name], copied_clip)


@SQLITE_ONLY  # the drawing, or a process that fails, is the same on either database
def test_an_encoded_clip_gets_only_the_gate_line(engine: sa.Engine, site: Settings, copied_clip: RemuxedClip) -> None:
    """Its boxes are burned in already; the rendition does not draw them twice."""
    event = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN, kind=ClipKind.ENCODED)
    made = render_renditions(engine, site, [event.id], site.data_dir / "scratch")
    rendition = made.file(event.id)
    assert rendition is not None and made.problems == []
    (during,) = _frames_at(rendition.read_bytes(), (1.2,))
    assert _amber_share(during, BOX[0], BOX[1], BOX[3]) < 0.1
    gate_row = during[round(0.9 * copied_clip.frame_size[1])].astype(int)
    assert (np.abs(gate_row - np.array((255, 208, 0))).max(axis=1) <= 60).mean() > 0.9  # the gate line, cyan


@SQLITE_ONLY  # the drawing, or a process that fails, is the same on either database
def test_a_job_whose_rendering_process_fails_is_recorded_failed(
    engine: sa.Engine, site: Settings, copied_clip: RemuxedClip
) -> None:
    event = store_copied_event(engine, site.data_dir, CAMERA_ID, copied_clip, WHEN)
    job_id = request_export_job(engine, ExportSelection(event_ids=(event.id,)), actor="a", role="auditor",
                                annotated=True)
    broken = site.model_copy(update={"database_url": "sqlite:////nonexistent/folder/x.db"})
    run_export_job(engine, broken, job_id)
    with Session(engine) as session:
        state = export_job_state(session, job_id)
    assert state is not None and state.status == ExportStatus.FAILED
    assert "annotated clips could not be made" in (state.error or "")
