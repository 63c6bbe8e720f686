"""Replays of recorded time: a camera's segments over a period analysed again, beside the events
stored live in that period, matched by time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.camera.recorded import MAX_PERIOD, PeriodError, check_period, coverage, recorded_cameras
from gatewatch.camera.replay import (
    Outcome,
    ReplayError,
    ReplayKind,
    ReplayStatus,
    compare_replay,
    request_recorded_replay,
    run_replay,
)
from gatewatch.cli.main import main
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.tables import EntryEvent, RecordingGap, RecordingSegment, ReplayEvent, ReplayRun
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings, load_settings
from gatewatch.vision.sources import SourceError
from tests.evidence_fixtures import WHEN, store_event
from tests.recorded_segments import record_camera
from tests.shared_files import MODEL, MOTORCYCLES

CAMERA = "gate-1"


def segment(engine: sa.Engine, start: datetime, seconds: float, *, path: str | None = "x.mp4",
            camera_id: str = CAMERA) -> int:
    with session_scope(engine) as session:
        row = RecordingSegment(camera_id=camera_id, started_at=start, ended_at=start + timedelta(seconds=seconds),
                               path=path, sha256="0" * 64, size_bytes=1, frames=int(seconds * 30),
                               deleted_at=None if path else utcnow())
        session.add(row)
        session.flush()
        return row.id


# --- what the recordings cover, and which periods can be replayed -------------------------------


def test_coverage_tells_the_gaps_and_why(engine: sa.Engine) -> None:
    for minute in (0, 1, 2, 5, 6):  # down from 3 to 5
        segment(engine, WHEN + timedelta(minutes=minute), 60)
    segment(engine, WHEN + timedelta(minutes=8), 60, path=None)  # retention took it
    segment(engine, WHEN + timedelta(minutes=9), 60)
    with session_scope(engine) as session:
        session.add(RecordingGap(camera_id=CAMERA, started_at=WHEN + timedelta(minutes=3, seconds=1),
                                 ended_at=WHEN + timedelta(minutes=4, seconds=58), reason="stream down: RTSP timeout"))
    with Session(engine) as session:
        covered = coverage(session, CAMERA)
        assert coverage(session, "gate-2") is None
        assert recorded_cameras(session, ["gate-3"]) == {"gate-3": None, CAMERA: covered}
    assert covered is not None
    assert (covered.started_at, covered.ended_at, covered.segments) == (WHEN, WHEN + timedelta(minutes=10), 6)
    assert [(g.started_at - WHEN, g.ended_at - WHEN, g.reason) for g in covered.gaps] == [
        (timedelta(minutes=3), timedelta(minutes=5), "stream down: RTSP timeout"),
        (timedelta(minutes=7), timedelta(minutes=9), "deleted by retention"),
    ]


@pytest.mark.parametrize(("start", "end", "code", "message"), [
    (10, 5, "order", "the period ends before it starts"),
    (10, 10, "order", "the period ends before it starts"),
    (0, 61 * 60, "length", "longer than 1 h"),
    (-5, 30, "before", "starts before the camera's recordings"),
    (30, 60 * 60 + 5, "after", "ends after the camera's recordings"),
    (3 * 60 + 10, 4 * 60, "gap", "it falls in a gap"),
])
def test_a_period_outside_the_recordings_is_refused(engine: sa.Engine, start: int, end: int, code: str,
                                                    message: str) -> None:
    segment(engine, WHEN, 3 * 60)
    segment(engine, WHEN + timedelta(minutes=5), 55 * 60)
    with Session(engine) as session, pytest.raises(PeriodError, match=message) as refused:
        check_period(session, CAMERA, WHEN + timedelta(seconds=start), WHEN + timedelta(seconds=end))
    assert refused.value.code == code
    with Session(engine) as session:
        assert len(check_period(session, CAMERA, WHEN + timedelta(minutes=2), WHEN + MAX_PERIOD)) == 2
        with pytest.raises(PeriodError, match="camera gate-2 has no recordings"):
            check_period(session, "gate-2", WHEN, WHEN + timedelta(minutes=1))


# --- the comparison by time, on hand-made rows --------------------------------------------------


def recorded_run(engine: sa.Engine, settings: Settings, crossings: list[tuple[str, float, int]]) -> int:
    """A finished replay of WHEN..WHEN+60 s whose crossings are (direction, seconds after WHEN, frame)."""
    segment(engine, WHEN - timedelta(seconds=30), 120)
    run_id = request_recorded_replay(engine, settings, settings.cameras[0], WHEN, WHEN + timedelta(seconds=60),
                                     actor="auditor-sri")
    with session_scope(engine) as session:
        session.get(ReplayRun, run_id).status = ReplayStatus.DONE
        for n, (direction, seconds, frame) in enumerate(crossings):
            session.add(ReplayEvent(run_id=run_id, track_id=n + 1, label="person", direction=direction,
                                    occurred_at=WHEN + timedelta(seconds=seconds), frame_index=frame,
                                    confidence=0.8))
    return run_id


def test_recorded_time_is_compared_by_time_not_frame(engine: sa.Engine, settings: Settings) -> None:
    stored = [store_event(engine, settings, when=WHEN + timedelta(seconds=s), track_id=t)  # frames 41..44
              for t, s in ((1, 5), (2, 20), (3, 40), (4, 50))]
    store_event(engine, settings, when=WHEN + timedelta(seconds=75), track_id=9)  # after the period
    run_id = recorded_run(engine, settings, [("entry", 5.1, 150), ("entry", 20.6, 600), ("exit", 40, 1200),
                                             ("entry", 58, 1740)])
    comparison = compare_replay(engine, run_id)
    rows = [(r.outcome, r.stored.id if r.stored else None, r.time_delta) for r in comparison.rows]
    assert rows == [
        (Outcome.SAME, stored[0].id, timedelta(seconds=0.1)),  # frame 150 against 41: frames do not matter
        (Outcome.SHIFTED, stored[1].id, timedelta(seconds=0.6)),
        (Outcome.MISSING, stored[2].id, None),  # stored as an entry; the replay saw an exit then
        (Outcome.EXTRA, None, None),
        (Outcome.MISSING, stored[3].id, None),
        (Outcome.EXTRA, None, None),
    ]
    assert comparison.recorded and not comparison.identical and comparison.time_offset is None
    assert all(r.frame_delta is None for r in comparison.rows)
    summary = comparison.as_dict()
    assert (summary["kind"], summary["period"]["end"]) == ("recording", (WHEN + timedelta(seconds=60)).isoformat())
    assert summary["rows"][1]["time_delta_seconds"] == pytest.approx(0.6)
    assert compare_replay(engine, run_id, tolerance_seconds=0.5).count(Outcome.SHIFTED) == 0


# --- a run whose segments changed after it was asked for ----------------------------------------


@pytest.fixture
def recorded(engine: sa.Engine, settings: Settings) -> list[int]:
    if not MOTORCYCLES.exists():
        pytest.skip("the shared footage is not there")
    return [row.id for row in record_camera(engine, settings.data_dir, CAMERA, MOTORCYCLES, WHEN)]


def test_a_segment_deleted_or_altered_after_the_replay_was_asked_for_fails_it_by_name(
    engine: sa.Engine, settings: Settings, recorded: list[int]
) -> None:
    def ask() -> int:
        return request_recorded_replay(engine, settings, settings.cameras[0], WHEN, WHEN + timedelta(seconds=7),
                                       actor="auditor-sri")

    def row(segment_id: int) -> RecordingSegment:
        with Session(engine) as session:
            return session.get(RecordingSegment, segment_id)

    first, second = row(recorded[0]), row(recorded[1])
    altered = ask()
    data = bytearray((settings.data_dir / second.path).read_bytes())
    data[len(data) // 2] ^= 0x01
    (settings.data_dir / second.path).write_bytes(bytes(data))
    with pytest.raises(ReplayError, match=rf"recording segment #{second.id} \({second.path}\) has been altered"):
        run_replay(engine, settings, altered)

    missing = ask()
    (settings.data_dir / second.path).unlink()
    with pytest.raises(SourceError, match=rf"recording segment #{second.id} .*: its file .* is missing"):
        run_replay(engine, settings, missing)

    deleted = ask()
    with session_scope(engine) as session:  # retention deletes the first segment meanwhile
        session.get(RecordingSegment, first.id).path = None
        session.get(RecordingSegment, first.id).deleted_at = utcnow()
    with pytest.raises(SourceError, match=rf"recording segment #{first.id} \(deleted\) has no file any more"):
        run_replay(engine, settings, deleted)
    with Session(engine) as session:
        runs = {run.id: run for run in session.exec(select(ReplayRun)).all()}
    assert {runs[i].status for i in (altered, missing, deleted)} == {ReplayStatus.FAILED}
    assert f"recording segment #{first.id}" in runs[deleted].error
    with Session(engine) as session, pytest.raises(PeriodError, match="starts before the camera's recordings"):
        check_period(session, CAMERA, WHEN, WHEN + timedelta(seconds=7))  # the period offered has shrunk


# --- the real model on real recordings -----------------------------------------------------------


@pytest.fixture(scope="module")
def recorded_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The motorcycle footage analysed live as the bike gate, and recorded: two segments cut at its keyframes."""
    from gatewatch.camera.analysis import analyse_file
    from gatewatch.vision.detector import load_model

    if not (MODEL.exists() and MOTORCYCLES.exists()):
        pytest.skip("the shared model and footage are not there")
    root = tmp_path_factory.mktemp("recorded")
    config = root / "gatewatch.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(root / "data"), "timezone": "Asia/Jakarta", "detector": {"model": str(MODEL)},
        "cameras": [{"id": "bike-gate", "name": "Bike gate", "source": str(MOTORCYCLES), "record": True,
                     "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]},
                     "classes": ["person", "bicycle", "motorcycle", "car"]}],
    }))
    settings = load_settings(config)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 WIB
    live = analyse_file(engine, settings, settings.camera("bike-gate"), MOTORCYCLES, start, progress=False,
                        model=load_model(settings.detector))
    assert live.created >= 5
    segments = record_camera(engine, settings.data_dir, "bike-gate", MOTORCYCLES, start)
    assert [segment.frames for segment in segments] == [150, 76]  # cut at the keyframe 5 s in
    yield {"settings": settings, "engine": engine, "config": config, "start": start, "end": segments[-1].ended_at}
    engine.dispose()


