"""Continuous recording on the record: segments' hashes in the audit chain, checked by `audit verify`,
and deleted by retention (by age, by disk quota) except around entries still open or held."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.events.reviews import Decision, decide
from gatewatch.evidence.files import file_sha256
from gatewatch.evidence.integrity import FileProblem, verify_integrity
from gatewatch.evidence.recordings import apply_recording_retention
from gatewatch.evidence.retention import RetentionError
from gatewatch.evidence.segment_integrity import RecordingProblem
from gatewatch.models.db import session_scope
from gatewatch.models.enums import OPEN_STATUSES
from gatewatch.models.tables import AuditRecord, EntryEvent, EvidenceHold, RecordingGap, RecordingSegment
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from tests.continuous_recording import record_footage
from tests.evidence_fixtures import WHEN, execute, flip_byte, store_event

NOW = WHEN + timedelta(days=40)


def segments(engine: sa.Engine) -> dict[int, RecordingSegment]:
    with Session(engine) as session:
        return {s.id: s for s in session.exec(select(RecordingSegment))}


def audit_verify(database_url: str, settings: Settings, tmp_path: Path) -> tuple[int, str]:
    """`gatewatch audit verify` on the site: its exit code and output."""
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n")
    result = CliRunner().invoke(main, ["audit", "verify", "--config", str(config), "--db", database_url])
    return result.exit_code, result.output


def test_segments_are_in_the_chain_and_verify_names_a_changed_one(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    stored = record_footage(engine, settings, WHEN)
    assert len(stored) == 2
    with Session(engine) as session:
        records = {int(r.entity_id): json.loads(r.after) for r in session.exec(
            select(AuditRecord).where(AuditRecord.action == "recording.segment"))}
    for segment in stored:
        assert segment.path.startswith(f"recordings/{settings.cameras[0].id}/{WHEN:%Y-%m-%d}/")
        assert records[segment.id]["sha256"] == segment.sha256 == file_sha256(settings.data_dir / segment.path)
        assert records[segment.id]["path"] == segment.path
    report = verify_integrity(engine, settings)
    assert report.ok, "\n".join(report.lines())
    assert (report.segments, report.files) == (2, 2)

    first, second = stored
    flip_byte(settings.data_dir / first.path, 5000)
    code, output = audit_verify(database_url, settings, tmp_path)
    assert code == 1
    assert (f"recording segment #{first.id} of camera gate-1 ({first.started_at:%Y-%m-%d %H:%M:%S} to "
            f"{first.ended_at:%Y-%m-%d %H:%M:%S} UTC): {first.path} was altered") in output
    (settings.data_dir / second.path).unlink()
    execute(engine, "UPDATE recordingsegment SET frames = frames + 1 WHERE id = :id", id=second.id)
    execute(engine, "INSERT INTO recordinggap (camera_id, started_at, ended_at, reason) "
                    "VALUES ('gate-1', '2026-11-19 00:00:00', '2026-11-19 01:00:00', 'made up')")
    report = verify_integrity(engine, settings)

    assert not report.ok
    altered, missing = report.file_issues.items
    assert (altered.kind, altered.segment_id, missing.kind, missing.segment_id) == (
        FileProblem.ALTERED, first.id, FileProblem.MISSING, second.id)
    assert altered.actual_sha256 == file_sha256(settings.data_dir / first.path)
    assert altered.message.startswith(f"recording segment #{first.id} of camera gate-1 "
                                      f"({first.started_at:%Y-%m-%d %H:%M:%S} to {first.ended_at:%Y-%m-%d %H:%M:%S}"
                                      f" UTC): {first.path} was altered: expected SHA-256 {first.sha256}")
    changed, unrecorded = report.recording_issues.items
    assert (changed.kind, changed.row_id, changed.field) == (RecordingProblem.ALTERED, second.id, "frames")
    assert (unrecorded.kind, unrecorded.entity) == (RecordingProblem.UNRECORDED, "recording_gap")
    text = "\n".join(report.lines())
    assert altered.message in text and f"recordings: recording segment #{second.id}: frames is" in text
    assert "FAILED: 0 chain, 0 event, 2 file and 2 recording problems" in text


@pytest.fixture
def recorded(engine: sa.Engine, settings: Settings) -> dict[str, list[RecordingSegment]]:
    """Three recordings of two segments each: two 40 days old (an hour apart), one of today's."""
    return {"open": record_footage(engine, settings, WHEN),
            "held": record_footage(engine, settings, WHEN + timedelta(hours=1)),
            "recent": record_footage(engine, settings, NOW - timedelta(hours=2))}


def open_entry_in(engine: sa.Engine, settings: Settings, segment: RecordingSegment, track_id: int) -> EntryEvent:
    event = store_event(engine, settings, when=segment.started_at + timedelta(seconds=1), track_id=track_id)
    assert event.status in OPEN_STATUSES
    return event


def hold(engine: sa.Engine, event: EntryEvent) -> None:
    with session_scope(engine) as session:
        session.add(EvidenceHold(event_id=event.id, reason="court case", held_by="auditor-ina"))


