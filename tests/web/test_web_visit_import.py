"""Importing a CSV file of visits from the visitor log page: refused at once when it is not a CSV
file, otherwise imported in the background (all rows or none) while its status page follows it."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlmodel import Session, select
from werkzeug.test import TestResponse

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Visit, VisitImport
from gatewatch.settings import Settings
from gatewatch.visitors.imports import (
    MEGABYTE,
    ImportStatus,
    VisitImportError,
    create_import,
    import_state,
    run_import,
    upload_path,
)
from gatewatch.visitors.visits import MAX_CSV_ERRORS
from gatewatch.web.app import create_app
from tests.web_helpers import NIK, count_rows, csrf_token, log_in, recent, screenshot

ClientFor = Callable[[Role], FlaskClient]
HEADER = ("visitor_name", "id_number", "check_in_at", "party_size", "vehicle_plate")
GOOD_ROWS = [
    ("Budi Santoso", NIK, "2026-11-20 09:00", "2", "bg 1234 ab"),
    ("Sari Dewi", "3174055203850002", "2026-11-20 09:05", "", ""),
    ("Joko", "3174051503850003", "2026-11-20 09:10", "1", ""),
]


def nik(number: int) -> str:
    """A valid NIK for any number: Jakarta Selatan, born on day 1-28 of March 1985, serial 0001-9999."""
    return f"317405{number % 28 + 1:02d}0385{number % 9999 + 1:04d}"


def visit_rows(count: int) -> Iterable[tuple[str, ...]]:
    for number in range(count):
        day, minute = number % 28 + 1, number % (24 * 60)
        yield (
            f"Visitor {number}",
            nik(number),
            f"2026-11-{day:02d} {minute // 60:02d}:{minute % 60:02d}",
            "1",
            "",
        )


def csv_content(rows: Iterable[Sequence[str]], *, header: Sequence[str] = HEADER) -> bytes:
    """A spreadsheet as Excel saves it in Indonesia: semicolons, a BOM and Windows line endings."""
    lines = [";".join(header), *(";".join(row) for row in rows)]
    return "\ufeff".encode() + ("\r\n".join(lines) + "\r\n").encode()


def upload(client: FlaskClient, content: bytes, filename: str = "visits.csv") -> TestResponse:
    """Post a file through the visitor log's import form."""
    form = {"csrf_token": csrf_token(client, "/visits"), "file": (io.BytesIO(content), filename)}
    return client.post("/visits/imports", data=form)


def follow(client: FlaskClient, status_page: str, timeout: float = 600.0) -> tuple[dict, list[int]]:
    """Poll the import's JSON state until it has finished: (the final state, every rows_read seen)."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        state = client.get(f"{status_page}.json").json
        seen.append(state["rows_read"])
        if state["finished"]:
            break
        assert time.monotonic() < deadline, f"the import is still {state['status']} after {timeout} s"
        time.sleep(0.25)
    for thread in threading.enumerate():  # let it clean up, so a test sees everything it did
        if thread.name == f"visit-import-{status_page.rsplit('/', 1)[-1]}":
            thread.join(timeout=30)
    return state, seen


def imported(client: FlaskClient, content: bytes) -> tuple[dict, str]:
    """Upload ``content``, wait for its import to finish: (the final state, the status page's HTML)."""
    response = upload(client, content)
    assert response.status_code == 303, response.get_data(as_text=True)
    status_page = response.headers["Location"]
    state, _seen = follow(client, status_page)
    return state, client.get(status_page).get_data(as_text=True)


def kept_files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "imports"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def visit_names(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Visit.visitor_name).order_by(Visit.id)).all())


# --- a good file -----------------------------------------------------------------------------


