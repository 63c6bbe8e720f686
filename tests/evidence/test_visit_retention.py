"""Retention of the visitor log: past the period a visit's personal fields are erased, in its row and in
the audit trail, on the record; a visit linked to a held event is kept; counts, exports and the chain hold."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from gatewatch.audit.erasure import ERASED_ACTION
from gatewatch.cli.main import main
from gatewatch.evidence.export import ExportSelection, create_export, verify_export
from gatewatch.evidence.holds import place_hold
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, EntryEvent, Visit
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.visits import VisitInput, register_visit
from tests.evidence_fixtures import chain, store_event

NIKS = {"held": "3174051203850001", "old": "1671014506900002", "recent": "3273010101800003"}
NIK_IN_CLEAR = re.compile(r"(?<![0-9A-Za-z])[0-9]{16}(?![0-9A-Za-z])")


def _site_morning(settings: Settings, days_ago: int) -> datetime:
    """10:00 at the site ``days_ago`` site days before today: inside the gate's hours."""
    day = utcnow().astimezone(settings.zone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(10), settings.zone).astimezone(UTC)


def _register(engine: sa.Engine, settings: Settings, name: str, at: datetime) -> int:
    with session_scope(engine) as session:
        data = VisitInput.parse({"visitor_name": f"Visitor {name}", "id_number": NIKS[name], "organisation": "PT Maju",
                                 "vehicle_plate": "BG 1234 AB", "check_in_at": at.isoformat()}, settings.zone)
        return register_visit(session, data, actor="guard-ani", role="guard", settings=settings).id


def _run(database_url: str, settings: Settings, tmp_path: Path, *args: str) -> Result:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\ntimezone: Asia/Jakarta\n")
    return CliRunner().invoke(main, ["retention", "apply", *args, "--by", "ops", "--config", str(path),
                                     "--db", database_url])


def _visits(engine: sa.Engine) -> dict[int, Visit]:
    with Session(engine) as session:
        return {v.id: v for v in session.exec(select(Visit)).all()}


def test_visits_past_the_period_are_erased_in_the_log_and_the_trail_held_ones_kept(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    held_at, old_at = _site_morning(settings, 40), _site_morning(settings, 39)
    held_event = store_event(engine, settings, when=held_at, track_id=1)
    old_event = store_event(engine, settings, when=old_at, track_id=2)
    second = store_event(engine, settings, when=old_at + timedelta(minutes=5), track_id=3)  # the visit is for one
    ids = {name: _register(engine, settings, name, at) for name, at in
           (("held", held_at), ("old", old_at), ("recent", _site_morning(settings, 1)))}
    with session_scope(engine) as session:
        assert session.get(EntryEvent, held_event.id).visit_id == ids["held"]
        assert session.get(EntryEvent, old_event.id).visit_id == ids["old"]
        assert "Visitor old" in session.get(EntryEvent, second.id).flag_items  # its verdict names the visit
        place_hold(session, held_event.id, "a court case", actor="auditor-sri", role="auditor")
    records = len(chain(engine))

    dry = _run(database_url, settings, tmp_path, "--visitor-days", "30", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "visitors (--visitor-days 30)" in dry.output
    assert "would erase the personal fields of 1 visits; kept 1 linked to held events" in dry.output
    assert "evidence (" not in dry.output  # only the retention named runs
    assert len(chain(engine)) == records and all(v.personal_erased_at is None for v in _visits(engine).values())

    applied = _run(database_url, settings, tmp_path, "--visitor-days", "30")
    assert applied.exit_code == 0, applied.output
    assert ("erased the personal fields of 1 visits (4 fields in the audit trail, visitor names in 1 events' "
            "flag details); kept 1 linked to held events") in applied.output

    visits = _visits(engine)
    assert len(visits) == 3  # counted still: the row stays
    old = visits[ids["old"]]
    assert (old.visitor_name, old.id_number, old.organisation, old.vehicle_plate) == ("", "", "", None)
    assert old.personal_erased_at is not None and (old.party_size, old.check_in_at) == (1, old_at)
    for kept in (visits[ids["held"]], visits[ids["recent"]]):
        assert kept.personal_erased_at is None and kept.id_number in NIKS.values()
    with Session(engine) as session:
        assert session.get(EntryEvent, old_event.id).visit_id == ids["old"]  # the link to its entry stays
        flagged = session.get(EntryEvent, second.id)
        assert "Visitor old" not in f"{flagged.flag_items}{flagged.flag_detail}"
        assert f"visit #{ids['old']} (erased)" in flagged.flag_detail
        created = session.exec(select(AuditRecord).where(AuditRecord.action == "visit.created",
                                                         AuditRecord.entity_id == str(ids["old"]))).one()
        [erasure] = session.exec(select(AuditRecord).where(AuditRecord.action == ERASED_ACTION)).all()
    after = json.loads(created.after)
    assert not {"visitor_name", "id_number", "organisation", "vehicle_plate"} & set(after)
    assert after["party_size"] == 1 and after["check_in_at"]
    named = json.loads(erasure.after)
    assert (erasure.entity_id, erasure.actor, named["reason"]) == (str(ids["old"]), "ops", "retention")
    assert named["trail"] == [{"seq": created.seq,
                               "after": ["id_number", "organisation", "vehicle_plate", "visitor_name"]}]

    report = verify_integrity(engine, settings)
    assert report.ok, report.lines()
    assert report.erased_fields == 4

    # An export of those days holds every event, visit and record, the erased visit marked so, no NIK in clear.
    path = tmp_path / "export.zip"
    create_export(engine, settings, ExportSelection(since=held_at - timedelta(hours=1),
                                                    until=old_at + timedelta(hours=1)), path,
                  actor="auditor-sri", role="auditor")
    assert verify_export(path).ok
    with zipfile.ZipFile(path) as archive:
        exported = {row["id"]: row for row in json.loads(archive.read("visits.json"))}
        audit = json.loads(archive.read("audit.json"))
        report_html = archive.read("report.html").decode()
    assert set(exported) == {ids["held"], ids["old"]}
    assert exported[ids["old"]]["personal_erased_at"] and exported[ids["old"]]["id_number"] == ""
    assert ERASED_ACTION in {r["action"] for r in audit}
    assert f"linked visit #{ids['old']}: erased by retention" in report_html and "Visitor old" not in report_html
    assert not any(NIK_IN_CLEAR.search(f"{r['before']}{r['after']}") for r in audit)

    again = _run(database_url, settings, tmp_path, "--visitor-days", "30")
    assert "erased the personal fields of 0 visits" in again.output
    assert verify_integrity(engine, settings, check_files=False).ok


def test_without_a_visitor_period_nothing_is_erased(database_url: str, engine: sa.Engine, settings: Settings,
                                                   tmp_path: Path) -> None:
    visit_id = _register(engine, settings, "old", _site_morning(settings, 400))
    result = _run(database_url, settings, tmp_path)  # no retention configured: the default keeps everything
    assert result.exit_code == 2 and "visitors.retention_days" in result.output
    assert _visits(engine)[visit_id].personal_erased_at is None
