"""The guards' visitor log: validated input, registration, check-out, CSV import and look-up.

Standing authorisations are in ``authorisations.py``; it shares this module's input helpers.

The input models serve every way in (CLI, CSV, web form, JSON API), so their errors name the
field. Nothing here commits: the caller owns the transaction (``models.db.session_scope``).
Every change is written to the audit trail, and every registration re-runs the cross-check on
the open events it may explain.
"""

from __future__ import annotations

import _csv
import csv
import itertools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TextIO

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails
from sqlmodel import Session, SQLModel, select

from gatewatch.audit import trail
from gatewatch.crosscheck.service import MAX_VISIT_DAYS, cover_until, coverage_window, recheck_open_events
from gatewatch.models.sql import plate_key_sql
from gatewatch.models.tables import Camera, Visit
from gatewatch.models.types import utcnow
from gatewatch.plates import match_key, normalise_plate
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik

VehicleType = Literal["bicycle", "car", "motorcycle", "bus", "truck", "van"]

#: Validation context key holding the site's time zone, for times given without an offset.
ZONE = "zone"

#: How far ahead of this machine's clock a given check-out time may be (the guard's tablet may run fast).
CLOCK_SKEW = timedelta(minutes=2)
#: A CSV import stops reading after this many errors.
MAX_CSV_ERRORS = 50
#: Visits inserted per flush during a CSV import.
CSV_BATCH_SIZE = 500

_PROVINCE_RANGES = ((11, 19), (21, 21), (31, 36), (51, 53), (61, 65), (71, 76), (81, 82), (91, 97))
_PROVINCE_CODES = frozenset(code for first, last in _PROVINCE_RANGES for code in range(first, last + 1))
_NIK = re.compile(r"[0-9]{16}")


class VisitLogError(Exception):
    """A visitor-log operation cannot be done; the message says why."""


class VisitNotFound(VisitLogError):
    pass


class AlreadyCheckedOut(VisitLogError):
    pass


class UnknownCamera(VisitLogError):
    pass


class InvalidCheckOutTime(VisitLogError):
    """The check-out time given is before the check-in, or still to come."""


# --- identity numbers and number plates ------------------------------------------------------


