"""Visitor-log CSV files uploaded through the web, imported in the background: every row or none.

``start_import`` keeps the upload under ``<data_dir>/imports``, registers a ``VisitImport``
(pending) and runs ``visits.import_csv`` on it in a thread; ``import_state`` reads where an
import stands, so any process can follow it. When the import ends the file is deleted: a
failed import keeps only its list of errors.

Progress goes to a small file beside the upload (``<id>.progress``), written at most once a
second, and not to the ``VisitImport`` row: on SQLite the import's transaction holds the
database's only write lock until it commits, so an update of the row from another
transaction would wait for the whole import. The row gets the final figures, in the import's
own transaction when it succeeds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.models.db import session_scope
from gatewatch.models.locks import run_in_background
from gatewatch.models.tables import VisitImport
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.visits import MAX_CSV_ERRORS, CsvImportError, CsvRowError, import_csv

log = logging.getLogger(__name__)

#: Progress is written at most this often.
PROGRESS_SECONDS = 1.0
MEGABYTE = 1 << 20
#: Imports in one process run one after the other: on SQLite a second would wait for the
#: write lock and fail after the busy timeout.
_ONE_AT_A_TIME = threading.Lock()


class ImportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)


class UploadProblem(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    BINARY = "binary"  # a spreadsheet (.xlsx), UTF-16 text, an image...
    NOT_UTF8 = "not_utf8"  # text in another encoding, such as Windows-1252


class VisitImportError(Exception):
    """An import cannot be run; the message says why."""


class UploadRefused(VisitImportError):
    """The upload is not a CSV file the import can read; nothing of it was kept.

    ``line`` is where a NOT_UTF8 file stops being UTF-8.
    """

    def __init__(self, problem: UploadProblem, line: int | None = None) -> None:
        self.problem, self.line = problem, line
        where = f" (line {line})" if line else ""
        super().__init__(f"the upload is refused: {problem.value}{where}")


def _imports_dir(settings: Settings) -> Path:
    return settings.data_dir / "imports"


def upload_path(settings: Settings, import_id: int) -> Path:
    return _imports_dir(settings) / f"{import_id}.csv"


def _progress_path(settings: Settings, import_id: int) -> Path:
    return upload_path(settings, import_id).with_suffix(".progress")


# --- accepting an upload ---------------------------------------------------------------------


def _check_text(line: bytes, number: int) -> None:
    if b"\0" in line:
        raise UploadRefused(UploadProblem.BINARY)
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(UploadProblem.NOT_UTF8, number) from None


def _save_text(upload: IO[bytes], target: Path, max_bytes: int) -> tuple[int, int]:
    """Copy ``upload`` to ``target`` if it is UTF-8 text of at most ``max_bytes``; (bytes, lines).

    Checked line by line (no UTF-8 character holds a newline byte), so a wrong encoding is
    named with its line.
    """
    size = lines = 0
    with open(target, "wb") as out:
        for lines, line in enumerate(upload, start=1):
            size += len(line)
            if size > max_bytes:
                raise UploadRefused(UploadProblem.TOO_LARGE)
            _check_text(line, lines)
            out.write(line)
    if size == 0:
        raise UploadRefused(UploadProblem.EMPTY)
    return size, lines


def _display_name(filename: str) -> str:
    """The file's own name, without any folder a browser sent along."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1][:255]


def create_import(
    engine: sa.Engine, settings: Settings, upload: IO[bytes], filename: str, *, actor: str
) -> int:
    """Keep an uploaded CSV file and register its import, pending; returns the import's id.

    Raises UploadRefused, keeping nothing, for an upload that is empty, larger than
    ``visits_import_max_mb`` or not UTF-8 text.
    """
    _imports_dir(settings).mkdir(parents=True, exist_ok=True)
    part = _imports_dir(settings) / f"upload-{uuid.uuid4().hex}.part"
    try:
        size, lines = _save_text(upload, part, settings.visits_import_max_mb * MEGABYTE)
        with session_scope(engine) as session:
            job = VisitImport(
                filename=_display_name(filename),
                size_bytes=size,
                rows_total=max(lines - 1, 0),
                status=ImportStatus.PENDING,
                requested_by=actor,
            )
            session.add(job)
            session.flush()
            import_id = job.id
        part.replace(upload_path(settings, import_id))
    finally:
        part.unlink(missing_ok=True)
    return import_id


# --- running an import -----------------------------------------------------------------------