def test_a_semicolon_file_with_a_bom_and_windows_line_endings_is_imported_and_audited(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    guard = client_for(Role.GUARD)
    page = guard.get("/visits").get_data(as_text=True)
    assert 'id="import-form"' in page and 'enctype="multipart/form-data"' in page

    state, html = imported(guard, csv_content(GOOD_ROWS))

    assert (state["status"], state["stored"], state["percent"]) == ("done", 3, 100)
    assert "3 visits imported." in html and "3 of 3 rows (100 %)" in html
    with Session(web_engine) as session:
        visits = session.exec(select(Visit).order_by(Visit.id)).all()
        assert [(v.visitor_name, v.party_size, v.vehicle_plate, v.registered_by) for v in visits] == [
            ("Budi Santoso", 2, "BG 1234 AB", "guard"),
            ("Sari Dewi", 1, None, "guard"),
            ("Joko", 1, None, "guard"),
        ]
        assert visits[0].check_in_at.isoformat() == "2026-11-20T02:00:00+00:00"  # 09:00 WIB
        records = session.exec(select(AuditRecord).where(AuditRecord.action == "visit.imported")).all()
        assert sorted(int(r.entity_id) for r in records) == [v.id for v in visits]
        assert {(r.actor, r.role) for r in records} == {("guard", "guard")}
    assert kept_files(web_settings) == []  # the upload is deleted once imported


# --- errors inside the file: nothing imported, each named on the status page ------------------


def test_a_file_without_a_required_column_imports_nothing_and_names_the_column(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    header = [column for column in HEADER if column != "check_in_at"]
    rows = [[cell for column, cell in zip(HEADER, row) if column != "check_in_at"] for row in GOOD_ROWS]

    state, html = imported(client_for(Role.GUARD), csv_content(rows, header=header))

    assert state["status"] == "failed"
    assert state["errors"] == [{"line": 1, "field": "check_in_at", "message": "required column is missing"}]
    assert "Nothing was imported: the file has errors." in html
    assert '<tr><td class="num">1</td><td>check_in_at</td><td>required column is missing</td></tr>' in html
    assert count_rows(web_engine, Visit) == 0
    assert kept_files(web_settings) == []


def test_a_bad_row_imports_nothing_names_its_line_and_field_and_keeps_the_visits_already_stored(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    with session_scope(web_engine) as session:
        session.add(
            Visit(visitor_name="Already here", id_number=NIK, check_in_at=recent(60), registered_by="test")
        )
    rows = [GOOD_ROWS[0], ("Sari Dewi", "1234", "2026-11-20 09:05", "1", ""), GOOD_ROWS[2]]

    state, html = imported(client_for(Role.GUARD), csv_content(rows))

    assert state["status"] == "failed" and state["stored"] == 0
    assert [(error["line"], error["field"]) for error in state["errors"]] == [(3, "id_number")]
    assert "a NIK is exactly 16 digits; this one has 4 characters" in html
    assert visit_names(web_engine) == ["Already here"]
    assert kept_files(web_settings) == []


def test_reading_stops_after_50_errors_and_says_so(client_for: ClientFor, web_engine: sa.Engine) -> None:
    rows = [("Budi", "0000000000000000", "2026-11-20 09:00", "1", "")] * (MAX_CSV_ERRORS + 10)

    state, html = imported(client_for(Role.GUARD), csv_content(rows))

    assert state["status"] == "failed" and len(state["errors"]) == MAX_CSV_ERRORS
    assert f"Reading stopped after {MAX_CSV_ERRORS} errors: the rest of the file was not checked." in html
    assert count_rows(web_engine, Visit) == 0


# --- uploads that are not a CSV file: refused at once --------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "status", "message"),
    [
        (None, "", 400, "Choose a CSV file to import."),
        (b"", "visits.csv", 400, "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "visits.xlsx", 415, "This is not a CSV file"),
        (
            csv_content(GOOD_ROWS).replace(b"Sari", "Séri".encode("cp1252")),
            "visits.csv",
            415,
            "The file is not UTF-8 text (from line 3).",
        ),
    ],
    ids=["no-file", "empty", "xlsx", "windows-1252"],
)
def test_an_upload_that_is_not_a_csv_file_is_refused_before_any_import_starts(
    client_for: ClientFor,
    web_engine: sa.Engine,
    web_settings: Settings,
    content: bytes | None,
    filename: str,
    status: int,
    message: str,
) -> None:
    guard = client_for(Role.GUARD)
    form: dict[str, object] = {"csrf_token": csrf_token(guard, "/visits")}
    if content is not None:
        form["file"] = (io.BytesIO(content), filename)
    response = guard.post("/visits/imports", data=form, content_type="multipart/form-data")

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert 'id="import-error"' in response.get_data(as_text=True)
    assert count_rows(web_engine, VisitImport) == 0
    assert count_rows(web_engine, Visit) == 0
    assert kept_files(web_settings) == []


@pytest.mark.parametrize("excess", [1, MEGABYTE], ids=["just-over", "far-over"])
def test_a_file_over_the_size_limit_is_refused_with_413(
    web_settings: Settings, web_engine: sa.Engine, accounts: dict[Role, str], excess: int
) -> None:
    small = web_settings.model_copy(update={"visits_import_max_mb": 1})
    guard = create_app(small, web_engine, testing=True).test_client()
    log_in(guard, accounts[Role.GUARD])
    row_bytes = len(";".join(GOOD_ROWS[0])) + len("\r\n")
    content = csv_content([GOOD_ROWS[0]] * ((MEGABYTE + excess) // row_bytes + 1))
    assert len(content) > MEGABYTE + excess

    response = upload(guard, content)

    assert response.status_code == 413
    assert "The file is larger than 1 MB, the most one import takes: split it." in response.get_data(
        as_text=True
    )
    assert count_rows(web_engine, VisitImport) == 0
    assert kept_files(small) == []


def test_an_upload_without_the_csrf_token_is_refused_and_keeps_nothing(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    guard = client_for(Role.GUARD)
    response = guard.post(
        "/visits/imports", data={"file": (io.BytesIO(csv_content(GOOD_ROWS)), "visits.csv")}
    )

    assert response.status_code == 400
    assert "expired or came from elsewhere" in response.get_data(as_text=True)
    assert count_rows(web_engine, VisitImport) == 0 and kept_files(web_settings) == []


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.AUDITOR, Role.ADMIN])
def test_only_guards_may_import(client_for: ClientFor, web_engine: sa.Engine, role: Role) -> None:
    client = client_for(role)
    assert 'id="import-form"' not in client.get("/visits").get_data(as_text=True)

    assert upload(client, csv_content(GOOD_ROWS)).status_code == 403
    assert count_rows(web_engine, VisitImport) == 0 and count_rows(web_engine, Visit) == 0


def test_an_unknown_import_is_404(client_for: ClientFor) -> None:
    guard = client_for(Role.GUARD)
    assert guard.get("/visits/imports/99").status_code == 404
    assert guard.get("/visits/imports/99.json").status_code == 404


# --- a large file ------------------------------------------------------------------------------


@pytest.mark.slow
# On SQLite, whose single writer the import holds longest; every other import test runs on both
# databases, and this one's 100,000 rows took 75 s more of the suite on PostgreSQL.
@pytest.mark.parametrize("web_database", ["sqlite"], indirect=True)
def test_100000_rows_import_completely_in_the_background_while_the_progress_rises(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings, tmp_path: Path
) -> None:
    rows = 100_000
    path = tmp_path / "visitor-log-2026.csv"
    path.write_bytes(csv_content(visit_rows(rows)))
    guard = client_for(Role.GUARD)

    started = time.monotonic()
    with path.open("rb") as file:
        response = guard.post(
            "/visits/imports", data={"csrf_token": csrf_token(guard, "/visits"), "file": (file, path.name)}
        )
    answered = time.monotonic() - started
    assert response.status_code == 303
    state, seen = follow(guard, response.headers["Location"])
    took = time.monotonic() - started
    print(
        f"\n{rows} rows ({path.stat().st_size / MEGABYTE:.1f} MB): upload answered in {answered:.2f} s, "
        f"imported in {took:.1f} s ({rows / took:.0f} rows/s); progress seen: {sorted(set(seen))}"
    )

    assert answered < took / 5  # the request did not wait for the import
    assert (state["status"], state["stored"], state["rows_read"], state["rows_total"]) == (
        "done",
        rows,
        rows,
        rows,
    )
    assert count_rows(web_engine, Visit) == rows
    assert seen == sorted(seen)  # the progress never went back
    assert len({value for value in seen if 0 < value < rows}) >= 3  # and rose through values on the way
    assert kept_files(web_settings) == []


# --- the job runner on each database -----------------------------------------------------------


def test_the_job_runner_imports_all_or_nothing_on_each_database(session: Session, settings: Settings) -> None:
    engine = session.get_bind()
    good = create_import(engine, settings, io.BytesIO(csv_content(GOOD_ROWS)), "good.csv", actor="guard")
    bad_rows = [*GOOD_ROWS, ("Rina", NIK, "not a time", "1", "")]
    bad = create_import(engine, settings, io.BytesIO(csv_content(bad_rows)), "bad.csv", actor="guard")
    assert upload_path(settings, good).exists() and upload_path(settings, bad).exists()

    run_import(engine, settings, good, role="guard")
    run_import(engine, settings, bad, role="guard")

    with Session(engine) as fresh:
        done, failed = import_state(fresh, settings, good), import_state(fresh, settings, bad)
        assert done is not None and failed is not None
        assert (done.status, done.stored, done.rows_read, done.percent) == (ImportStatus.DONE, 3, 3, 100)
        assert (failed.status, failed.stored) == (ImportStatus.FAILED, 0)
        assert [(e.line, e.field) for e in failed.errors] == [(5, "check_in_at")]
        assert fresh.execute(sa.select(sa.func.count()).select_from(Visit)).scalar_one() == 3
    assert not upload_path(settings, good).exists() and not upload_path(settings, bad).exists()
    with pytest.raises(VisitImportError, match="only a pending import can run"):
        run_import(engine, settings, good, role="guard")


def test_an_import_that_breaks_off_is_recorded_failed_without_blaming_the_file(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    import_id = create_import(
        web_engine, web_settings, io.BytesIO(csv_content(GOOD_ROWS)), "visits.csv", actor="guard"
    )
    upload_path(web_settings, import_id).unlink()  # as if the data folder had been cleaned up

    with pytest.raises(FileNotFoundError):
        run_import(web_engine, web_settings, import_id, role="guard")

    state = client_for(Role.GUARD).get(f"/visits/imports/{import_id}.json").json
    assert (state["status"], state["errors"]) == ("failed", [])
    page = client_for(Role.OPERATOR).get(f"/visits/imports/{import_id}").get_data(as_text=True)
    assert "Nothing was imported: the import stopped because of a problem on the server." in page


# --- in a browser ------------------------------------------------------------------------------


def test_a_guard_uploads_a_spreadsheet_and_watches_it_import(
    page_for: Callable[[Role], Page], web_engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "visitor-log.csv"
    path.write_bytes(csv_content(visit_rows(3_000)))
    page = page_for(Role.GUARD)
    page.goto("/visits")
    xlsx = {
        "name": "visitor-log.xlsx",
        "mimeType": "application/octet-stream",
        "buffer": b"PK\x03\x04\x00\x00",
    }
    page.set_input_files("#f-file", xlsx)
    page.click("#import-button")
    expect(page.locator("#import-error")).to_contain_text("This is not a CSV file")
    expect(page.locator("#f-file")).to_be_focused()

    page.set_input_files("#f-file", path)
    page.click("#import-button")

    page.wait_for_url("**/visits/imports/*")
    expect(page.locator("h1")).to_have_text("Import of visitor-log.csv")
    expect(page.locator("#import-result")).to_have_text("3000 visits imported.", timeout=60_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-count")).to_have_text("3,000 of 3,000 rows (100 %)")
    screenshot(page, "visit-import-done")
    assert count_rows(web_engine, Visit) == 3_000
