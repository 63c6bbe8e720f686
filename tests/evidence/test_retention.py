"""Retention: old evidence deleted on the record, told apart from evidence deleted or changed by anyone else."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session

from gatewatch.camera.store import EventStore
from gatewatch.cli.main import main
from gatewatch.evidence.integrity import EventProblem, FileProblem, verify_integrity
from gatewatch.evidence.retention import RetentionError, apply_retention
from gatewatch.models.tables import EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.plates import Plate
from gatewatch.settings import Settings
from tests.evidence_fixtures import WHEN, chain, execute, flip_byte, store_event
from tests.plate_images import car_draft, car_scene

NOW = WHEN + timedelta(days=31)


@pytest.fixture
def events(engine: sa.Engine, settings: Settings) -> tuple[EntryEvent, EntryEvent]:
    """An entry 31 days old and one 10 days old."""
    return (store_event(engine, settings, when=WHEN, track_id=1),
            store_event(engine, settings, when=WHEN + timedelta(days=21), track_id=2))


def reload(engine: sa.Engine, event: EntryEvent) -> EntryEvent:
    with Session(engine) as session:
        return session.get(EntryEvent, event.id)


def test_expired_evidence_is_deleted_on_the_record_and_verify_says_expired(
    engine: sa.Engine, settings: Settings, events: tuple[EntryEvent, EntryEvent]
) -> None:
    old, recent = events
    old_files = [settings.data_dir / old.snapshot_path, settings.data_dir / old.clip_path]
    thumbnail = settings.data_dir / "thumbnails" / f"{old.id}.jpg"
    thumbnail.parent.mkdir()
    thumbnail.write_bytes(b"a copy the web app made")

    sizes = sum(p.stat().st_size for p in old_files)

    result = apply_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW)
    assert (result.events, result.files, result.bytes, result.failures) == (1, 2, sizes, [])
    assert not any(p.exists() for p in old_files) and not thumbnail.exists()
    assert (settings.data_dir / recent.snapshot_path).exists() and (settings.data_dir / recent.clip_path).exists()

    expired = reload(engine, old)
    assert expired.evidence_expired_at == NOW
    assert expired.snapshot_path is None and expired.clip_path is None
    assert (expired.snapshot_sha256, expired.clip_sha256) == (old.snapshot_sha256, old.clip_sha256)  # kept
    record = chain(engine)[-1]
    assert (record.action, record.entity_id, record.actor) == ("evidence.expired", str(old.id), "cli:ops")
    deleted = json.loads(record.after)["deleted_files"]
    assert deleted == [{"path": old.snapshot_path, "sha256": old.snapshot_sha256},
                       {"path": old.clip_path, "sha256": old.clip_sha256}]

    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert {(f.event_id, f.path, f.sha256) for f in report.expired.items} == {
        (old.id, old.snapshot_path, old.snapshot_sha256), (old.id, old.clip_path, old.clip_sha256)}
    # Nothing is left to expire: a second run changes nothing.
    again = apply_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW)
    assert (again.events, again.files) == (0, 0)


def test_a_tampered_or_deleted_file_is_still_reported_beside_expired_ones(
    engine: sa.Engine, settings: Settings, events: tuple[EntryEvent, EntryEvent]
) -> None:
    old, recent = events
    apply_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=NOW)
    flip_byte(settings.data_dir / recent.snapshot_path)
    (settings.data_dir / recent.clip_path).unlink()

    report = verify_integrity(engine, settings)
    assert not report.ok
    assert {(f.kind, f.event_id, f.path) for f in report.file_issues.items} == {
        (FileProblem.ALTERED, recent.id, recent.snapshot_path), (FileProblem.MISSING, recent.id, recent.clip_path)}
    assert {f.event_id for f in report.expired.items} == {old.id}


def test_evidence_marked_expired_behind_the_applications_back_is_not_expired(
    engine: sa.Engine, settings: Settings, events: tuple[EntryEvent, EntryEvent]
) -> None:
    _, recent = events
    (settings.data_dir / recent.clip_path).unlink()
    execute(engine, "UPDATE entryevent SET clip_path = NULL, evidence_expired_at = :now WHERE id = :id",
            now=NOW.replace(tzinfo=None), id=recent.id)

    report = verify_integrity(engine, settings)
    assert report.expired.total == 0
    assert [(f.kind, f.path) for f in report.file_issues.items] == [(FileProblem.MISSING, recent.clip_path)]
    assert {(i.kind, i.field) for i in report.event_issues.items} == {
        (EventProblem.ALTERED, "clip_path"), (EventProblem.ALTERED, "evidence_expired_at")}


def test_a_dry_run_changes_nothing_and_a_period_is_required(
    engine: sa.Engine, settings: Settings, events: tuple[EntryEvent, EntryEvent]
) -> None:
    records = len(chain(engine))
    result = apply_retention(engine, settings, actor="cli:ops", role="cli", days=5, now=NOW, dry_run=True)
    assert (result.events, result.files) == (2, 4)
    assert len(chain(engine)) == records
    assert all((settings.data_dir / e.clip_path).exists() for e in events)
    with pytest.raises(RetentionError, match="retention_days"):
        apply_retention(engine, settings, actor="cli:ops", role="cli", now=NOW)


def test_retention_apply_command_uses_the_configured_period(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    old = store_event(engine, settings, when=utcnow() - timedelta(days=3), track_id=1)
    recent = store_event(engine, settings, when=utcnow() - timedelta(hours=1), track_id=2)
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n"
                      "evidence: {retention_days: 2}\n")
    result = CliRunner().invoke(main, ["retention", "apply", "--config", str(config), "--db", database_url,
                                       "--by", "ops"])
    assert result.exit_code == 0, result.output
    assert "evidence (evidence.retention_days 2)" in result.output  # says which retention it applied
    assert "1 events, deleted 2 files" in result.output and "recordings" not in result.output
    assert reload(engine, old).evidence_expired_at is not None
    assert reload(engine, recent).evidence_expired_at is None


def test_a_plate_crop_expires_with_the_rest_of_the_evidence(engine: sa.Engine, settings: Settings) -> None:
    frame, box = car_scene(Plate("BG", "1234", "AB"), 520, random.Random(3))
    camera = settings.cameras[0]
    store = EventStore(engine, settings, camera, "file:plates")
    event = store.save(car_draft(frame, box, when=WHEN)).event
    crop = settings.data_dir / event.plate_crop_path
    assert crop.is_file()

    result = apply_retention(engine, settings, actor="cli:ops", role="cli", days=30, now=event.occurred_at
                             + timedelta(days=31))
    assert (result.events, result.files) == (1, 3) and not crop.exists()
    expired = reload(engine, event)
    assert expired.plate_crop_path is None and expired.plate_crop_sha256 == event.plate_crop_sha256
    assert expired.plate_text == "BG 1234 AB"  # what was read stays; only the image goes
    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert (event.id, event.plate_crop_path, event.plate_crop_sha256) in {
        (f.event_id, f.path, f.sha256) for f in report.expired.items}
