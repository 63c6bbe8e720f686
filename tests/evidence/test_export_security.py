"""Exports read by other programs: CSV cells no spreadsheet runs as a formula, and a ZIP from anyone
(a zip bomb) checked without reading more of it than a limit; the database locks heavy work holds."""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.events.reviews import Decision, decide
from gatewatch.evidence import export as export_module
from gatewatch.evidence.export import MANIFEST, SIGNATURE, ExportSelection, create_export, verify_export
from gatewatch.evidence.integrity import LOCK as INTEGRITY_LOCK
from gatewatch.evidence.integrity import verify_integrity_exclusive
from gatewatch.models import locks
from gatewatch.models.db import session_scope
from gatewatch.models.spreadsheet import safe_cell
from gatewatch.models.tables import JobLock
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.visits import VisitInput, register_visit
from tests.evidence_fixtures import NIK, WHEN, store_event

FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


# --- CSV injection -----------------------------------------------------------------------------


def test_the_helper_escapes_text_that_starts_a_formula_and_leaves_numbers_alone() -> None:
    for text in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    for value in ("Budi", "2026-11-20T03:00:00+00:00", "", "a=b", -0.5, 3, None, True):
        assert safe_cell(value) == value


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def _csv_rows(path: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_member(path, name).decode("utf-8-sig"))))


def test_visitor_text_comes_out_escaped_in_the_csv_and_raw_in_the_json(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    event = store_event(engine, settings)
    with session_scope(engine) as session:  # a late registration, which explains the entry and links to it
        visit = VisitInput.parse({"visitor_name": FORMULA_NAME, "id_number": NIK, "host": "@host",
                                  "check_in_at": WHEN.isoformat()}, settings.zone)
        register_visit(session, visit, actor="guard-ani", role="guard", settings=settings)
    with session_scope(engine) as session:
        decide(session, event.id, Decision.NOTE, actor="guard-ani", role="guard", note="+cmd")
    output = tmp_path / "out.zip"
    create_export(engine, settings, ExportSelection(event_ids=(event.id,)), output, actor="auditor", role="auditor")

    [visit_row] = _csv_rows(output, "visits.csv")
    assert visit_row["visitor_name"] == "'" + FORMULA_NAME
    assert visit_row["host"] == "'@host"
    assert [row["note"] for row in _csv_rows(output, "reviews.csv")] == ["'+cmd"]
    [visit_json] = json.loads(_member(output, "visits.json"))
    assert (visit_json["visitor_name"], visit_json["host"]) == (FORMULA_NAME, "@host")
    assert [row["note"] for row in json.loads(_member(output, "reviews.json"))] == ["+cmd"]
    [event_row] = _csv_rows(output, "events.csv")
    assert float(event_row["confidence"]) > 0  # numbers stay numbers
    assert verify_export(output).ok


# --- a ZIP from anyone ------------------------------------------------------------------------


def _bomb(path: Path, name: str, size: int) -> None:
    """A ZIP whose ``name`` decompresses to ``size`` zero bytes (a few hundred KB compressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(size // len(block)):
                member.write(block)
        archive.writestr(SIGNATURE, b"AAAA\n")


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    original = zipfile.ZipExtFile.read

    def read(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = original(self, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return sizes


def test_a_manifest_declaring_more_than_the_limit_is_reported_too_large_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.zip"
    _bomb(bomb, MANIFEST, export_module.MAX_MANIFEST_BYTES + (1 << 20))
    assert bomb.stat().st_size < 1 << 20
    reads = _count_reads(monkeypatch)
    result = verify_export(bomb)
    assert not result.ok
    expected = (f"{MANIFEST}: too large: declares 65 MB uncompressed, more than the 64 MB a member of its "
                "kind may have; not read (a ZIP bomb?)")
    assert [p for p in result.problems if p.startswith(f"{MANIFEST}: too large")] == [expected]
    assert sum(reads) <= 4096  # only the signature was read


def _lie_about_size(path: Path, name: str, declared: int) -> None:
    """Rewrite the central directory so that ``name`` declares ``declared`` bytes uncompressed."""
    data = bytearray(path.read_bytes())
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length] == name.encode():
            struct.pack_into("<I", data, at + 24, declared)
            path.write_bytes(bytes(data))
            return
        at += 4
    raise AssertionError(f"{name} not found")


def test_a_member_decompressing_to_more_than_it_declares_is_caught(tmp_path: Path) -> None:
    lying = tmp_path / "lying.zip"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps({"format": export_module.FORMAT, "files": {}, "pad": "x" * 100_000}))
        archive.writestr(SIGNATURE, b"AAAA\n")
    _lie_about_size(lying, MANIFEST, 1000)
    result = verify_export(lying)
    [problem] = [p for p in result.problems if p.startswith(MANIFEST)]
    assert problem.startswith(f"{MANIFEST}: damaged inside the ZIP")


def test_a_member_over_the_limit_is_reported_too_large_not_hashed(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = store_event(engine, settings)
    output = tmp_path / "out.zip"
    create_export(engine, settings, ExportSelection(event_ids=(event.id,)), output, actor="auditor", role="auditor")
    assert verify_export(output).ok
    monkeypatch.setattr(export_module, "MAX_MEMBER_BYTES", 1000)  # a snapshot and a clip are larger
    result = verify_export(output)
    too_large = [p for p in result.problems if "too large" in p]
    assert too_large and all("declares" in p and "not read" in p for p in too_large)
    assert any(p.startswith(event.snapshot_path) for p in too_large), too_large


# --- the database locks -------------------------------------------------------------------------


def test_a_lock_has_one_holder_and_is_taken_over_only_once_it_lapsed(engine: sa.Engine) -> None:
    assert locks.acquire(engine, "work", "first")
    assert not locks.acquire(engine, "work", "second")
    with pytest.raises(locks.LockBusy, match="work is already running \\(first"):
        locks.acquire_or_raise(engine, "work", "second")
    with session_scope(engine) as session:
        session.get(JobLock, "work").expires_at = utcnow() - timedelta(seconds=1)  # the first crashed
    assert locks.acquire(engine, "work", "second")
    assert not locks.acquire(engine, "work", "third")
    assert not locks.refresh(engine, "work", "first")  # the first, come back, learns it lost it
    locks.release(engine, "work", "first")  # and giving back what it no longer holds changes nothing
    assert locks.current(engine, "work").holder == "second"
    locks.release(engine, "work", "second")
    assert locks.current(engine, "work") is None


def test_a_second_integrity_check_is_refused_while_one_runs(
    engine: sa.Engine, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    store_event(engine, settings)
    assert locks.acquire(engine, INTEGRITY_LOCK, "the auditor's check")
    with pytest.raises(locks.LockBusy):
        verify_integrity_exclusive(engine, settings)
    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\n"
                      f"cameras: [{settings.cameras[0].model_dump_json()}]\n")
    command = ["audit", "verify", "--config", str(config), "--db", database_url]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2
    assert "another integrity check is running (the auditor's check)" in result.output
    locks.release(engine, INTEGRITY_LOCK, "the auditor's check")
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert verify_integrity_exclusive(engine, settings).ok
    with Session(engine) as session:
        assert session.exec(select(JobLock)).all() == []  # given back after each check
