"""Legal hold: a confirmed intrusion's evidence survives `retention apply` until an auditor releases
it, and then goes like any other, on the record; holds placed and released at the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.events.reviews import Decision, decide
from gatewatch.evidence import holds
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.evidence.retention import apply_retention
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, EntryEvent, EvidenceHold, RecordingSegment
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from tests.evidence_fixtures import WHEN, chain, store_event

FILES = ("snapshot_path", "clip_path")


def run(database_url: str, settings: Settings, tmp_path: Path, *args: str, config: str = "") -> Result:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n{config}")
    return CliRunner().invoke(main, [*args, "--config", str(path), "--db", database_url])


def files_of(settings: Settings, event: EntryEvent) -> list[Path]:
    return [settings.data_dir / getattr(event, name) for name in FILES]


def reload(engine: sa.Engine, event_id: int) -> EntryEvent:
    with Session(engine) as session:
        return session.get(EntryEvent, event_id)


def hold_records(engine: sa.Engine, event_id: int) -> list[AuditRecord]:
    return [r for r in chain(engine) if r.action in ("evidence.held", "evidence.released")
            and r.entity == "event" and r.entity_id == str(event_id)]


def test_a_confirmed_intrusion_survives_retention_until_an_auditor_releases_it(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    three_days_ago = utcnow() - timedelta(days=3)
    intrusion = store_event(engine, settings, when=three_days_ago, track_id=1)
    ordinary = store_event(engine, settings, when=three_days_ago + timedelta(hours=2), track_id=2)
    with session_scope(engine) as session:
        decide(session, intrusion.id, Decision.CONFIRM, actor="guard-ani", role="guard", note="climbed the fence")
    with Session(engine) as session:
        hold = holds.active_hold(session, intrusion.id)
        assert (hold.reason, hold.held_by) == ("confirmed intrusion", "guard-ani")
        assert not holds.is_held(session, ordinary.id)

    applied = run(database_url, settings, tmp_path, "retention", "apply", "--evidence-days", "1", "--by", "ops")
    assert applied.exit_code == 0, applied.output
    assert "evidence (--evidence-days 1)" in applied.output
    assert "1 events, deleted 2 files" in applied.output and "kept 1 held events" in applied.output
    assert all(p.exists() for p in files_of(settings, intrusion))
    assert not any(p.exists() for p in files_of(settings, ordinary))
    assert reload(engine, intrusion.id).evidence_expired_at is None
    verified = run(database_url, settings, tmp_path, "audit", "verify")
    assert verified.exit_code == 0, verified.output

    released = run(database_url, settings, tmp_path, "evidence", "release", str(intrusion.id),
                   "--reason", "case closed", "--by", "auditor-sri")
    assert released.exit_code == 0, released.output
    assert f"event #{intrusion.id} released by auditor-sri" in released.output
    again = run(database_url, settings, tmp_path, "retention", "apply", "--evidence-days", "1", "--by", "ops")
    assert again.exit_code == 0, again.output
    assert "1 events, deleted 2 files" in again.output and "kept 0 held events" in again.output
    assert not any(p.exists() for p in files_of(settings, intrusion))

    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert {(f.event_id, f.path) for f in report.expired.items} >= {
        (intrusion.id, intrusion.snapshot_path), (intrusion.id, intrusion.clip_path)}
    assert run(database_url, settings, tmp_path, "audit", "verify").exit_code == 0

    held, freed = hold_records(engine, intrusion.id)
    assert (held.action, held.actor, held.role) == ("evidence.held", "guard-ani", "guard")
    assert json.loads(held.after)["reason"] == "confirmed intrusion"
    assert (freed.action, freed.actor, freed.role) == ("evidence.released", "auditor-sri", "cli")
    assert json.loads(freed.after)["reason"] == "case closed"
    assert json.loads(freed.before)["reason"] == "confirmed intrusion"


def test_holds_at_the_command_line_and_their_clear_refusals(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    event = store_event(engine, settings, when=WHEN, track_id=1)
    held = run(database_url, settings, tmp_path, "evidence", "hold", str(event.id), "--reason", " police request 17 ",
               "--by", "auditor-sri")
    assert held.exit_code == 0, held.output
    assert f"event #{event.id} held by auditor-sri" in held.output and "police request 17" in held.output
    [record] = hold_records(engine, event.id)
    assert (record.actor, record.role, json.loads(record.after)["reason"]) == ("auditor-sri", "cli", "police request 17")

    refusals = {
        ("hold", str(event.id), "--reason", "again"): "held already",
        ("hold", "999999", "--reason", "x"): "there is no event #999999",
        ("hold", str(event.id), "--reason", "   "): "give the reason",
        ("hold", str(event.id), "--reason", "x" * 501): "at most 500 characters",
        ("release", "999999"): "there is no event #999999",
    }
    for args, message in refusals.items():
        refused = run(database_url, settings, tmp_path, "evidence", *args)
        assert refused.exit_code == 2 and message in refused.output, (args, refused.output)
    assert run(database_url, settings, tmp_path, "evidence", "hold", str(event.id)).exit_code == 2  # --reason needed

    assert run(database_url, settings, tmp_path, "evidence", "release", str(event.id)).exit_code == 0
    not_held = run(database_url, settings, tmp_path, "evidence", "release", str(event.id))
    assert not_held.exit_code == 2 and f"event #{event.id} is not held" in not_held.output
    assert len(hold_records(engine, event.id)) == 2  # the refusals wrote nothing


def test_a_later_decision_leaves_the_hold_and_a_passage_is_held_whole(
    engine: sa.Engine, settings: Settings
) -> None:
    rider, bike = (store_event(engine, settings, when=WHEN, track_id=i) for i in (1, 2))
    with session_scope(engine) as session:
        session.get(EntryEvent, bike.id).passage_id = rider.id
        session.get(EntryEvent, rider.id).passage_id = rider.id
    with session_scope(engine) as session:
        decide(session, rider.id, Decision.CONFIRM, actor="guard-ani", role="guard", note="no pass")
    with session_scope(engine) as session:
        decide(session, rider.id, Decision.NOTE, actor="op-budi", role="operator", note="police informed")
    with Session(engine) as session:
        assert holds.is_held(session, rider.id) and holds.is_held(session, bike.id)
        assert len(session.exec(select(EvidenceHold)).all()) == 2
    result = apply_retention(engine, settings, actor="cli:ops", role="cli", days=1, now=WHEN + timedelta(days=5))
    assert (result.events, result.kept_held) == (0, 2)


def test_the_visit_linked_to_a_held_event_is_held_too(engine: sa.Engine, settings: Settings,
                                                       history: list[EntryEvent]) -> None:
    explained = history[0]
    assert explained.visit_id is not None
    with session_scope(engine) as session:
        assert holds.held_visit_ids(session) == set()
        holds.place_hold(session, explained.id, "dispute over the visit", actor="auditor-sri", role="auditor")
    with session_scope(engine) as session:
        assert holds.held_visit_ids(session) == {explained.visit_id}
        holds.release_holds(session, explained.id, actor="auditor-sri", role="auditor")
    with Session(engine) as session:
        assert holds.held_visit_ids(session) == set()


def test_a_dry_run_counts_the_held_events_and_changes_nothing(engine: sa.Engine, settings: Settings) -> None:
    held, loose = (store_event(engine, settings, when=WHEN, track_id=i) for i in (1, 2))
    with session_scope(engine) as session:
        holds.place_hold(session, held.id, "court order", actor="auditor-sri", role="auditor")
    records = len(chain(engine))
    result = apply_retention(engine, settings, actor="cli:ops", role="cli", days=1, now=WHEN + timedelta(days=2),
                             dry_run=True)
    assert (result.events, result.files, result.kept_held) == (1, 2, 1)
    assert len(chain(engine)) == records
    assert all(p.exists() for e in (held, loose) for p in files_of(settings, e))


@pytest.mark.parametrize("args", [["--days", "30"], ["--days", "30", "--evidence-days", "3"]])
def test_days_is_refused_with_a_pointer_to_the_named_periods(
    database_url: str, settings: Settings, tmp_path: Path, args: list[str]
) -> None:
    result = run(database_url, settings, tmp_path, "retention", "apply", *args)
    assert result.exit_code == 2
    assert "--days is gone" in result.output and "--evidence-days N" in result.output


def test_without_a_period_configured_or_given_nothing_is_applied(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    result = run(database_url, settings, tmp_path, "retention", "apply")
    assert result.exit_code == 2
    assert "evidence.retention_days, recording.retention_days or recording.max_disk_gb" in result.output


def test_recordings_spanning_a_held_event_are_kept_and_each_configured_retention_is_named(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    moment = utcnow() - timedelta(days=3)
    intrusion = store_event(engine, settings, when=moment, track_id=1)
    with session_scope(engine) as session:
        decide(session, intrusion.id, Decision.CONFIRM, actor="guard-ani", role="guard", note="over the wall")
    segments = {}
    with session_scope(engine) as session:
        for name, start in (("around", moment - timedelta(seconds=20)), ("later", moment + timedelta(hours=1))):
            path = Path("recordings") / settings.cameras[0].id / f"{name}.mp4"
            (settings.data_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (settings.data_dir / path).write_bytes(b"segment " + name.encode())
            session.add(RecordingSegment(camera_id=settings.cameras[0].id, started_at=start,
                                         ended_at=start + timedelta(seconds=60), path=path.as_posix(),
                                         sha256="0" * 64, size_bytes=9, frames=600))
            segments[name] = settings.data_dir / path

    config = "evidence: {retention_days: 1}\nrecording: {retention_days: 1}\n"
    applied = run(database_url, settings, tmp_path, "retention", "apply", "--by", "ops", config=config)
    assert applied.exit_code == 0, applied.output
    assert "evidence (evidence.retention_days 1)" in applied.output and "kept 1 held events" in applied.output
    assert "recordings (recording.retention_days 1)" in applied.output
    assert "deleted 1 segments" in applied.output and "1 spanning held ones" in applied.output
    assert segments["around"].exists() and not segments["later"].exists()

    only_evidence = run(database_url, settings, tmp_path, "retention", "apply", "--evidence-days", "1", config=config)
    assert only_evidence.exit_code == 0 and "recordings" not in only_evidence.output  # only what is named
    with session_scope(engine) as session:
        holds.release_holds(session, intrusion.id, actor="auditor-sri", role="auditor", reason="closed")
    released = run(database_url, settings, tmp_path, "retention", "apply", "--recording-days", "1", config=config)
    assert released.exit_code == 0, released.output
    assert "recordings (--recording-days 1)" in released.output and "evidence" not in released.output
    assert "deleted 1 segments" in released.output and not segments["around"].exists()
