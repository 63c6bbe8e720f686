"""The hash-chained audit trail: appended safely, and every kind of tampering found and located."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlmodel import Session

from gatewatch.audit import events as audit_events
from gatewatch.audit import trail
from gatewatch.cli.main import main
from gatewatch.evidence.files import file_sha256
from gatewatch.evidence.integrity import (
    ChainProblem,
    EventProblem,
    FileProblem,
    seal_events,
    verify_integrity,
)
from gatewatch.models.db import alembic_config, session_scope
from gatewatch.models.tables import AuditChainHead, EntryEvent
from gatewatch.settings import Settings
from tests.evidence_fixtures import chain, execute, flip_byte, store_event


def test_a_clean_history_verifies_and_every_change_is_chained(engine: sa.Engine, settings: Settings,
                                                               history: list[EntryEvent]) -> None:
    records = chain(engine)
    actions = [r.action for r in records]
    assert actions.count("event.recorded") == 3
    assert {"visit.created", "event.auto_resolved", "event.false_alarm"} <= set(actions)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    previous = trail.GENESIS_SHA256
    for record in records:
        assert record.prev_sha256 == previous
        assert record.sha256 == trail.record_digest(record.model_dump())
        previous = record.sha256
    with Session(engine) as session:
        head = session.get(AuditChainHead, 1)
    assert (head.seq, head.sha256) == (len(records), previous)

    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert (report.records, report.events, report.files) == (len(records), 3, 6)
    assert (report.head_seq, report.head_sha256) == (len(records), previous)


def test_one_changed_byte_of_a_snapshot_is_located(engine: sa.Engine, settings: Settings,
                                                   history: list[EntryEvent]) -> None:
    event = history[1]
    path = settings.data_dir / event.snapshot_path
    recorded = event.snapshot_sha256
    flip_byte(path)

    report = verify_integrity(engine, settings)
    assert not report.ok
    assert report.chain.total == 0 and report.event_issues.total == 0
    [issue] = report.file_issues.items
    assert issue.kind == FileProblem.ALTERED
    assert (issue.event_id, issue.path) == (event.id, event.snapshot_path)
    assert (issue.expected_sha256, issue.actual_sha256) == (recorded, file_sha256(path))
    assert verify_integrity(engine, settings, check_files=False).ok  # the records themselves are intact


def test_one_field_changed_in_the_database_is_located(engine: sa.Engine, settings: Settings,
                                                      history: list[EntryEvent]) -> None:
    target = next(r for r in chain(engine) if r.action == "event.false_alarm")
    execute(engine, "UPDATE auditrecord SET actor = 'guard-budi' WHERE id = :id", id=target.id)

    report = verify_integrity(engine, settings)
    assert not report.ok
    [issue] = report.chain.items
    assert (issue.kind, issue.record_id, issue.seq) == (ChainProblem.CONTENT, target.id, target.seq)
    assert report.first_break == issue


def test_a_record_rewritten_with_a_recomputed_hash_breaks_the_next_link(engine: sa.Engine, settings: Settings,
                                                                       history: list[EntryEvent]) -> None:
    records = chain(engine)
    target, following = records[3], records[4]
    forged = {**target.model_dump(), "actor": "guard-budi"}
    execute(engine, "UPDATE auditrecord SET actor = 'guard-budi', sha256 = :sha WHERE id = :id",
            sha=trail.record_digest(forged), id=target.id)

    [issue] = verify_integrity(engine, settings).chain.items
    assert (issue.kind, issue.record_id) == (ChainProblem.LINK, following.id)
    assert f"record id {target.id}" in issue.message and "rewritten" in issue.message


def test_a_deleted_record_is_located(engine: sa.Engine, settings: Settings, history: list[EntryEvent]) -> None:
    records = chain(engine)
    gone, after = records[2], records[3]
    execute(engine, "DELETE FROM auditrecord WHERE id = :id", id=gone.id)

    [issue] = verify_integrity(engine, settings).chain.items
    assert (issue.kind, issue.record_id) == (ChainProblem.MISSING, after.id)
    assert f"seq {gone.seq}..{gone.seq} missing" in issue.message


def test_deleting_the_newest_record_is_located_by_the_chain_head(engine: sa.Engine, settings: Settings,
                                                                history: list[EntryEvent]) -> None:
    records = chain(engine)
    execute(engine, "DELETE FROM auditrecord WHERE id = :id", id=records[-1].id)

    [issue] = verify_integrity(engine, settings).chain.items
    assert issue.kind == ChainProblem.MISSING
    assert issue.record_id == records[-2].id
    assert f"seq {records[-1].seq}..{records[-1].seq} missing at the end" in issue.message


def test_two_reordered_records_are_located(engine: sa.Engine, settings: Settings, history: list[EntryEvent]) -> None:
    records = chain(engine)
    first, second, follower = records[2], records[3], records[4]
    execute(engine, "UPDATE auditrecord SET seq = -1 WHERE id = :id", id=first.id)
    execute(engine, "UPDATE auditrecord SET seq = :seq WHERE id = :id", seq=first.seq, id=second.id)
    execute(engine, "UPDATE auditrecord SET seq = :seq WHERE id = :id", seq=second.seq, id=first.id)

    report = verify_integrity(engine, settings)
    assert [(i.kind, i.record_id) for i in report.chain.items] == [
        (ChainProblem.REORDERED, second.id), (ChainProblem.REORDERED, first.id), (ChainProblem.REORDERED, follower.id)
    ]
    assert report.first_break.seq == first.seq
    assert f"chained after record id {first.id}" in report.first_break.message
    assert "this record was moved" in report.first_break.message
    assert "the records before it were reordered" in report.chain.items[2].message


def test_records_whose_ids_were_swapped_are_located(engine: sa.Engine, settings: Settings,
                                                    history: list[EntryEvent]) -> None:
    records = chain(engine)
    first, second = records[1], records[2]
    for old, new in ((first.id, -1), (second.id, first.id), (-1, second.id)):
        execute(engine, "UPDATE auditrecord SET id = :new WHERE id = :old", old=old, new=new)

    report = verify_integrity(engine, settings)
    assert [i.kind for i in report.chain.items] == [ChainProblem.REORDERED] * 2
    assert f"was written as record id {first.id}" in report.chain.items[0].message


def test_an_edited_or_deleted_event_row_is_located(engine: sa.Engine, settings: Settings,
                                                   history: list[EntryEvent]) -> None:
    flagged, cleared = history[2], history[1]
    execute(engine, "UPDATE entryevent SET status = 'explained' WHERE id = :id", id=flagged.id)
    execute(engine, "UPDATE entryevent SET confidence = 0.99 WHERE id = :id", id=cleared.id)

    report = verify_integrity(engine, settings)
    assert report.chain.total == 0  # the audit records are untouched: the rows disagree with them
    found = {(i.kind, i.event_id, i.field, i.expected, i.actual) for i in report.event_issues.items}
    assert found == {
        (EventProblem.ALTERED, flagged.id, "status", "flagged", "explained"),
        (EventProblem.ALTERED, cleared.id, "confidence", 0.83, 0.99),
    }

    execute(engine, "DELETE FROM review WHERE event_id = :id", id=cleared.id)
    execute(engine, "DELETE FROM entryevent WHERE id = :id", id=cleared.id)
    kinds = {(i.kind, i.event_id) for i in verify_integrity(engine, settings).event_issues.items}
    assert (EventProblem.DELETED, cleared.id) in kinds


def test_concurrent_appends_form_one_unbroken_chain(engine: sa.Engine, settings: Settings) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(8):
                with session_scope(engine) as session:
                    for part in range(2):
                        trail.record(session, actor=f"worker-{worker}", role="admin", action="test.append",
                                     entity="test", entity_id=f"{worker}-{n}-{part}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = chain(engine)
    assert [r.seq for r in records] == list(range(1, 65))
    # Each transaction's two records stand together: a transaction appends all its records at once.
    assert all(records[i].entity_id[:-2] == records[i + 1].entity_id[:-2] for i in range(0, 64, 2))
    assert len({r.entity_id for r in records}) == 64
    assert verify_integrity(engine, settings).ok


def test_records_of_a_rolled_back_savepoint_leave_no_gap(engine: sa.Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        trail.record(session, actor="a", role="admin", action="test.kept", entity="test", entity_id=1)
        with pytest.raises(RuntimeError), session.begin_nested():
            trail.record(session, actor="a", role="admin", action="test.dropped", entity="test", entity_id=2)
            session.flush()
            raise RuntimeError("undo")
        trail.record(session, actor="a", role="admin", action="test.kept", entity="test", entity_id=3)
    records = chain(engine)
    assert [(r.seq, r.entity_id) for r in records] == [(1, "1"), (2, "3")]
    assert verify_integrity(engine, settings).ok


def test_the_migration_chains_records_written_before_it(engine: sa.Engine, settings: Settings) -> None:
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    execute(engine, "INSERT INTO auditrecord (at, actor, role, action, entity, entity_id, before, after) "
                    "VALUES ('2026-11-20 02:00:00.250000', 'guard-ani', 'guard', 'visit.created', 'visit', '7', "
                    "NULL, :after)", after='{"party_size":2}')
    execute(engine, "INSERT INTO auditrecord (at, actor, role, action, entity, entity_id) "
                    "VALUES ('2026-11-20 02:05:00', 'admin', 'admin', 'user.created', 'user', '3')")
    command.upgrade(config, "head")
    with session_scope(engine) as session:
        trail.record(session, actor="a", role="admin", action="test.after", entity="test", entity_id=1)

    records = chain(engine)
    assert [(r.seq, r.action) for r in records] == [(1, "visit.created"), (2, "user.created"),
                                                    (3, "audit.rechained"), (4, "test.after")]
    assert verify_integrity(engine, settings).ok


def test_events_recorded_before_riders_verify_after_the_migration(
    engine: sa.Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded as the pipeline did before 0005: the audit record does not name rides_track_id.
    later = ("rides_track_id", "passage_id", "source_id",  # fields from 0005 and 0006
             "boxes_sha256", "clip_kind", "clip_start_seconds")  # and from 0009
    before = tuple(name for name in audit_events.FIXED_EVENT_FIELDS if name not in later)
    monkeypatch.setattr(audit_events, "FIXED_EVENT_FIELDS", before)
    event = store_event(engine, settings)
    monkeypatch.undo()
    [record] = [r for r in chain(engine) if r.action == "event.recorded"]
    assert "rides_track_id" not in record.after
    config = alembic_config(engine)
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    with Session(engine) as session:
        assert session.get(EntryEvent, event.id).rides_track_id is None
    assert verify_integrity(engine, settings).ok
    # An event recorded now names it, and is checked on it.
    later = store_event(engine, settings, track_id=6)
    assert '"rides_track_id":null' in chain(engine)[-1].after
    execute(engine, "UPDATE entryevent SET rides_track_id = 3 WHERE id = :id", id=later.id)
    [issue] = verify_integrity(engine, settings).event_issues.items
    assert (issue.kind, issue.event_id, issue.field) == (EventProblem.ALTERED, later.id, "rides_track_id")


def test_events_stored_before_the_chain_are_reported_until_sealed(engine: sa.Engine, settings: Settings) -> None:
    event = store_event(engine, settings)
    execute(engine, "DELETE FROM auditrecord")
    execute(engine, "UPDATE auditchainhead SET seq = 0, sha256 = :genesis", genesis=trail.GENESIS_SHA256)
    execute(engine, "UPDATE entryevent SET snapshot_sha256 = NULL, clip_sha256 = NULL")
    [issue] = verify_integrity(engine, settings).event_issues.items
    assert (issue.kind, issue.event_id) == (EventProblem.UNRECORDED, event.id)

    assert seal_events(engine, settings, actor="auditor-sri", role="cli") == 1
    assert seal_events(engine, settings, actor="auditor-sri", role="cli") == 0
    [record] = chain(engine)
    assert (record.action, record.actor) == ("event.sealed", "auditor-sri")
    assert f'"snapshot_sha256":"{event.snapshot_sha256}"' in record.after
    assert verify_integrity(engine, settings).ok


def _verify_cli(database_url: str, tmp_path: Path, settings: Settings, *args: str) -> tuple[int, str]:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n"
                      f"cameras: [{settings.cameras[0].model_dump_json()}]\n")
    result = CliRunner().invoke(main, ["audit", "verify", "--config", str(config), "--db", database_url, *args])
    return result.exit_code, result.output


def test_audit_verify_command_exits_0_only_when_everything_holds(
    database_url: str, engine: sa.Engine, settings: Settings, history: list[EntryEvent], tmp_path: Path
) -> None:
    code, output = _verify_cli(database_url, tmp_path, settings)
    assert code == 0, output
    assert "OK: the records and evidence are as written" in output

    target = chain(engine)[4]
    execute(engine, "UPDATE auditrecord SET actor = 'guard-budi' WHERE id = :id", id=target.id)
    (settings.data_dir / history[0].clip_path).unlink()
    code, output = _verify_cli(database_url, tmp_path, settings)
    assert code == 1
    assert f"FIRST BREAK: record id {target.id} (seq {target.seq}): content_mismatch" in output
    assert f"event #{history[0].id}: {history[0].clip_path} is missing" in output

    # A payload changed leaves the chain's hashes as they were: its fields are checked against their digests.
    execute(engine, "UPDATE auditrecord SET actor = :actor, after = '{}' WHERE id = :id", actor=target.actor,
            id=target.id)
    code, output = _verify_cli(database_url, tmp_path, settings, "--json")
    assert code == 1
    assert '"kind": "payload_altered"' in output and '"field": "after.*"' in output and '"ok": false' in output
