"""Migration 0017 converts a trail written the old way: payloads chained themselves, NIKs in clear.

The history is written by today's code, then put back in the old form as the old code wrote it
(the visitor's NIK in clear in ``visit.created``, a reviewer's note naming one) and chained the
old way; the migration must mask every NIK, keep every record's place, name the old chain's head
in the new chain, and leave a chain that verifies.
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import command

from gatewatch.audit import trail
from gatewatch.audit.rechain import RECHAINED_ACTION, legacy_chain, legacy_record_digest
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import alembic_config, session_scope
from gatewatch.models.tables import EntryEvent
from gatewatch.models.types import UTCDateTime
from gatewatch.settings import Settings
from tests.evidence_fixtures import NIK, chain, execute

NIK_IN_CLEAR = re.compile(r"(?<![0-9A-Za-z])[0-9]{16}(?![0-9A-Za-z])")
SPACED_NIK = "3174 0512 0385 0002"


def _old_form(engine: sa.Engine) -> tuple[int, str]:
    """Downgrade, write the NIKs back as the old code did, chain the old way; the old head."""
    command.downgrade(alembic_config(engine), "0016")
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text("SELECT id, action, after FROM auditrecord ORDER BY seq")).mappings())
    for row in rows:
        after = json.loads(row["after"]) if row["after"] else None
        if row["action"] == "visit.created":
            after = {k: v for k, v in after.items() if k != "visit_id"} | {"id_number": NIK}
        elif row["action"] == "event.false_alarm":
            after["note"] = f"the visitor {NIK} came back; his brother {SPACED_NIK} too"
        else:
            continue
        execute(engine, "UPDATE auditrecord SET after = :after WHERE id = :id", after=trail.canonical_json(after),
                id=row["id"])
    with engine.begin() as connection:
        legacy_chain(connection)
        head = connection.execute(sa.text("SELECT seq, sha256 FROM auditchainhead")).one()
        old = list(connection.execute(sa.text("SELECT * FROM auditrecord ORDER BY seq").columns(at=UTCDateTime()))
                   .mappings())
    previous = trail.GENESIS_SHA256
    for row in old:  # the old chain holds, as the old code would have verified it
        assert row["prev_sha256"] == previous and legacy_record_digest(row) == row["sha256"]
        previous = row["sha256"]
    assert sum(NIK in (r["after"] or "") for r in old) == 2
    return head.seq, head.sha256


def test_the_migration_masks_every_nik_and_names_the_old_head(engine: sa.Engine, settings: Settings,
                                                              history: list[EntryEvent]) -> None:
    before = [(r.id, r.seq, r.action) for r in chain(engine)]
    old_seq, old_sha256 = _old_form(engine)
    command.upgrade(alembic_config(engine), "head")

    records = chain(engine)
    assert [(r.id, r.seq, r.action) for r in records[:-1]] == before  # every record kept, in its place
    rechained = records[-1]
    assert (rechained.seq, rechained.action, rechained.actor) == (old_seq + 1, RECHAINED_ACTION, "system")
    summary = json.loads(rechained.after)
    assert summary["old_head"] == {"seq": old_seq, "sha256": old_sha256}
    assert summary["old_chain"] == {"records": old_seq, "ok": True, "breaks": 0, "first_breaks": []}
    assert summary["niks_masked"] == 3
    assert not any(NIK_IN_CLEAR.search(f"{r.before}{r.after}") for r in records)
    assert not any("0385 0002" in f"{r.before}{r.after}" for r in records)

    visit = next(r for r in records if r.action == "visit.created")
    after = json.loads(visit.after)
    assert (after["id_number"], after["visit_id"]) == ("3174 **** **** 0001", int(visit.entity_id))
    note = json.loads(next(r for r in records if r.action == "event.false_alarm").after)
    assert note["note"] == "the visitor 3174 **** **** 0001 came back; his brother 3174 **** **** 0002 too"
    assert note["nik_visit_ids"] == [int(visit.entity_id)]
    assert all(r.digests and r.sha256 == trail.record_digest(r.model_dump()) for r in records)
    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()

    with session_scope(engine) as session:  # the new chain goes on
        trail.record(session, actor="a", role="admin", action="test.after", entity="test", entity_id=1)
    assert verify_integrity(engine, settings, check_files=False).ok


def test_a_broken_old_chain_is_named_in_the_new_one(engine: sa.Engine, settings: Settings,
                                                    history: list[EntryEvent]) -> None:
    _old_form(engine)
    with engine.connect() as connection:
        seq = connection.execute(sa.text("SELECT seq FROM auditrecord ORDER BY seq LIMIT 1 OFFSET 2")).scalar_one()
    execute(engine, "UPDATE auditrecord SET actor = 'guard-budi' WHERE seq = :seq", seq=seq)
    command.upgrade(alembic_config(engine), "head")

    summary = json.loads(chain(engine)[-1].after)["old_chain"]
    assert (summary["ok"], summary["breaks"], summary["first_breaks"]) == (False, 1, [seq])
    assert verify_integrity(engine, settings, check_files=False).ok  # the new chain itself holds