class _Progress:
    """``import_csv``'s progress callback: keeps the rows read and writes them down at most once a second."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._written = float("-inf")  # the first call writes

    def __call__(self, rows: int) -> None:
        self.rows = rows
        if time.monotonic() - self._written >= PROGRESS_SECONDS:
            self._written = time.monotonic()
            draft = self.path.with_suffix(".progress-new")
            draft.write_text(str(rows))
            draft.replace(self.path)  # a reader never sees half a number


def _claim(engine: sa.Engine, import_id: int) -> str:
    """Mark a pending import running; returns who asked for it.

    Claimed in one statement, so two runners of the same import cannot both start it.
    """
    with session_scope(engine) as session:
        claimed = session.execute(
            sa.update(VisitImport)
            .where(VisitImport.id == import_id, VisitImport.status == ImportStatus.PENDING)
            .values(status=ImportStatus.RUNNING, started_at=utcnow())
        ).rowcount
        job = session.get(VisitImport, import_id)
    if job is None:
        raise VisitImportError(f"there is no import #{import_id}")
    if not claimed:
        raise VisitImportError(f"import #{import_id} is {job.status}; only a pending import can run")
    return job.requested_by


def _finish(session: Session, import_id: int, status: ImportStatus, rows_read: int, **values: object) -> None:
    job = session.get(VisitImport, import_id)
    assert job is not None  # claimed before
    job.sqlmodel_update({"status": status, "rows_read": rows_read, "finished_at": utcnow(), **values})


def _fail(engine: sa.Engine, import_id: int, errors: list[CsvRowError], rows_read: int) -> None:
    with session_scope(engine) as session:
        errors_json = json.dumps([dataclasses.asdict(error) for error in errors])
        _finish(session, import_id, ImportStatus.FAILED, rows_read, errors=errors_json)


def _import(
    engine: sa.Engine, settings: Settings, import_id: int, *, actor: str, role: str, progress: _Progress
) -> None:
    try:
        with session_scope(engine) as session:
            stored = import_csv(
                session,
                upload_path(settings, import_id),
                actor=actor,
                role=role,
                settings=settings,
                progress=progress,
            )
            # In the import's transaction: the visits and "done" are committed together.
            _finish(
                session, import_id, ImportStatus.DONE, progress.rows, rows_total=progress.rows, stored=stored
            )
    except CsvImportError as error:
        _fail(engine, import_id, error.errors, progress.rows)
    except Exception:
        _fail(engine, import_id, [], progress.rows)  # no errors listed: the fault is not in the file
        raise


def run_import(engine: sa.Engine, settings: Settings, import_id: int, *, role: str) -> None:
    """Import the file of a pending import as its requester in ``role`` (for the audit trail).

    Every row is stored and the import recorded done, or nothing is stored and it is recorded
    failed with the file's errors. The file is deleted either way. Re-raises what is not a
    fault of the file (a database error, ...) after recording the import failed.
    """
    with _ONE_AT_A_TIME:
        actor = _claim(engine, import_id)
        progress = _Progress(_progress_path(settings, import_id))
        try:
            _import(engine, settings, import_id, actor=actor, role=role, progress=progress)
        finally:
            upload_path(settings, import_id).unlink(missing_ok=True)
            progress.path.unlink(missing_ok=True)


def start_import(
    engine: sa.Engine, settings: Settings, upload: IO[bytes], filename: str, *, actor: str, role: str
) -> int:
    """Keep the upload and import it in a background thread; returns the import's id at once.

    Raises UploadRefused as ``create_import`` does, before anything runs.
    """
    import_id = create_import(engine, settings, upload, filename, actor=actor)

    run_in_background(f"visit-import-{import_id}", lambda: run_import(engine, settings, import_id, role=role))
    return import_id


# --- following an import ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportState:
    id: int
    filename: str
    status: ImportStatus
    rows_read: int
    rows_total: int | None
    stored: int
    errors: list[CsvRowError]
    requested_by: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int | None:
        if self.status == ImportStatus.DONE:
            return 100
        return min(100, 100 * self.rows_read // self.rows_total) if self.rows_total else None

    @property
    def errors_cut_short(self) -> bool:
        """Whether reading may have stopped at MAX_CSV_ERRORS, leaving the rest of the file unchecked."""
        return len(self.errors) >= MAX_CSV_ERRORS


def _rows_read(settings: Settings, job: VisitImport) -> int:
    if job.status != ImportStatus.RUNNING:
        return job.rows_read
    try:
        return int(_progress_path(settings, job.id).read_text())
    except (FileNotFoundError, ValueError):  # not written yet, or just finished
        return job.rows_read


def import_state(session: Session, settings: Settings, import_id: int) -> ImportState | None:
    """Where an import stands, or None if there is no such import."""
    job = session.get(VisitImport, import_id)
    if job is None:
        return None
    return ImportState(
        id=import_id,
        filename=job.filename,
        status=ImportStatus(job.status),
        rows_read=_rows_read(settings, job),
        rows_total=job.rows_total,
        stored=job.stored,
        errors=[CsvRowError(**error) for error in json.loads(job.errors or "[]")],
        requested_by=job.requested_by,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
