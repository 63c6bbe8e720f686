"""Signed exports made in the background for the auditor's page, with their progress, as visit
imports are (``gatewatch.visitors.imports``).

``start_export_job`` checks the selection, registers an ``ExportJob`` (pending) and makes the
export in a thread of the web process; ``export_job_state`` reads where a job stands, so any
process can follow it. Jobs run one at a time across every web worker and server: a job waits,
pending, until it holds the database lock ``export`` (``gatewatch.models.locks``).

The file is written under ``<data_dir>/exports`` with a name the server makes from the job's id
and time (``job_filename``); nothing in a request names it. The job's ``parameters`` JSON holds
what to export (``selection``), whether to add annotated renditions (``annotated``), the
requester's role for the audit trail, and, once done, the ``result``: events, flagged entries,
files, signer, evidence problems and the renditions made.

Annotated renditions are drawn and encoded, which the web process never does: the job makes them
in a process of its own (``annotated.launch_renditions``: ``gatewatch export render-job ID``,
which runs ``render_job_renditions``), waits for it, and puts what it made in the ZIP. The
process reports its progress on the job as the export does.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.evidence.annotated import Renditions, launch_renditions, render_renditions, renditions_dir
from gatewatch.evidence.export import ExportError, ExportSelection, check_selection, create_export
from gatewatch.models import locks
from gatewatch.models.db import session_scope
from gatewatch.models.tables import EntryEvent, ExportJob
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings

log = logging.getLogger(__name__)

#: The lock every export job holds while it writes.
LOCK = "export"
LOCK_TTL = timedelta(minutes=2)
#: How often a waiting job looks whether the lock is free.
WAIT_SECONDS = 2.0
#: Progress is written at most this often.
PROGRESS_SECONDS = 1.0
#: The names ``job_filename`` makes, and the only ones a job's download serves.
FILENAME = re.compile(r"gatewatch-export-\d{8}T\d{6}Z-job\d+\.zip")


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


FINISHED = (ExportStatus.DONE, ExportStatus.FAILED)


class ExportJobError(Exception):
    """A job cannot be run; the message says why."""


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def job_filename(job_id: int, when: datetime) -> str:
    return f"gatewatch-export-{when:%Y%m%dT%H%M%SZ}-job{job_id}.zip"


def request_export_job(engine: sa.Engine, selection: ExportSelection, *, actor: str, role: str,
                       annotated: bool = False) -> int:
    """Register a pending export of ``selection`` (with annotated renditions when ``annotated``);
    ExportError when it cannot be made (nothing registered)."""
    with Session(engine) as session:
        check_selection(session, selection)
    parameters = {"selection": selection.as_dict(), "role": role, "annotated": annotated}
    with session_scope(engine) as session:
        job = ExportJob(parameters=json.dumps(parameters, sort_keys=True),
                        status=ExportStatus.PENDING, requested_by=actor)
        session.add(job)
        session.flush()
        assert job.id is not None
        return job.id


class _Progress:
    """``create_export``'s progress callback: writes the counts to the job at most once a second."""

    def __init__(self, engine: sa.Engine, job_id: int) -> None:
        self.engine, self.job_id = engine, job_id
        self._written = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        if done < total and time.monotonic() - self._written < PROGRESS_SECONDS:
            return
        self._written = time.monotonic()
        with session_scope(self.engine) as session:
            session.execute(sa.update(ExportJob).where(ExportJob.id == self.job_id)
                            .values(items_done=done, items_total=total))


def _claim(engine: sa.Engine, job_id: int) -> ExportJob:
    with session_scope(engine) as session:
        claimed = session.execute(
            sa.update(ExportJob).where(ExportJob.id == job_id, ExportJob.status == ExportStatus.PENDING)
            .values(status=ExportStatus.RUNNING, started_at=utcnow())
        ).rowcount
        job = session.get(ExportJob, job_id)
    if job is None:
        raise ExportJobError(f"there is no export job #{job_id}")
    if not claimed:
        raise ExportJobError(f"export job #{job_id} is {job.status}; only a pending job can run")
    return job


def _finish(engine: sa.Engine, job_id: int, status: ExportStatus, **values: Any) -> None:
    with session_scope(engine) as session:
        job = session.get(ExportJob, job_id)
        assert job is not None
        job.sqlmodel_update({"status": status, "finished_at": utcnow(), **values})


