"""A trail that can forget: the chain covers the payloads' digests, a personal field can be erased on
the record, and the check tells such an erasure from a payload altered or a field deleted behind its back."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import payloads, trail
from gatewatch.audit.erasure import ERASED_ACTION, RETENTION, erase_in_records, record_erasure
from gatewatch.evidence.integrity import ChainProblem, verify_integrity
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from tests.evidence_fixtures import NIK, chain, execute

#: A NIK in clear: 16 digits not part of a longer word or number (hashes are hex words).
NIK_IN_CLEAR = re.compile(r"(?<![0-9A-Za-z])[0-9]{16}(?![0-9A-Za-z])")


def _visit_record(engine: sa.Engine) -> AuditRecord:
    return next(r for r in chain(engine) if r.action == "visit.created")


def _set_after(engine: sa.Engine, record: AuditRecord, **changes: object) -> None:
    after = {k: v for k, v in {**json.loads(record.after), **changes}.items() if v is not ...}
    execute(engine, "UPDATE auditrecord SET after = :after WHERE id = :id", after=trail.canonical_json(after),
            id=record.id)


def test_the_chain_covers_digests_and_the_trail_holds_no_nik(engine: sa.Engine, settings: Settings,
                                                             history: list[EntryEvent]) -> None:
    record = _visit_record(engine)
    after = json.loads(record.after)
    assert after["id_number"] == masked_nik(NIK) == "3174 **** **** 0001"
    assert not any(NIK_IN_CLEAR.search(f"{r.before}{r.after}") for r in chain(engine))
    digests, salts = json.loads(record.digests), json.loads(record.salts)
    assert set(digests["after"]) == {payloads.REST, "visitor_name", "id_number", "organisation", "vehicle_plate",
                                     "host", "purpose"}
    assert set(salts["after"]) == set(digests["after"]) - {payloads.REST} and digests["before"] is None
    assert digests["after"]["id_number"] == payloads.field_digest(salts["after"]["id_number"], "id_number",
                                                                  after["id_number"])
    # The record's hash covers the digests, not the payload: a payload rewritten leaves it as it was.
    assert record.sha256 == trail.record_digest(record.model_dump())
    assert record.sha256 == trail.record_digest({**record.model_dump(), "after": "{}"})
    assert verify_integrity(engine, settings, check_files=False).ok


def test_an_altered_field_is_named_whether_personal_or_not(engine: sa.Engine, settings: Settings,
                                                           history: list[EntryEvent]) -> None:
    record = _visit_record(engine)
    _set_after(engine, record, visitor_name="Bodi", party_size=3)

    report = verify_integrity(engine, settings, check_files=False)
    assert not report.ok
    found = {(i.kind, i.record_id, i.field) for i in report.chain.items}
    assert found == {(ChainProblem.PAYLOAD, record.id, "after.visitor_name"),
                     (ChainProblem.PAYLOAD, record.id, "after.*")}
    assert any("after field visitor_name was altered" in i.message for i in report.chain.items)


def test_a_field_deleted_without_an_erasure_record_is_altered(engine: sa.Engine, settings: Settings,
                                                              history: list[EntryEvent]) -> None:
    record = _visit_record(engine)
    _set_after(engine, record, id_number=...)

    report = verify_integrity(engine, settings, check_files=False)
    [issue] = report.chain.items
    assert (issue.kind, issue.record_id, issue.seq, issue.field) == (
        ChainProblem.ERASED_UNRECORDED, record.id, record.seq, "after.id_number")
    assert "no erasure record names it" in issue.message
    assert report.erased_fields == 0


def test_an_erasure_on_the_record_verifies_and_its_fields_cannot_be_tried(engine: sa.Engine, settings: Settings,
                                                                          history: list[EntryEvent]) -> None:
    record = _visit_record(engine)
    with session_scope(engine) as session:
        erased = erase_in_records(session, [session.get(AuditRecord, record.id)], {"visitor_name", "id_number"})
        record_erasure(session, actor="cli:ops", role="cli", entity="visit", entity_id=record.entity_id,
                       reason=RETENTION, erased=erased)
    assert erased == [{"seq": record.seq, "after": ["id_number", "visitor_name"]}]
    with Session(engine) as session:
        kept = session.get(AuditRecord, record.id)
        erasure = session.exec(select(AuditRecord).where(AuditRecord.action == ERASED_ACTION)).one()
    after, salts = json.loads(kept.after), json.loads(kept.salts)
    assert "id_number" not in after and "visitor_name" not in after and after["party_size"] == 1
    assert not {"id_number", "visitor_name"} & set(salts["after"])  # the digests stay, their salts are gone
    assert (kept.digests, kept.sha256) == (record.digests, record.sha256)
    assert json.loads(erasure.after)["trail"] == erased

    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert report.erased_fields == 2
    assert "payloads: 2 personal fields erased on the record (retention)" in report.lines()

    # Putting a value back under an erased field is found: its salt is gone with it.
    _set_after(engine, kept, visitor_name="Budi")
    [issue] = verify_integrity(engine, settings, check_files=False).chain.items
    assert (issue.kind, issue.field) == (ChainProblem.PAYLOAD, "after.visitor_name")


def test_an_erasure_record_names_only_what_it_erased(engine: sa.Engine, settings: Settings,
                                                     history: list[EntryEvent]) -> None:
    record = _visit_record(engine)
    with session_scope(engine) as session:
        erased = erase_in_records(session, [session.get(AuditRecord, record.id)], {"visitor_name"})
        record_erasure(session, actor="cli:ops", role="cli", entity="visit", entity_id=record.entity_id,
                       reason=RETENTION, erased=erased)
    _set_after(engine, next(r for r in chain(engine) if r.id == record.id), organisation=...)

    report = verify_integrity(engine, settings, check_files=False)
    assert [(i.kind, i.field) for i in report.chain.items] == [(ChainProblem.ERASED_UNRECORDED, "after.organisation")]
    assert report.erased_fields == 1
