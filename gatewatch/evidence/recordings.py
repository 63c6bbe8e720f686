"""Retention of continuous recording: old segments deleted on the record, by age and by a disk quota.

A segment is deleted when it ended more than ``recording.retention_days`` ago, and, while the
recordings of all cameras take more than ``recording.max_disk_gb``, oldest first until they fit.
As with evidence (``gatewatch.evidence.retention``) the row stays, its hash too: its path is
cleared and ``deleted_at`` set with a ``recording.expired`` audit record, committed before the
file is deleted, so ``audit verify`` reports the file as deleted by retention, not missing.

Footage of an entry nobody has decided on yet is kept: a segment spanning an open entry
(flagged or acknowledged, same camera, its time within the segment) stays until a person
decides; so does a segment spanning an event under legal hold, until the hold is released.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.audit.segments import SEGMENT_ENTITY, SEGMENT_EXPIRED
from gatewatch.events.holds import held
from gatewatch.evidence.files import resolve
from gatewatch.evidence.retention import RetentionError, delete_file
from gatewatch.models.db import session_scope
from gatewatch.models.enums import OPEN_STATUSES
from gatewatch.models.tables import EntryEvent, RecordingSegment
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings

#: Segments marked per transaction.
BATCH_SIZE = 200


@dataclass
class RecordingRetentionResult:
    cutoff: datetime | None  # segments that ended before it are deleted; None: no age limit, the quota only
    segments: int = 0  # deleted (or, in a dry run, to be deleted)
    bytes: int = 0
    kept_open: int = 0  # due, but spanning an entry still open
    kept_held: int = 0  # due, but spanning an event under legal hold
    failures: list[str] = field(default_factory=list)  # files that could not be deleted


def _spans(segment: type[RecordingSegment]) -> sa.ColumnElement[bool]:
    """An event of the segment's camera happened within the segment's time."""
    return sa.and_(EntryEvent.camera_id == segment.camera_id, EntryEvent.occurred_at >= segment.started_at,
                   EntryEvent.occurred_at <= segment.ended_at)


_SPANS_OPEN = sa.exists().where(_spans(RecordingSegment), EntryEvent.status.in_([s.value for s in OPEN_STATUSES]))
_SPANS_HELD = sa.exists().where(_spans(RecordingSegment), held(EntryEvent.id))
_KEPT = sa.and_(RecordingSegment.deleted_at.is_(None), RecordingSegment.path.is_not(None))


def apply_recording_retention(
    engine: sa.Engine,
    settings: Settings,
    *,
    actor: str,
    role: str,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    by_age: bool = True,
) -> RecordingRetentionResult:
    """Delete segments older than ``days`` (default ``recording.retention_days``) and beyond the quota.

    ``dry_run`` counts the segments and bytes without changing anything; ``by_age`` False applies
    the quota only (as a recording worker does).
    """
    days = (days if days is not None else settings.recording.retention_days) if by_age else None
    quota = settings.recording.max_disk_gb
    if days is not None and days < 1:
        raise RetentionError("the retention period of recordings must be at least one day")
    if days is None and quota is None:
        raise RetentionError("no retention for recordings: set recording.retention_days or recording.max_disk_gb "
                             "in the configuration, or give a number of days")
    now = now or utcnow()
    result = RecordingRetentionResult(cutoff=now - timedelta(days=days) if days is not None else None)
    with Session(engine) as session:
        doomed = _choose(session, result, int(quota * 1e9) if quota is not None else None)
    if dry_run:
        result.segments = len(doomed)
        result.bytes = sum(size for _, size in doomed)
        return result
    ids = [segment_id for segment_id, _ in doomed]
    for start in range(0, len(ids), BATCH_SIZE):
        with session_scope(engine) as session:
            marked = _mark(session, ids[start:start + BATCH_SIZE], now, actor=actor, role=role)
        for path in marked:
            _delete(settings.data_dir, path, result)
    return result


def _choose(session: Session, result: RecordingRetentionResult, quota_bytes: int | None) -> list[tuple[int, int]]:
    """The segments to delete, oldest first, as (id, size); counts those kept for an open or held event."""
    total = session.exec(select(sa.func.coalesce(sa.func.sum(RecordingSegment.size_bytes), 0)).where(_KEPT)).one()
    excess = total - quota_bytes if quota_bytes is not None else 0
    query = (sa.select(RecordingSegment.id, RecordingSegment.ended_at, RecordingSegment.size_bytes,
                       _SPANS_OPEN.label("open"), _SPANS_HELD.label("held"))
             .where(_KEPT).order_by(RecordingSegment.started_at, RecordingSegment.id))
    doomed = []
    for row in session.execute(query.execution_options(yield_per=1000)):
        expired = result.cutoff is not None and row.ended_at < result.cutoff
        if not expired and excess <= 0:
            continue
        if row.held:
            result.kept_held += 1
        elif row.open:
            result.kept_open += 1
        else:
            doomed.append((row.id, row.size_bytes))
            excess -= row.size_bytes
    return doomed


def _mark(session: Session, ids: list[int], now: datetime, *, actor: str, role: str) -> list[str]:
    """Mark the segments of ``ids`` still due as deleted, on the record; the paths of their files."""
    segments = session.exec(select(RecordingSegment).where(RecordingSegment.id.in_(ids), _KEPT,  # type: ignore[union-attr]
                                                           ~_SPANS_OPEN, ~_SPANS_HELD)).all()
    return mark_gone(session, segments, now, actor=actor, role=role, action=SEGMENT_EXPIRED)


def mark_gone(session: Session, segments: Iterable[RecordingSegment], now: datetime, *, actor: str, role: str,
              action: str, reason: str | None = None) -> list[str]:
    """Clear the paths of ``segments`` and set their ``deleted_at``, each with an ``action`` audit record
    naming the file (and ``reason``); the paths they had. ``audit verify`` then reports the files as
    deleted on the record, not missing."""
    paths = []
    for segment in segments:
        path = segment.path
        assert path is not None
        before = trail.row_values(segment, ("path", "deleted_at"))
        segment.path, segment.deleted_at = None, now
        session.add(segment)
        after = {**trail.row_values(segment, ("path", "deleted_at")),
                 "deleted_file": {"path": path, "sha256": segment.sha256}}
        trail.record(session, actor=actor, role=role, action=action, entity=SEGMENT_ENTITY, entity_id=segment.id,
                     before=before, after={**after, "reason": reason} if reason else after)
        paths.append(path)
    return paths


def _delete(data_dir: Path, relative: str, result: RecordingRetentionResult) -> None:
    """Delete a marked segment's file, and its day's folder once empty."""
    result.segments += 1
    path = resolve(data_dir, relative)
    size = delete_file(path, result.failures) if path is not None else None
    if path is None or size is None:
        return
    result.bytes += size
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # fails while other segments of the day are still there
