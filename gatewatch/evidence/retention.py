"""Retention: snapshots and clips older than ``evidence.retention_days`` are deleted, on the record.

An expired event keeps its row and the hashes of its files; its file paths are cleared and
``evidence_expired_at`` set, with an ``evidence.expired`` audit record naming the deleted files.
The row is marked (and committed) before the files are deleted, so a file can never be gone
without the record that explains it: ``audit verify`` reports such files as expired, and any
other missing file as missing.

Held evidence is kept (``holds``): a confirmed intrusion, or any event an auditor holds, keeps
its files however old until an auditor releases it; the next run after the release deletes
them. ``RetentionResult.kept_held`` counts the old events kept for a hold. Each batch locks the
events it expires, so a hold placed at the same moment waits and finds them expired, or lands
first and is seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select
from sqlmodel.sql.expression import Select

from gatewatch.audit import trail
from gatewatch.audit.events import EVIDENCE_FIELDS, EVIDENCE_PATH_FIELDS
from gatewatch.evidence.files import THUMBNAIL_DIR, resolve
from gatewatch.evidence.holds import held
from gatewatch.models.db import session_scope
from gatewatch.models.tables import EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings

log = logging.getLogger(__name__)

#: Events marked per transaction.
BATCH_SIZE = 200
_EXPIRING_FIELDS = (*EVIDENCE_PATH_FIELDS, "evidence_expired_at")


class RetentionError(Exception):
    """Retention cannot run as asked; the message says why."""


@dataclass
class RetentionResult:
    cutoff: datetime
    events: int = 0
    files: int = 0
    bytes: int = 0
    kept_held: int = 0  # old events whose evidence a legal hold keeps
    failures: list[str] = field(default_factory=list)  # files that could not be deleted


def _old(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Events older than ``cutoff`` that still have evidence files, held or not."""
    return sa.and_(
        EntryEvent.occurred_at < cutoff,
        EntryEvent.evidence_expired_at.is_(None),
        sa.or_(*(getattr(EntryEvent, name).is_not(None) for name in EVIDENCE_PATH_FIELDS)),
    )


def _expired(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_old(cutoff), ~held(EntryEvent.id))


def _count_held(engine: sa.Engine, cutoff: datetime) -> int:
    with session_scope(engine) as session:
        return session.execute(
            sa.select(sa.func.count()).select_from(EntryEvent).where(_old(cutoff), held(EntryEvent.id))
        ).scalar_one()


def delete_file(path: Path, failures: list[str]) -> int | None:
    """Delete ``path``; its size, or None when it was not there or could not be deleted (added to ``failures``)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        failures.append(f"{path}: {exc}")
        log.error("retention: %s not deleted: %s", path, exc)
        return None
    return size


def apply_retention(
    engine: sa.Engine,
    settings: Settings,
    *,
    actor: str,
    role: str,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete the evidence of events older than ``days`` (default: ``evidence.retention_days``),
    except that of held events.

    ``dry_run`` counts the events and files without changing anything.
    """
    days = days if days is not None else settings.evidence.retention_days
    if days is None or days < 1:
        raise RetentionError(
            "no evidence retention period: set evidence.retention_days in the configuration or give --evidence-days"
        )
    now = now or utcnow()
    result = RetentionResult(cutoff=now - timedelta(days=days))
    result.kept_held = _count_held(engine, result.cutoff)
    data_dir = settings.data_dir
    while True:
        with session_scope(engine) as session:
            events = session.exec(
                _locked(select(EntryEvent).where(_expired(result.cutoff)).order_by(EntryEvent.id)
                        .offset(result.events if dry_run else 0).limit(BATCH_SIZE), not dry_run)
            ).all()
            doomed = [(event.id, [getattr(event, name) for name in EVIDENCE_PATH_FIELDS]) for event in events]
            if dry_run:
                result.events += len(events)
                result.files += sum(resolve(data_dir, p) is not None for _, paths in doomed for p in paths)
                session.rollback()
            else:
                for event in events:
                    _mark(session, event, now, actor=actor, role=role)
        if not dry_run:
            result.events += len(doomed)
            for event_id, paths in doomed:
                for path in [resolve(data_dir, p) for p in paths]:
                    size = delete_file(path, result.failures) if path is not None else None
                    if size is not None:
                        result.files += 1
                        result.bytes += size
                delete_file(data_dir / THUMBNAIL_DIR / f"{event_id}.jpg", result.failures)  # the web UI's copy
        if len(doomed) < BATCH_SIZE:
            return result


def _locked(query: Select[tuple[EntryEvent]], lock: bool) -> Select[tuple[EntryEvent]]:
    """``query`` locking its rows when ``lock``: a hold placed meanwhile waits for this batch."""
    return query.with_for_update().execution_options(populate_existing=True) if lock else query


def _mark(session: Session, event: EntryEvent, now: datetime, *, actor: str, role: str) -> None:
    before = trail.row_values(event, _EXPIRING_FIELDS)
    deleted = [{"path": getattr(event, path_field), "sha256": getattr(event, hash_field)}
               for path_field, hash_field in EVIDENCE_FIELDS if getattr(event, path_field)]
    for name in EVIDENCE_PATH_FIELDS:
        setattr(event, name, None)
    event.evidence_expired_at = now
    session.add(event)
    trail.record(session, actor=actor, role=role, action="evidence.expired", entity="event", entity_id=event.id,
                 before=before, after={**trail.row_values(event, _EXPIRING_FIELDS), "deleted_files": deleted})
