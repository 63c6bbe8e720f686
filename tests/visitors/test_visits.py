"""The visitor log: NIK and plate rules, input models, registration, check-out, CSV import, look-up."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import Session, func, select

from gatewatch.crosscheck.service import check_event
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import AuditRecord, EntryEvent, Visit
from gatewatch.plates import normalise_plate
from gatewatch.settings import Settings
from gatewatch.visitors.visits import (
    CSV_BATCH_SIZE,
    MAX_CSV_ERRORS,
    AlreadyCheckedOut,
    CsvImportError,
    UnknownCamera,
    VisitInput,
    VisitNotFound,
    check_out,
    import_csv,
    list_visits,
    register_visit,
    validate_nik,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
NIK = "3174051203850001"  # DKI Jakarta, born 12 March 1985
T = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


def audit_records(session: Session, action: str) -> list[AuditRecord]:
    return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)).all())


def visit_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Visit)).one()


def register(session: Session, settings: Settings, **fields: object) -> Visit:
    data = VisitInput(**{"visitor_name": "Budi Santoso", "id_number": NIK, "check_in_at": T, **fields})
    return register_visit(session, data, actor="guard1", role="guard", settings=settings)


# --- NIK -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NIK, NIK),
        ("3174 0512 0385 0001", NIK),
        ("3174055203850001", "3174055203850001"),  # a woman: day 12 + 40
        ("1101017112990123", "1101017112990123"),  # Aceh, day 71 (31 + 40), December
    ],
)
def test_valid_niks(text: str, expected: str) -> None:
    assert validate_nik(text) == expected


@pytest.mark.parametrize("province", "11 19 21 31 36 51 53 61 65 71 76 81 82 91 97".split())
def test_every_province_range_is_accepted(province: str) -> None:
    assert validate_nik(province + NIK[2:]).startswith(province)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("317405120385001", "exactly 16 digits; this one has 15 characters"),
        ("31740512038500O1", "exactly 16 digits; this one has characters other than digits"),
        ("", "exactly 16 digits"),
        ("1074051203850001", "digits 1-2 (10) are not an Indonesian province code"),
        ("2074051203850001", "digits 1-2 (20)"),
        ("3774051203850001", "digits 1-2 (37)"),
        ("9874051203850001", "digits 1-2 (98)"),
        ("3174050003850001", "digits 7-8 (00) are not a birth day"),
        ("3174053203850001", "digits 7-8 (32)"),
        ("3174054003850001", "digits 7-8 (40)"),
        ("3174057203850001", "digits 7-8 (72)"),
        ("3174051200850001", "digits 9-10 (00) are not a birth month"),
        ("3174051213850001", "digits 9-10 (13)"),
        ("3174051203850000", "digits 13-16 (the serial number) cannot be 0000"),
    ],
)
def test_invalid_niks_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_nik(text)


# --- number plates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("BG 1234 AB", "BG 1234 AB"),
        ("bg-1234-ab", "BG 1234 AB"),
        ("  b1234xyz ", "B 1234 XYZ"),
        ("B.1.A", "B 1 A"),
        ("d 12", "D 12"),
        ("DK  5678\tFA", "DK 5678 FA"),
    ],
)
def test_plates_are_normalised(text: str, canonical: str) -> None:
    assert normalise_plate(text) == canonical


@pytest.mark.parametrize(
    "text", ["", "1234", "ABC 123", "B 12345", "B 1234 ABCD", "B/1234", "B 1234 ÄB", "X" * 40]
)
def test_invalid_plates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an Indonesian number plate"):
        normalise_plate(text)


# --- input models ----------------------------------------------------------------------------


def test_a_time_without_offset_is_read_in_the_site_zone() -> None:
    raw = {"visitor_name": " Budi ", "id_number": NIK, "check_in_at": "2024-05-01 10:00"}

    data = VisitInput.parse(raw, JAKARTA)

    assert data.check_in_at == T
    assert data.visitor_name == "Budi"


def test_a_time_without_offset_and_without_zone_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        VisitInput(visitor_name="Budi", id_number=NIK, check_in_at="2024-05-01 10:00")

    assert [error["loc"] for error in caught.value.errors()] == [("check_in_at",)]


def test_blank_optional_fields_become_none_and_vehicle_type_ignores_case() -> None:
    data = VisitInput.parse(
        {
            "visitor_name": "Budi", "id_number": NIK, "check_in_at": T, "vehicle_plate": " ",
            "vehicle_type": " Car ", "camera_id": "", "expected_check_out_at": "", "organisation": None,
        },
        JAKARTA,
    )

    assert (data.vehicle_plate, data.vehicle_type, data.camera_id) == (None, "car", None)
    assert (data.expected_check_out_at, data.organisation) == (None, "")


def test_errors_name_their_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        VisitInput(visitor_name="", id_number="123", check_in_at=T, party_size=51, vehicle_type="tank",
                   vehicle_plate="X" * 40, expected_check_out_at=T - timedelta(minutes=1))

    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {
        "visitor_name", "id_number", "party_size", "vehicle_type", "vehicle_plate", "expected_check_out_at",
    }


# --- registration and check-out --------------------------------------------------------------


def test_registering_a_visit_is_audited(session: Session, settings: Settings) -> None:
    visit = register(session, settings, visitor_name="Sëri Wulandari", vehicle_plate="bg1234ab")

    assert visit.id is not None and visit.vehicle_plate == "BG 1234 AB"
    [record] = audit_records(session, "visit.created")
    assert (record.actor, record.role) == ("guard1", "guard")
    assert (record.entity, record.entity_id) == ("visit", str(visit.id))
    assert '"visitor_name":"Sëri Wulandari"' in record.after  # text kept as written
    assert json.loads(record.after)["check_in_at"] == "2024-05-01T03:00:00+00:00"


def test_a_visit_for_an_unknown_camera_is_refused(session: Session, settings: Settings) -> None:
    with pytest.raises(UnknownCamera, match="no camera 'gate-9'"):
        register(session, settings, camera_id="gate-9")


def test_check_out_is_recorded_once(session: Session, settings: Settings) -> None:
    visit = register(session, settings)
    at = T + timedelta(hours=1)

    check_out(session, visit.id, actor="guard2", role="guard", at=at)

    assert visit.checked_out_at == at
    [record] = audit_records(session, "visit.checked_out")
    assert json.loads(record.before) == {"checked_out_at": None}
    assert json.loads(record.after) == {"checked_out_at": "2024-05-01T04:00:00+00:00"}
    with pytest.raises(AlreadyCheckedOut, match="already checked out at 2024-05-01 04:00 UTC"):
        check_out(session, visit.id, actor="guard2", role="guard")


def test_checking_out_an_unknown_visit_fails(session: Session) -> None:
    with pytest.raises(VisitNotFound, match="no visit #404"):
        check_out(session, 404, actor="guard2", role="guard")


# --- CSV import ------------------------------------------------------------------------------

HEADER = ["visitor_name", "id_number", "check_in_at", "party_size", "vehicle_plate"]
GOOD_ROWS = [
    ["Budi Santoso", NIK, "2024-05-01 10:00", "2", "b 1234 xyz"],
    ["Sari", "3174055203850002", "2024-05-01 10:05", "", ""],
]


def csv_bytes(rows: list[list[str]], *, sep: str = ",", newline: str = "\n", bom: bool = False) -> bytes:
    text = newline.join(sep.join(row) for row in [HEADER, *rows]) + newline
    return ("\ufeff" if bom else "").encode() + text.encode()


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "visits.csv"
    path.write_bytes(content)
    return path


def run_import(session: Session, settings: Settings, source: Path | io.StringIO, **options: object) -> int:
    return import_csv(session, source, actor="admin", role="admin", settings=settings, **options)


def import_errors(session: Session, settings: Settings, source: Path) -> CsvImportError:
    with pytest.raises(CsvImportError) as caught:
        run_import(session, settings, source)
    return caught.value


@pytest.mark.parametrize(
    ("sep", "newline", "bom"),
    [(",", "\n", False), (";", "\n", False), (",", "\r\n", False), (",", "\n", True), (";", "\r\n", True)],
)
def test_a_good_file_is_stored(
    session: Session, settings: Settings, tmp_path: Path, sep: str, newline: str, bom: bool
) -> None:
    path = write(tmp_path, csv_bytes(GOOD_ROWS, sep=sep, newline=newline, bom=bom))

    assert run_import(session, settings, path) == 2

    visits = session.exec(select(Visit).order_by(Visit.id)).all()
    assert [(v.visitor_name, v.party_size, v.vehicle_plate) for v in visits] == [
        ("Budi Santoso", 2, "B 1234 XYZ"), ("Sari", 1, None),
    ]
    assert visits[0].check_in_at == T
    assert len(audit_records(session, "visit.imported")) == 2


def test_a_text_stream_with_a_bom_is_read(session: Session, settings: Settings) -> None:
    stream = io.StringIO(csv_bytes(GOOD_ROWS, bom=True).decode())

    assert run_import(session, settings, stream) == 2


def test_a_missing_required_column_is_named(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, b"visitor_name;id_number;party_size\nBudi;" + NIK.encode() + b";1\n")

    error = import_errors(session, settings, path)

    [problem] = error.errors
    assert (problem.line, problem.field, problem.message) == (1, "check_in_at", "required column is missing")


def test_an_unknown_column_is_refused(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, csv_bytes(GOOD_ROWS).replace(b"party_size", b"party"))

    assert [(e.line, e.field) for e in import_errors(session, settings, path).errors] == [(1, "party")]


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    earlier = register(session, settings)  # the caller's own work in the same transaction
    rows = [
        ['"Budi Santoso"', NIK, "2024-05-01 10:00", "2", '"B 1234\nXYZ"'],  # lines 2-3: a quoted line break
        ["", "", "", "", ""],  # line 4: blank, skipped
        ["Sari", "3174051203850000", "2024-05-01 10:05", "1", ""],  # line 5
        ["Joko", NIK, "yesterday", "99", ""],  # line 6
    ]
    path = write(tmp_path, csv_bytes(rows))

    error = import_errors(session, settings, path)

    where = [(e.line, e.field) for e in error.errors]
    assert where == [(5, "id_number"), (6, "party_size"), (6, "check_in_at")]
    assert "cannot be 0000" in error.errors[0].message
    assert "line 5, id_number: NIK digits 13-16" in str(error)
    assert visit_count(session) == 1 and session.get(Visit, earlier.id) is not None
    assert audit_records(session, "visit.imported") == []


def test_a_bad_row_after_a_stored_batch_still_leaves_nothing(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    earlier = register(session, settings)
    good = [[f"Visitor {i}", NIK, "2024-05-01 10:00", "1", ""] for i in range(CSV_BATCH_SIZE + 1)]
    path = write(tmp_path, csv_bytes([*good, ["Joko", NIK, "", "1", ""]]))

    error = import_errors(session, settings, path)

    assert [(e.line, e.field) for e in error.errors] == [(CSV_BATCH_SIZE + 3, "check_in_at")]
    assert session.exec(select(Visit.id)).all() == [earlier.id]
    assert audit_records(session, "visit.imported") == []


def test_a_row_with_too_many_cells_or_an_unknown_camera_is_reported(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    header = ",".join(HEADER + ["camera_id"]).encode()
    rows = f"\nBudi,{NIK},2024-05-01 10:00,1,,gate-9\nSari,{NIK},2024-05-01 10:00,1,,,x\n"
    path = write(tmp_path, header + rows.encode())

    errors = import_errors(session, settings, path).errors

    assert [(e.line, e.field) for e in errors] == [(2, "camera_id"), (3, None)]
    assert "7 cells, but the header has 6 columns" in errors[1].message


def test_reading_stops_after_the_error_limit(session: Session, settings: Settings, tmp_path: Path) -> None:
    rows = [["Budi", "0000000000000000", "2024-05-01 10:00", "1", ""]] * (MAX_CSV_ERRORS + 20)

    error = import_errors(session, settings, write(tmp_path, csv_bytes(rows)))

    assert len(error.errors) == MAX_CSV_ERRORS and not error.complete
    assert error.errors[-1].line == MAX_CSV_ERRORS + 1


def test_a_file_that_is_not_utf8_is_refused(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, csv_bytes(GOOD_ROWS).replace(b"Sari", "Séri".encode("cp1252")))

    error = import_errors(session, settings, path)

    assert "not UTF-8" in error.errors[0].message
    assert visit_count(session) == 0


def test_progress_is_reported_and_large_files_are_stored_in_batches(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    rows = [[f"Visitor {i}", NIK, "2024-05-01 10:00", "1", ""] for i in range(1_200)]
    seen: list[int] = []

    assert run_import(session, settings, write(tmp_path, csv_bytes(rows)), progress=seen.append) == 1_200

    assert seen == [500, 1_000, 1_200]
    assert visit_count(session) == 1_200


def test_an_import_resolves_the_open_events_it_covers(
    session: Session, settings: Settings, tmp_path: Path, make_event: Callable[..., EntryEvent]
) -> None:
    event = make_event(T + timedelta(minutes=1))
    check_event(session, event, settings)
    assert event.status == EventStatus.FLAGGED

    run_import(session, settings, write(tmp_path, csv_bytes(GOOD_ROWS)))

    assert event.status == EventStatus.EXPLAINED
    assert event.visit_id == session.exec(select(Visit.id).where(Visit.visitor_name == "Budi Santoso")).one()


# --- look-up ---------------------------------------------------------------------------------


def test_list_visits_filters(session: Session, settings: Settings) -> None:
    budi = register(session, settings, vehicle_plate="B 1234 XYZ", organisation="PT Pos Indonesia")
    sari = register(session, settings, visitor_name="Sari", check_in_at=T + timedelta(days=1))
    check_out(session, budi.id, actor="guard1", role="guard", at=T + timedelta(hours=1))

    def ids(**filters: object) -> list[int]:
        return [v.id for v in list_visits(session, **filters)]

    assert ids() == [sari.id, budi.id]
    assert ids(search="pos indo") == [budi.id]
    assert ids(plate="b1234") == [budi.id]
    assert ids(open_only=True) == [sari.id]
    assert ids(on_date=date(2024, 5, 1), zone=JAKARTA) == [budi.id]
    assert ids(limit=1, offset=1) == [budi.id]
    with pytest.raises(ValueError, match="time zone"):
        list_visits(session, on_date=date(2024, 5, 1))
