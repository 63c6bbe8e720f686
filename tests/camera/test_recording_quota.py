"""A recording camera keeps all recordings within recording.max_disk_gb as it writes them: between two
runs of `retention apply`, a busy camera must not fill the disk and lose its newest footage as gaps."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.segments import RecordingQuota
from gatewatch.evidence.files import resolve
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.tables import AuditRecord, RecordingSegment
from gatewatch.settings import Settings
from tests.continuous_recording import record_footage
from tests.evidence_fixtures import WHEN


def test_the_worker_deletes_the_oldest_segments_beyond_the_quota_as_it_records(
    engine: sa.Engine, settings: Settings
) -> None:
    first = record_footage(engine, settings, WHEN)  # two segments: 5 s and 2.5 s of footage
    budget = sum(s.size_bytes for s in first) + 1  # room for one recording of the clip, not two
    settings = settings.model_copy(update={"recording": settings.recording.model_copy(
        update={"max_disk_gb": budget / 1e9, "retention_days": 1})})
    quota = RecordingQuota(engine, settings, actor="worker", interval=0.0)
    second = record_footage(engine, settings, WHEN + timedelta(minutes=5), on_stored=quota.check)

    with Session(engine) as session:
        rows = {s.id: s for s in session.exec(select(RecordingSegment))}
        expired = session.exec(select(AuditRecord).where(AuditRecord.action == "recording.expired")).all()
    kept = [s for s in rows.values() if s.deleted_at is None]
    assert sum(s.size_bytes for s in kept) <= budget
    assert [s.id for s in first] == sorted(s.id for s in rows.values() if s.deleted_at)  # the oldest went
    assert all(rows[s.id].deleted_at is None and resolve(settings.data_dir, rows[s.id].path) for s in second)
    assert {r.actor for r in expired} == {"worker"} and len(expired) == len(first)
    # retention_days 1 would delete everything recorded 40 days ago: the worker leaves age to `retention apply`
    assert len(kept) == len(second)
    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert report.expired_segments.total == len(first)


def test_without_a_quota_the_worker_deletes_nothing(engine: sa.Engine, settings: Settings) -> None:
    quota = RecordingQuota(engine, settings, actor="worker", interval=0.0)
    recorded = record_footage(engine, settings, WHEN, on_stored=quota.check)
    with Session(engine) as session:
        assert all(s.deleted_at is None for s in session.exec(select(RecordingSegment)))
    assert len(recorded) == 2