@pytest.mark.slow
def test_a_replay_of_the_recorded_period_finds_the_events_stored_live(recorded_site: dict[str, Any]) -> None:
    engine, config = recorded_site["engine"], recorded_site["config"]
    with Session(engine) as session:
        stored = list(session.exec(select(EntryEvent).order_by(EntryEvent.occurred_at)).all())
    result = CliRunner().invoke(main, [
        "replay", "--camera", "bike-gate", "--from", "2026-11-20T09:00:00", "--to", "2026-11-20T09:00:30",
        "--json", "--config", str(config), "--by", "auditor-sri"])
    assert result.exit_code == 2 and "--from/--to: the period ends after the camera's recordings" in result.output
    result = CliRunner().invoke(main, [
        "replay", "--camera", "bike-gate", "--from", "2026-11-20T09:00:00", "--to", "2026-11-20T09:00:08",
        "--json", "--config", str(config), "--by", "auditor-sri"])
    assert result.exit_code == 2 and "ends after" in result.output  # the recording ends at 09:00:07.53
    end = recorded_site["end"].astimezone(recorded_site["settings"].zone).replace(tzinfo=None).isoformat()
    result = CliRunner().invoke(main, [
        "replay", "--camera", "bike-gate", "--from", "2026-11-20T09:00:00", "--to", end,
        "--json", "--config", str(config), "--by", "auditor-sri"])
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.output)
    assert comparison["kind"] == ReplayKind.RECORDING and comparison["status"] == ReplayStatus.DONE
    assert comparison["identical"], comparison["rows"]
    assert [(row["outcome"], row["stored"]["id"], row["time_delta_seconds"]) for row in comparison["rows"]] == [
        ("same", event.id, 0.0) for event in stored]
    with Session(engine) as session:
        run = session.get(ReplayRun, comparison["run_id"])
        assert (run.frames_done, run.frames_total, run.requested_by) == (226, 226, "auditor-sri")
        # One crossing is on the last frame of the first segment: the tracker went on across the cut.
        assert any(event.frame_index in range(145, 155) for event in stored)
        assert list(session.exec(select(EntryEvent).order_by(EntryEvent.occurred_at)).all()) == stored
    assert verify_integrity(engine, recorded_site["settings"]).ok  # the segments replayed are those recorded


def test_replay_command_says_which_footage_options_go_together(tmp_path: Path) -> None:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {tmp_path}\ndetector: {{model: yolo11n.pt}}\ncameras: [{{id: gate-1, name: G, "
                      "source: '0', record: true, gate: {line: [[0, 0.5], [1, 0.5]], inside: [0.5, 0.9]}}]\n")
    period = ["--from", "2026-11-20T09:00:00", "--to", "2026-11-20T09:10:00"]
    cases = [
        (["x.mp4", *period], "--from and --to replay recordings: give them without VIDEO"),
        (["x.mp4"], "VIDEO needs --start"),
        (["--start", "2026-11-20T09:00:00"], "--start goes with VIDEO"),
        (period[:2], "give VIDEO and --start, or --from and --to"),
        (["--from", "nine", "--to", "ten"], "--from: 'nine' is not an ISO 8601 time"),
        (period, "--from/--to: camera gate-1 has no recordings"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["replay", "--camera", "gate-1", *args, "--config", str(config)])
        assert (result.exit_code, message in result.output) == (2, True), (args, result.output)
    with Session(make_engine(f"sqlite:///{tmp_path / 'gatewatch.db'}")) as session:
        assert session.exec(select(ReplayRun)).all() == []