def validate_nik(text: str) -> str:
    """An Indonesian NIK (16 digits, spaces allowed in the input) checked for its structure.

    Digits 1-2 are the province, 7-8 the birth day (plus 40 for women), 9-10 the birth month,
    13-16 a serial number that is never 0000.
    """
    nik = "".join(text.split())
    if not _NIK.fullmatch(nik):
        found = f"{len(nik)} characters" if nik.isdigit() or not nik else "characters other than digits"
        raise ValueError(f"a NIK is exactly 16 digits; this one has {found}")
    if int(nik[:2]) not in _PROVINCE_CODES:
        raise ValueError(f"NIK digits 1-2 ({nik[:2]}) are not an Indonesian province code")
    day, month = int(nik[6:8]), int(nik[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise ValueError(f"NIK digits 7-8 ({nik[6:8]}) are not a birth day: 01-31, or 41-71 for women")
    if not 1 <= month <= 12:
        raise ValueError(f"NIK digits 9-10 ({nik[8:10]}) are not a birth month 01-12")
    if nik[12:] == "0000":
        raise ValueError("NIK digits 13-16 (the serial number) cannot be 0000")
    return nik


# --- input models ----------------------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _at_site(value: datetime, info: ValidationInfo) -> datetime:
    """A time as aware UTC; one without an offset is a wall-clock time at the site."""
    if value.tzinfo is None:
        zone = (info.context or {}).get(ZONE)
        if zone is None:
            raise ValueError("give the time with a UTC offset, or validate with the site's time zone")
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _later_than(earlier_field: str) -> Callable[[datetime | None, ValidationInfo], datetime | None]:
    def check(value: datetime | None, info: ValidationInfo) -> datetime | None:
        earlier = info.data.get(earlier_field)
        if value is not None and earlier is not None and value <= earlier:
            raise ValueError(f"must be after {earlier_field}")
        return value

    return check


_Blank = BeforeValidator(_blank_to_none)
#: A time as aware UTC; read in the site's zone (validation context ``ZONE``) when it has no offset.
SiteTime = Annotated[datetime, AfterValidator(_at_site)]
_OptionalText = Annotated[str, BeforeValidator(_none_to_empty)]


class _LogInput(BaseModel):
    """What visits and authorisations share, and how to validate them with the site's zone."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    organisation: _OptionalText = Field("", max_length=200)
    purpose: _OptionalText = Field("", max_length=500)
    camera_id: Annotated[str | None, _Blank] = Field(None, max_length=64, description="null: any gate")

    @classmethod
    def parse(cls, data: Mapping[str, Any], zone: tzinfo) -> Self:
        """Validate ``data`` (form, CSV row or JSON), reading times without an offset in ``zone``."""
        return cls.model_validate(data, context={ZONE: zone})


class VisitInput(_LogInput):
    """One line of the visitor log as a guard enters it; also the CSV import's column names."""

    visitor_name: str = Field(min_length=1, max_length=200)
    id_number: Annotated[str, AfterValidator(validate_nik)]
    host: _OptionalText = Field("", max_length=200)
    vehicle_plate: Annotated[Annotated[str, AfterValidator(normalise_plate)] | None, _Blank] = None
    vehicle_type: Annotated[VehicleType | None, _Blank, BeforeValidator(_lower)] = None
    party_size: int = Field(1, ge=1, le=50)
    check_in_at: SiteTime
    expected_check_out_at: Annotated[
        SiteTime | None, _Blank, AfterValidator(_later_than("check_in_at"))
    ] = None


class CheckOutInput(BaseModel):
    """When a visit left, given by a guard recording it late; none: now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[SiteTime | None, _Blank] = None

    @classmethod
    def parse(cls, data: Mapping[str, Any], zone: tzinfo) -> Self:
        return cls.model_validate(data, context={ZONE: zone})


# --- changes to the log ----------------------------------------------------------------------


def _camera_ids(session: Session) -> set[str]:
    return set(session.exec(select(Camera.id)).all())


def _check_camera(camera_id: str | None, known: Collection[str]) -> None:
    if camera_id is not None and camera_id not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise UnknownCamera(f"there is no camera {camera_id!r} (known: {listed})")


def _store_all(session: Session, rows: list[SQLModel], *, actor: str, role: str, action: str) -> None:
    """Insert ``rows`` and write an audit record with each one's columns."""
    session.add_all(rows)
    session.flush()
    for row in rows:
        trail.record(
            session,
            actor=actor,
            role=role,
            action=action,
            entity=type(row).__tablename__,
            entity_id=row.id,
            after=audit_values(row),
        )


def audit_values(row: SQLModel) -> dict[str, Any]:
    """A row's columns for the audit trail, a visitor's NIK masked: the trail never holds one in clear."""
    values = trail.row_values(row)
    if isinstance(values.get("id_number"), str):
        values["id_number"] = masked_nik(values["id_number"])
    return values


def _recheck_check_ins(session: Session, settings: Settings, first: datetime, until: datetime) -> None:
    """Re-run the cross-check on the open events that visits checked in from ``first`` and
    covering until ``until`` may explain."""
    _before, after = coverage_window(settings)
    recheck_open_events(session, settings, since=first - after, until=until)


def register_visit(session: Session, data: VisitInput, *, actor: str, role: str, settings: Settings) -> Visit:
    """Add a visit to the log (audit ``visit.created``) and let it explain the open events it covers."""
    _check_camera(data.camera_id, _camera_ids(session))
    visit = Visit(**data.model_dump(), registered_by=actor)
    _store_all(session, [visit], actor=actor, role=role, action="visit.created")
    _recheck_check_ins(session, settings, visit.check_in_at, cover_until(visit, settings))
    return visit


def check_out(
    session: Session, visit_id: int, *, actor: str, role: str, at: datetime | None = None
) -> Visit:
    """Record that a visit left, now or ``at`` (aware); audit ``visit.checked_out``."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise VisitNotFound(f"there is no visit #{visit_id}")
    if visit.checked_out_at is not None:
        raise AlreadyCheckedOut(
            f"visit #{visit_id} ({visit.visitor_name}) already checked out at "
            f"{visit.checked_out_at:%Y-%m-%d %H:%M} UTC"
        )
    moment = utcnow() if at is None else at
    if moment.tzinfo is None:
        raise ValueError(f"check-out time {moment.isoformat()} has no time zone")
    if moment > utcnow() + CLOCK_SKEW:
        raise InvalidCheckOutTime(
            f"a check-out is recorded when it happens or after; {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
            "is still to come"
        )
    if moment < visit.check_in_at:
        raise InvalidCheckOutTime(
            f"visit #{visit_id} checked in at {visit.check_in_at:%Y-%m-%d %H:%M} UTC, "
            f"so it cannot check out at {moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )
    before = trail.row_values(visit, ["checked_out_at"])
    visit.checked_out_at = moment.astimezone(UTC)
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=role,
        action="visit.checked_out",
        entity="visit",
        entity_id=visit_id,
        before=before,
        after=trail.row_values(visit, ["checked_out_at"]),
    )
    return visit


# --- CSV import ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvRowError:
    line: int  # physical line in the file where the row starts; the header is line 1
    field: str | None  # the column, or None for the row as a whole
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class CsvImportError(VisitLogError):
    """The file was not imported at all; ``errors`` lists the problems found, in file order.

    ``complete`` is False when reading stopped at MAX_CSV_ERRORS errors: the rest of the file
    was not looked at.
    """

    def __init__(self, errors: list[CsvRowError], *, complete: bool = True) -> None:
        self.errors = errors
        self.complete = complete
        stopped = "" if complete else f" (reading stopped at {MAX_CSV_ERRORS})"
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"nothing was imported: {len(errors)} error(s){stopped}\n{lines}")


CSV_COLUMNS = tuple(VisitInput.model_fields)
CSV_REQUIRED = tuple(name for name, field in VisitInput.model_fields.items() if field.is_required())


def _header_errors(columns: list[str]) -> list[CsvRowError]:
    named = [column for column in columns if column]
    errors = [CsvRowError(1, c, "unknown column") for c in named if c not in CSV_COLUMNS]
    twice = sorted({column for column in named if named.count(column) > 1})
    errors += [CsvRowError(1, c, "column appears twice") for c in twice]
    errors += [CsvRowError(1, c, "required column is missing") for c in CSV_REQUIRED if c not in named]
    return errors


def _not_utf8(line: int) -> CsvRowError:
    return CsvRowError(line, None, "the file is not UTF-8 text from about here on; save it as CSV UTF-8")


def _open_csv(stream: TextIO) -> tuple[_csv.Reader, list[str]]:
    """A CSV reader positioned after the header, and the header's column names.

    The separator is whichever of ; and , the header line has more of.
    """
    try:
        header = stream.readline().removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise CsvImportError([_not_utf8(1)]) from None
    if not header.strip():
        message = f"the file is empty; its first row must name the columns, from: {', '.join(CSV_COLUMNS)}"
        raise CsvImportError([CsvRowError(1, None, message)])
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(itertools.chain([header], stream), delimiter=delimiter)
    columns = [name.strip().lower() for name in next(reader)]
    if errors := _header_errors(columns):
        raise CsvImportError(errors)
    return reader, columns


def _data_rows(reader: _csv.Reader, errors: list[CsvRowError]) -> Iterator[tuple[int, list[str]]]:
    """(line where the row starts, cells) for each row that is not blank.

    A file that cannot be read further adds its error to ``errors`` and ends the rows.
    """
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            errors.append(_not_utf8(line))
            return
        except csv.Error as exc:
            errors.append(CsvRowError(line, None, f"not readable as CSV: {exc}"))
            return
        if any(cell.strip() for cell in cells):
            yield line, cells


def _row_errors(line: int, error: ValidationError) -> list[CsvRowError]:
    def field(details: ErrorDetails) -> str | None:
        return str(details["loc"][0]) if details["loc"] else None

    return [CsvRowError(line, field(d), d["msg"].removeprefix("Value error, ")) for d in error.errors()]


class _VisitImport:
    """Validates rows and stores them in batches until the first error; then only collects errors."""

    def __init__(self, session: Session, columns: list[str], *, actor: str, role: str, zone: tzinfo) -> None:
        self.session, self.columns, self.actor, self.role, self.zone = session, columns, actor, role, zone
        self.cameras = _camera_ids(session)
        self.errors: list[CsvRowError] = []
        self.pending: list[Visit] = []
        self.stored = 0
        self.first_check_in: datetime | None = None
        self.last_check_in: datetime | None = None

    def add(self, line: int, cells: list[str]) -> None:
        if len(cells) > len(self.columns):
            message = f"{len(cells)} cells, but the header has {len(self.columns)} columns"
            self.errors.append(CsvRowError(line, None, message))
            return
        # Blank cells are left out, so that the field's default applies.
        values = {column: cell for column, cell in zip(self.columns, cells) if column and cell.strip()}
        try:
            data = VisitInput.parse(values, self.zone)
            _check_camera(data.camera_id, self.cameras)
        except ValidationError as exc:
            self.errors += _row_errors(line, exc)
        except UnknownCamera as exc:
            self.errors.append(CsvRowError(line, "camera_id", str(exc)))
        else:
            if not self.errors:
                self._keep(data)

    def _keep(self, data: VisitInput) -> None:
        self.pending.append(Visit(**data.model_dump(), registered_by=self.actor))
        self.first_check_in = min(self.first_check_in or data.check_in_at, data.check_in_at)
        self.last_check_in = max(self.last_check_in or data.check_in_at, data.check_in_at)
        if len(self.pending) >= CSV_BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        rows = list(self.pending)
        _store_all(self.session, rows, actor=self.actor, role=self.role, action="visit.imported")
        self.stored += len(self.pending)
        self.pending.clear()


@contextmanager
def _text(source: str | Path | TextIO) -> Iterator[TextIO]:
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8-sig", newline="") as stream:
            yield stream
    else:
        yield source


def import_csv(
    session: Session,
    source: str | Path | TextIO,
    *,
    actor: str,
    role: str,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Import visits from a CSV file (a path or an open text stream); return how many were stored.

    The header names VisitInput fields (visitor_name, id_number and check_in_at are required);
    times without an offset are site time. All or nothing: on any error nothing of the file is
    stored and CsvImportError lists the errors with their line numbers. Rows are validated and
    inserted as they are read, in batches, inside a savepoint of the caller's transaction.
    Each stored visit gets its own ``visit.imported`` audit record, so every visit in the log
    can be traced to who entered it and how. ``progress`` is called with the data rows read.
    """
    rows_done = 0
    with _text(source) as stream, session.begin_nested():
        reader, columns = _open_csv(stream)
        importer = _VisitImport(session, columns, actor=actor, role=role, zone=settings.zone)
        for rows_done, (line, cells) in enumerate(_data_rows(reader, importer.errors), start=1):
            importer.add(line, cells)
            if len(importer.errors) >= MAX_CSV_ERRORS:
                raise CsvImportError(importer.errors[:MAX_CSV_ERRORS], complete=False)
            if progress and rows_done % CSV_BATCH_SIZE == 0:
                progress(rows_done)
        if importer.errors:
            raise CsvImportError(importer.errors)
        importer.flush()
    if progress:
        progress(rows_done)
    if importer.first_check_in and importer.last_check_in:
        _recheck_check_ins(session, settings, importer.first_check_in,
                           importer.last_check_in + timedelta(days=MAX_VISIT_DAYS))
    return importer.stored


# --- look-up ---------------------------------------------------------------------------------


def list_visits(
    session: Session,
    *,
    on_date: date | None = None,
    zone: tzinfo | None = None,
    search: str | None = None,
    plate: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
    whole_nik: bool = False,
) -> list[Visit]:
    """Visits, newest check-in first.

    ``on_date`` is a day at the site (``zone`` is then required); ``search`` matches part of the
    name, NIK, organisation, host or purpose, ignoring case; ``plate`` matches part of a plate,
    ignoring spaces, punctuation, case and look-alike glyphs (O/0, I/1, B/8, S/5, Z/2, as
    ``plates.match_key``); ``open_only`` keeps visits not yet checked out. ``whole_nik`` (for whom
    NIKs are masked) matches a NIK only whole, so digits cannot be guessed one search at a time.
    """
    query = select(Visit)
    if on_date is not None:
        if zone is None:
            raise ValueError("on_date is a day at the site: give the site's time zone too")
        start = datetime.combine(on_date, time(), zone)
        end = datetime.combine(on_date + timedelta(days=1), time(), zone)
        query = query.where(Visit.check_in_at >= start, Visit.check_in_at < end)
    if search:
        columns = (Visit.visitor_name, Visit.organisation, Visit.host, Visit.purpose)
        nik = "".join(search.split())  # typed in groups of four, as printed on the card
        by_nik = (Visit.id_number == nik) if whole_nik else Visit.id_number.icontains(nik, autoescape=True)
        by_nik = by_nik if nik else sa.false()
        query = query.where(sa.or_(by_nik, *(column.icontains(search, autoescape=True) for column in columns)))
    if plate:
        query = query.where(plate_key_sql(Visit.vehicle_plate).contains(match_key(plate), autoescape=True))
    if open_only:
        query = query.where(Visit.checked_out_at.is_(None))
    query = query.order_by(Visit.check_in_at.desc(), Visit.id.desc()).offset(offset).limit(limit)
    return list(session.exec(query).all())