def test_retention_by_days_keeps_segments_around_open_and_held_entries(
    engine: sa.Engine, settings: Settings, recorded: dict[str, list[RecordingSegment]]
) -> None:
    open_event = open_entry_in(engine, settings, recorded["open"][0], track_id=1)
    held_event = open_entry_in(engine, settings, recorded["held"][0], track_id=2)
    with session_scope(engine) as session:
        decide(session, held_event.id, Decision.FALSE_ALARM, actor="guard-ani", role="guard", note="a shadow")
    hold(engine, held_event)
    doomed = [recorded["open"][1], recorded["held"][1]]
    dry = apply_recording_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW, dry_run=True)
    assert (dry.segments, dry.bytes, dry.kept_open, dry.kept_held) == (2, sum(s.size_bytes for s in doomed), 1, 1)
    assert all(s.path is not None for s in segments(engine).values())

    result = apply_recording_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW)

    assert (result.segments, result.bytes, result.kept_open, result.kept_held, result.failures) == (
        2, sum(s.size_bytes for s in doomed), 1, 1, [])
    assert result.cutoff == NOW - timedelta(days=30)
    after = segments(engine)
    for segment in doomed:
        assert after[segment.id].path is None and after[segment.id].deleted_at == NOW
        assert not (settings.data_dir / segment.path).exists()
    kept = [*recorded["recent"], recorded["open"][0], recorded["held"][0]]
    assert all((settings.data_dir / s.path).is_file() and after[s.id].deleted_at is None for s in kept)
    with Session(engine) as session:
        expired = session.exec(select(AuditRecord).where(AuditRecord.action == "recording.expired")).all()
    assert sorted(int(r.entity_id) for r in expired) == sorted(s.id for s in doomed)
    assert all(r.actor == "cli:ops" and json.loads(r.after)["path"] is None for r in expired)
    report = verify_integrity(engine, settings)
    assert report.ok, "\n".join(report.lines())
    assert report.expired_segments.total == 2  # deleted on the record: not missing

    # Once a person has decided and the hold is released, they go too.
    with session_scope(engine) as session:
        decide(session, open_event.id, Decision.FALSE_ALARM, actor="guard-ani", role="guard", note="a cat")
    execute(engine, "UPDATE evidencehold SET released_at = :now, released_by = 'auditor-ina'", now=utcnow())
    again = apply_recording_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW)
    assert (again.segments, again.kept_open, again.kept_held) == (2, 0, 0)
    assert verify_integrity(engine, settings).ok


def with_quota(settings: Settings, max_disk_gb: float) -> Settings:
    return settings.model_copy(update={"recording": settings.recording.model_copy(update={"max_disk_gb": max_disk_gb})})


def test_retention_by_quota_deletes_the_oldest_first(
    engine: sa.Engine, settings: Settings, recorded: dict[str, list[RecordingSegment]]
) -> None:
    open_entry_in(engine, settings, recorded["open"][0], track_id=1)
    everything = [s for group in recorded.values() for s in group]
    total = sum(s.size_bytes for s in everything)
    # Room for all but the two oldest segments: the oldest spans an open entry, so the next two go.
    quota = (total - recorded["open"][0].size_bytes - recorded["open"][1].size_bytes) / 1e9
    result = apply_recording_retention(engine, with_quota(settings, quota), actor="cli:ops", role="cli", now=NOW)

    assert result.cutoff is None and (result.segments, result.kept_open) == (2, 1)
    after = segments(engine)
    assert [s.id for s in everything if after[s.id].deleted_at] == [recorded["open"][1].id, recorded["held"][0].id]
    assert sum(s.size_bytes for s in everything if not after[s.id].deleted_at) <= quota * 1e9
    with pytest.raises(RetentionError, match="no retention for recordings"):
        apply_recording_retention(engine, settings, actor="cli:ops", role="cli", now=NOW)


def test_retention_apply_recording_days_command(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    old = record_footage(engine, settings, utcnow() - timedelta(days=5))
    recent = record_footage(engine, settings, utcnow() - timedelta(hours=1))
    open_entry_in(engine, settings, old[0], track_id=1)
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n")
    result = CliRunner().invoke(main, ["retention", "apply", "--recording-days", "3", "--config", str(config),
                                       "--db", database_url, "--by", "ops"])

    assert result.exit_code == 0, result.output
    assert "recordings (--recording-days 3)" in result.output
    assert f"deleted 1 segments ({old[1].size_bytes / 1e6:.1f} MB); kept 1 spanning open entries" in result.output
    assert "evidence" not in result.output
    after = segments(engine)
    assert after[old[1].id].deleted_at is not None
    assert all(after[s.id].deleted_at is None for s in (old[0], *recent))


def test_a_gap_between_recordings_is_on_the_record(engine: sa.Engine, settings: Settings) -> None:
    first = record_footage(engine, settings, WHEN)
    second = record_footage(engine, settings, WHEN + timedelta(minutes=10))
    with Session(engine) as session:
        [gap] = session.exec(select(RecordingGap)).all()
    assert (gap.started_at, gap.ended_at) == (first[-1].ended_at, second[0].started_at)
    assert "worker was not running" in gap.reason
    report = verify_integrity(engine, settings)
    assert report.ok and (report.segments, report.gaps) == (4, 1)
