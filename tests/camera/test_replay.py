"""Replays: stored footage analysed again apart from the live records, and compared with them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.camera.replay import (
    Outcome,
    ReplayError,
    ReplayStatus,
    cancel_replay,
    compare_replay,
    launch_replay,
    replay_progress,
    request_replay,
    run_replay,
)
from gatewatch.cli.main import main
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.tables import EntryEvent, ReplayEvent, ReplayRun
from gatewatch.settings import Settings, load_settings
from tests.evidence_fixtures import WHEN, store_event
from tests.shared_files import MODEL, ROOT, SAMPLE_CONFIG, STREET

START = "2026-11-20T09:00:00+07:00"


# --- the comparison, on hand-made runs ---------------------------------------------------------


def add_run(engine: sa.Engine, crossings: list[tuple[str, str, int]], *, status: str = ReplayStatus.DONE,
            source_key: str = "file:abc") -> int:
    with session_scope(engine) as session:
        run = ReplayRun(camera_id="gate-1", source_key=source_key, video="x.mp4", footage_start=WHEN,
                        parameters="{}", status=status, requested_by="auditor")
        session.add(run)
        session.flush()
        for n, (label, direction, frame) in enumerate(crossings):
            session.add(ReplayEvent(run_id=run.id, track_id=100 + n, label=label, direction=direction,
                                    occurred_at=WHEN + timedelta(seconds=frame / 10), frame_index=frame,
                                    confidence=0.8))
        return run.id


def test_a_comparison_matches_by_class_direction_and_frame(engine: sa.Engine, settings: Settings) -> None:
    stored = [store_event(engine, settings, track_id=t) for t in (1, 5, 9, 20)]  # frames 41, 45, 49, 60
    run_id = add_run(engine, [("person", "entry", 41), ("person", "entry", 47), ("person", "exit", 49),
                              ("person", "entry", 75)])

    comparison = compare_replay(engine, run_id, tolerance_frames=2)
    rows = [(r.outcome, r.stored.id if r.stored else None, r.frame_delta) for r in comparison.rows]
    assert rows == [
        (Outcome.SAME, stored[0].id, 0),
        (Outcome.SHIFTED, stored[1].id, 2),
        (Outcome.MISSING, stored[2].id, None),  # stored as an entry; the replay saw an exit there
        (Outcome.EXTRA, None, None),
        (Outcome.MISSING, stored[3].id, None),
        (Outcome.EXTRA, None, None),
    ]
    assert [r.replayed.direction for r in comparison.rows if r.outcome == Outcome.EXTRA] == ["exit", "entry"]
    assert not comparison.identical
    assert compare_replay(engine, run_id, tolerance_frames=1).count(Outcome.SHIFTED) == 0


def test_a_replay_of_other_footage_or_camera_compares_with_nothing(engine: sa.Engine, settings: Settings) -> None:
    store_event(engine, settings)
    run_id = add_run(engine, [("person", "entry", 45)], source_key="file:other")
    comparison = compare_replay(engine, run_id)
    assert [r.outcome for r in comparison.rows] == [Outcome.EXTRA]
    assert comparison.as_dict()["counts"] == {"same": 0, "shifted": 0, "missing": 0, "extra": 1}


def test_progress_and_cancelling_a_pending_replay(engine: sa.Engine) -> None:
    run_id = add_run(engine, [], status=ReplayStatus.PENDING)
    progress = replay_progress(engine, run_id)
    assert (progress.status, progress.finished, progress.crossings) == ("pending", False, 0)
    cancel_replay(engine, run_id)
    assert replay_progress(engine, run_id).finished
    with pytest.raises(ReplayError, match="only a pending replay can run"):
        run_replay(engine, Settings(detector={"model": "yolo11n.pt"}), run_id)
    with pytest.raises(ReplayError, match="no replay #999"):
        replay_progress(engine, 999)


def test_replay_command_names_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {tmp_path}\ndetector: {{model: yolo11n.pt}}\ncameras: [{{id: gate-1, name: G, "
                      "source: '0', gate: {line: [[0, 0.5], [1, 0.5]], inside: [0.5, 0.9]}}]\n")
    args = ["replay", str(tmp_path / "none.mp4"), "--camera", "gate-1", "--start", START, "--config", str(config)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "none.mp4 does not exist" in result.output
    result = CliRunner().invoke(main, [*args, "--line", "0,0.6,1,0.6"])
    assert result.exit_code == 2 and "--line and --inside go together" in result.output
    result = CliRunner().invoke(main, [*args[:2], "--camera", "gate-9", *args[4:]])
    assert result.exit_code == 2 and "no camera with id 'gate-9'" in result.output


# --- the real model on the real footage --------------------------------------------------------


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The street footage processed once as the pedestrian gate, as the live system would have."""
    from gatewatch.camera.analysis import analyse_file
    from gatewatch.vision.detector import load_model

    if not (MODEL.exists() and STREET.exists()):
        pytest.skip("the shared model and footage are not there")
    root = tmp_path_factory.mktemp("replay")
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(root / "data")
    raw["detector"]["model"] = str(MODEL)
    config = root / "gatewatch.yaml"
    config.write_text(yaml.safe_dump(raw))
    settings = load_settings(config)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    model = load_model(settings.detector)
    start = datetime.fromisoformat(START)
    result = analyse_file(engine, settings, settings.camera("street-gate"), STREET, start, progress=False,
                          model=model)
    assert result.created == 4
    yield {"settings": settings, "engine": engine, "config": config, "start": start}
    engine.dispose()