def run_export_job(engine: sa.Engine, settings: Settings, job_id: int) -> None:
    """Make the export of a pending job; the caller holds the ``export`` lock.

    An export that cannot be made as asked (ExportError) is recorded failed with the reason;
    anything else is recorded failed too and re-raised.
    """
    job = _claim(engine, job_id)
    parameters = json.loads(job.parameters)
    selection = ExportSelection.from_dict(parameters["selection"])
    name = job_filename(job_id, job.started_at or utcnow())
    try:
        renditions = _renditions_made(settings, job_id) if parameters.get("annotated") else None
        summary = create_export(engine, settings, selection, exports_dir(settings) / name, actor=job.requested_by,
                                role=parameters.get("role", ""), progress=_Progress(engine, job_id),
                                annotated=renditions)
    except ExportError as exc:
        _finish(engine, job_id, ExportStatus.FAILED, error=str(exc)[:500])
        return
    except BaseException as exc:
        _finish(engine, job_id, ExportStatus.FAILED, error=f"the export stopped: {type(exc).__name__}")
        raise
    finally:
        shutil.rmtree(renditions_dir(settings, job_id), ignore_errors=True)
    result = {"events": summary.events, "flagged": summary.flagged, "files": summary.files,
              "signer": summary.signer, "manifest_sha256": summary.manifest_sha256,
              "evidence_problems": summary.evidence_problems, "annotated": summary.annotated,
              "annotation_problems": summary.annotation_problems}
    _finish(engine, job_id, ExportStatus.DONE, filename=name, items_done=summary.events,
            items_total=summary.events, parameters=json.dumps({**parameters, "result": result}, sort_keys=True))


def _renditions_made(settings: Settings, job_id: int) -> Renditions:
    """Make the job's renditions in a process of its own and wait for it; ExportError when it fails."""
    process = launch_renditions(settings, job_id)
    if process.wait() != 0:
        raise ExportError(f"the annotated clips could not be made (exit status {process.returncode}); "
                          f"see exports/annotating/job-{job_id}.log in the data folder")
    return Renditions.read(renditions_dir(settings, job_id))


def render_job_renditions(engine: sa.Engine, settings: Settings, job_id: int) -> Renditions:
    """Make running job ``job_id``'s renditions into its folder: what ``gatewatch export render-job`` runs.

    ExportJobError when there is no such job, or it is not running (its process waits for this one).
    """
    with Session(engine) as session:
        job = session.get(ExportJob, job_id)
        if job is None:
            raise ExportJobError(f"there is no export job #{job_id}")
        if job.status != ExportStatus.RUNNING:
            raise ExportJobError(f"export job #{job_id} is {job.status}; its renditions are made while it runs")
        selection = ExportSelection.from_dict(json.loads(job.parameters)["selection"])
        events = list(session.exec(sa.select(EntryEvent.id).where(*selection.conditions())).scalars())
    return render_renditions(engine, settings, events, renditions_dir(settings, job_id),
                             progress=_Progress(engine, job_id))


def run_when_free(engine: sa.Engine, settings: Settings, job_id: int, *, stop: threading.Event | None = None) -> None:
    """Wait until the ``export`` lock is free, then hold it while running the job."""
    holder = locks.new_holder(f"export job #{job_id}")
    while not locks.acquire(engine, LOCK, holder, LOCK_TTL):
        if stop is not None and stop.is_set():
            return
        time.sleep(WAIT_SECONDS)
    keeper = locks.Keeper(engine, LOCK, holder, LOCK_TTL).start()
    try:
        run_export_job(engine, settings, job_id)
    finally:
        keeper.stop()
        locks.release(engine, LOCK, holder)


def start_export_job(engine: sa.Engine, settings: Settings, selection: ExportSelection, *, actor: str,
                     role: str, annotated: bool = False) -> int:
    """Register the export and make it in a background thread; returns the job's id at once.

    Raises ExportError, before anything is registered, when the selection cannot be exported.
    """
    job_id = request_export_job(engine, selection, actor=actor, role=role, annotated=annotated)

    locks.run_in_background(f"export-job-{job_id}", lambda: run_when_free(engine, settings, job_id))
    return job_id


# --- following a job -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportJobState:
    id: int
    status: ExportStatus
    items_done: int
    items_total: int | None
    filename: str | None
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    selection: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    annotated: bool = False

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int | None:
        if self.status == ExportStatus.DONE:
            return 100
        return min(100, 100 * self.items_done // self.items_total) if self.items_total else None


def export_job_state(session: Session, job_id: int) -> ExportJobState | None:
    """Where a job stands, or None if there is no such job."""
    job = session.get(ExportJob, job_id)
    if job is None:
        return None
    parameters = json.loads(job.parameters or "{}")
    return ExportJobState(id=job_id, status=ExportStatus(job.status), items_done=job.items_done,
                          items_total=job.items_total, filename=job.filename, error=job.error,
                          requested_by=job.requested_by, created_at=job.created_at, started_at=job.started_at,
                          finished_at=job.finished_at, selection=parameters.get("selection", {}),
                          result=parameters.get("result", {}), annotated=bool(parameters.get("annotated")))


def job_file(settings: Settings, state: ExportJobState) -> Path | None:
    """The finished job's own file, or None: not done, no name the server made, or the file is gone."""
    if state.status != ExportStatus.DONE or not state.filename or not FILENAME.fullmatch(state.filename):
        return None
    path = exports_dir(settings) / state.filename
    return path if path.is_file() else None
