"""``gatewatch visits subject``: everything held about one NIK, read from standard input, as text, JSON
and a ZIP with the evidence of the entries, audited with the NIK masked; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, Authorisation, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors import watched_persons
from gatewatch.visitors.nik_display import masked_nik
from tests.evidence_fixtures import NIK, WHEN

OTHER_NIK = "1671014507880005"  # valid, never registered


def _subject(database_url: str, tmp_path: Path, settings: Settings, stdin: str, *args: str) -> Result:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\ntimezone: Asia/Jakarta\n"
                      f"cameras: [{settings.cameras[0].model_dump_json()}]\n")
    return CliRunner().invoke(main, ["visits", "subject", "--config", str(config), "--db", database_url,
                                     "--by", "dpo-sri", *args], input=stdin)


def _access_records(engine: sa.Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == "visits.subject_access")
                                 .order_by(AuditRecord.id)))


def _listed_elsewhere(engine: sa.Engine, settings: Settings) -> None:
    """The NIK as a member of an authorisation and on the persons watch list too."""
    with session_scope(engine) as session:
        session.add(Authorisation(holder="Regu Kebersihan", valid_from=WHEN.date(), valid_until=WHEN.date(),
                                  max_persons=2, created_by="admin", members=json.dumps(
                                      [{"name": "Budi", "id_number": NIK}, {"name": "Ani", "id_number": OTHER_NIK}])))
        watched_persons.add_person(session, NIK, "Banned after the theft of 3 March", actor="admin", role="admin",
                                   settings=settings)


def test_everything_held_about_a_nik_as_json_text_and_zip_audited_with_the_nik_masked(
    database_url: str, engine: sa.Engine, settings: Settings, history: list[EntryEvent], tmp_path: Path
) -> None:
    _listed_elsewhere(engine, settings)
    linked = history[0]

    result = _subject(database_url, tmp_path, settings, f"{NIK}\n", "--json")
    assert result.exit_code == 0, result.output
    held = json.loads(result.stdout)
    [visit] = held["visits"]
    assert (visit["id_number"], visit["visitor_name"], visit["registered_by"]) == (NIK, "Budi", "guard-ani")
    [authorisation] = held["authorisations"]
    assert authorisation["members_named"] == [{"name": "Budi", "id_number": NIK}]
    assert OTHER_NIK not in result.stdout  # the other member is not this person's data
    events = {event["id"]: event for event in held["events"]}
    assert "linked" in events[linked.id]["why"] and set(events) <= {e.id for e in history}
    evidence = {item["kind"]: item for item in events[linked.id]["evidence"]}
    assert evidence["snapshot"]["sha256"] == linked.snapshot_sha256 and evidence["snapshot"]["present"]
    assert evidence["clip"]["path"] == linked.clip_path
    assert [entry["reason"] for entry in held["watchlist"]] == ["Banned after the theft of 3 March"]
    assert {"visit.created", "watchlist_person.added"} <= {r["action"] for r in held["audit_records"]}

    text = _subject(database_url, tmp_path, settings, f"{NIK}\n")
    assert text.exit_code == 0, text.output
    assert f"visit #{visit['id']}" in text.stdout and f"event #{linked.id}" in text.stdout
    assert linked.snapshot_sha256 in text.stdout and "Regu Kebersihan" in text.stdout

    archive = tmp_path / "subject.zip"
    zipped = _subject(database_url, tmp_path, settings, f"{NIK}\n", "--zip", str(archive))
    assert zipped.exit_code == 0, zipped.output
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        assert json.loads(opened.read("subject.json"))["visits"][0]["id_number"] == NIK
        for path, recorded in ((linked.snapshot_path, linked.snapshot_sha256), (linked.clip_path, linked.clip_sha256)):
            assert hashlib.sha256(opened.read(path)).hexdigest() == recorded == manifest["files"][path]["sha256"]
        for name in opened.namelist():
            if name != "manifest.json":
                assert manifest["files"][name]["sha256"] == hashlib.sha256(opened.read(name)).hexdigest()
    assert manifest["evidence_problems"] == []

    records = _access_records(engine)
    assert [r.actor for r in records] == ["dpo-sri"] * 3
    after = json.loads(records[-1].after)
    assert (after["nik"], after["visits"], after["delivered"], after["file"]) == (
        masked_nik(NIK), 1, "text+zip", "subject.zip")
    assert after["records"] >= 1 + 1 + len(events) + 1
    assert records[-1].entity_id == masked_nik(NIK)
    assert all(NIK not in (r.after or "") + r.entity_id for r in records)


def test_an_unknown_nik_gets_an_empty_answer_and_a_malformed_one_a_clear_error(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    empty = _subject(database_url, tmp_path, settings, f"{OTHER_NIK}\n")
    assert empty.exit_code == 0, empty.output
    assert "Nothing is held about this NIK." in empty.stdout
    [record] = _access_records(engine)
    assert json.loads(record.after)["visits"] == 0 and OTHER_NIK not in record.after

    for typed, message in (("1671 0145 0788\n", "a NIK is exactly 16 digits; this one has 12 characters"),
                           ("\n", "a NIK is exactly 16 digits; this one has 0 characters"),
                           ("0071014507880005\n", "are not an Indonesian province code")):
        refused = _subject(database_url, tmp_path, settings, typed)
        assert refused.exit_code == 2 and message in refused.stderr and "Traceback" not in refused.output
    assert len(_access_records(engine)) == 1  # refused look-ups read nothing, so there is nothing to audit