def live_events(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        return [(e.id, e.label, e.direction, e.frame_index, e.status)
                for e in session.exec(select(EntryEvent).order_by(EntryEvent.id)).all()]


@pytest.mark.slow
def test_a_replay_as_the_same_camera_reproduces_the_stored_events(processed: dict[str, Any]) -> None:
    engine, settings = processed["engine"], processed["settings"]
    before = live_events(engine)
    # As the auditor's page does it: registered without the video libraries, run in its own process.
    run_id = request_replay(engine, settings, settings.camera("street-gate"), STREET, processed["start"],
                            actor="auditor-sri")
    process = launch_replay(settings, run_id)
    seen = []
    while not (progress := replay_progress(engine, run_id)).finished:
        seen.append(progress.frames_done)
        time.sleep(0.5)
    assert process.wait(timeout=60) == 0
    assert progress.status == ReplayStatus.DONE, progress.error
    assert (progress.frames_done, progress.fraction, progress.crossings) == (302, 1.0, 4)
    assert seen == sorted(seen) and len(set(seen)) > 2  # it reported progress as it went

    comparison = compare_replay(engine, run_id)
    assert comparison.identical
    assert [(r.outcome, r.stored.frame_index) for r in comparison.rows] == [
        (Outcome.SAME, frame) for _, _, _, frame, _ in sorted(before, key=lambda e: e[3])]
    assert comparison.time_offset == timedelta(0)
    assert live_events(engine) == before  # the live records are untouched
    assert verify_integrity(engine, settings).ok


@pytest.mark.slow
def test_a_replay_with_another_gate_line_shows_the_differences(processed: dict[str, Any]) -> None:
    engine = processed["engine"]
    before = live_events(engine)
    result = subprocess.run(
        [sys.executable, "-m", "gatewatch", "replay", str(STREET), "--camera", "street-gate", "--start", START,
         "--line", "0,0.75,1,0.75", "--inside", "0.5,0.2", "--json", "--config", str(processed["config"]),
         "--by", "auditor-sri"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert not comparison["identical"]
    # People cross a line a quarter of the image further up many frames away from the stored crossings.
    counts = comparison["counts"]
    assert (counts["same"], counts["shifted"], counts["missing"]) == (0, 0, len(before))
    assert counts["extra"] >= 1
    missing = sorted(row["stored"]["frame"] for row in comparison["rows"] if row["outcome"] == "missing")
    assert missing == sorted(frame for _, _, _, frame, _ in before)
    with Session(engine) as session:
        run = session.get(ReplayRun, comparison["run_id"])
    assert json.loads(run.parameters)["camera"]["gate"]["line"] == [[0.0, 0.75], [1.0, 0.75]]
    assert live_events(engine) == before

