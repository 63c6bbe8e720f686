"""Continuous recording's camera side: where segment files go, and their rows and audit records.

A recording camera's segments (``gatewatch.vision.segments``) go under
``data_dir/recordings/<camera id>/<UTC date>/``; their rows hold that path relative to the data
directory. Each closed segment is stored with its ``recording.segment`` audit record in one
transaction, and so is each gap (``recording.gap``): time the stream was down, the disk full, or
the worker not running. A gap is noticed where the next footage starts later than the last
one ended.

Storing runs on a thread of its own (``SegmentLog``), in the order things happened. A record
that cannot be stored at once (SQLite's write lock held by a long import, a database server
restarting) stays queued and is tried again later, as the event writer does; it is dropped
only after a quarter of an hour of failures, and then logged with everything it held.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from gatewatch.audit import trail
from gatewatch.audit.segments import record_gap, record_segment
from gatewatch.camera.store import STORE_RETRY_SECONDS
from gatewatch.evidence.files import PARTIAL_FILES
from gatewatch.evidence.recordings import apply_recording_retention
from gatewatch.models.db import session_scope
from gatewatch.models.tables import RecordingGap, RecordingSegment
from gatewatch.settings import Settings
from gatewatch.vision.segments import ClosedSegment, MissedTime

log = logging.getLogger(__name__)

RECORDINGS_DIR = "recordings"
#: Footage starting this much later than the last ended leaves a gap on the record.
GAP_TOLERANCE = timedelta(seconds=1)
#: Why footage is missing when nothing else said so: the worker was stopped, or had not started.
NOT_RUNNING = "the camera was not recorded: its worker was not running"
_DONE = object()


def recordings_folder(data_dir: Path, camera_id: str) -> Path:
    return data_dir / RECORDINGS_DIR / camera_id


def segment_path(data_dir: Path, camera_id: str, started_at: datetime) -> Path:
    """Where the segment starting at ``started_at`` (UTC) is written."""
    return recordings_folder(data_dir, camera_id) / f"{started_at:%Y-%m-%d}" / f"{started_at:%H%M%S.%f}.mp4"


def remove_stale_partial_segments(data_dir: Path, camera_id: str, older_than_seconds: float = 300.0) -> int:
    """Delete the temporary segment files a killed recorder left behind; returns how many."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for partial in recordings_folder(data_dir, camera_id).glob(PARTIAL_FILES):
        if partial.stat().st_mtime < cutoff:
            partial.unlink(missing_ok=True)
            removed += 1
    return removed


class SegmentLog:
    """Stores one camera's closed segments and gaps, on a thread of its own, waiting out a busy database.

    ``stream_down`` tells it why the footage that follows starts late: the reason goes into the gap.
    """

    def __init__(self, engine: sa.Engine, data_dir: Path, camera_id: str, *, actor: str = "worker",
                 retry_seconds: Sequence[float] = STORE_RETRY_SECONDS,
                 on_stored: Callable[[], None] | None = None) -> None:
        self.engine, self.data_dir, self.camera_id, self.actor = engine, data_dir, camera_id, actor
        self.retry_seconds = retry_seconds
        self._on_stored = on_stored  # called after each segment is stored (``RecordingQuota.check``)
        self._queue: queue.Queue[object] = queue.Queue()
        self._last_end: datetime | None = None
        self._known = False  # _last_end read from the database
        self._down_reason: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"segment-log-{camera_id}", daemon=True)
        self._thread.start()

    def segment(self, segment: ClosedSegment) -> None:
        self._queue.put(segment)

    def gap(self, missed: MissedTime) -> None:
        self._queue.put(missed)

    def stream_down(self, reason: str) -> None:
        self._queue.put(f"the stream was down: {reason}")

    @property
    def pending(self) -> int:
        """Records queued, not stored yet."""
        return self._queue.unfinished_tasks

    def close(self) -> None:
        """Store what is queued (waiting out a busy database as long as any record would), then stop."""
        self._queue.put(_DONE)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            try:
                if isinstance(item, str):
                    self._down_reason = self._down_reason or item
                else:
                    self._store_with_retry(item)  # type: ignore[arg-type]
                    if isinstance(item, ClosedSegment) and self._on_stored is not None:
                        self._on_stored()
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _store_with_retry(self, item: ClosedSegment | MissedTime) -> None:
        for delay in (*self.retry_seconds, None):
            try:
                self._store(item)
                return
            except sa.exc.OperationalError as exc:
                if delay is None:
                    log.error("%s: a recording record could not be stored and is lost (%s): %r", self.camera_id,
                              str(exc.orig).strip() or type(exc.orig).__name__, item)
                    return
                log.warning("%s: storing a recording record failed (%s); trying again in %.0f s", self.camera_id,
                            str(exc.orig).strip() or type(exc.orig).__name__, delay)
                time.sleep(delay)
            except Exception:
                log.exception("%s: a recording record could not be stored: %r", self.camera_id, item)
                return

    def _store(self, item: ClosedSegment | MissedTime) -> None:
        """The item, and the gap before it when it starts late, in one transaction."""
        with session_scope(self.engine) as session:
            last_end = self._last_end if self._known else self._stored_end(session)
            consumed = False  # the reason for the footage missing went into a gap
            if last_end is not None and item.started_at - last_end > GAP_TOLERANCE:
                before = RecordingGap(camera_id=self.camera_id, started_at=last_end, ended_at=item.started_at,
                                      reason=(self._down_reason or NOT_RUNNING)[:500])
                session.add(before)
                session.flush()
                record_gap(session, before, actor=self.actor)
                consumed = True
            if isinstance(item, ClosedSegment):
                row = RecordingSegment(camera_id=self.camera_id, started_at=item.started_at,
                                       ended_at=item.ended_at, path=self._relative(item.path), sha256=item.sha256,
                                       size_bytes=item.size_bytes, frames=item.frames)
                session.add(row)
                session.flush()
                record_segment(session, row, actor=self.actor)
            else:
                gap = RecordingGap(camera_id=self.camera_id, started_at=item.started_at, ended_at=item.ended_at,
                                   reason=item.reason[:500])
                session.add(gap)
                session.flush()
                record_gap(session, gap, actor=self.actor)
        self._last_end, self._known = max(item.ended_at, last_end or item.ended_at), True
        if consumed:
            self._down_reason = None

    def _stored_end(self, session: sa.orm.Session) -> datetime | None:
        """Where the camera's recording on the record ends: its latest segment's or gap's end."""
        ends = [session.exec(select(sa.func.max(table.ended_at)).where(table.camera_id == self.camera_id)).one()
                for table in (RecordingSegment, RecordingGap)]
        known = [end for end in ends if end is not None]
        return max(known) if known else None

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.data_dir).as_posix()


class RecordingQuota:
    """Keeps all cameras' recordings within ``recording.max_disk_gb`` while they are written.

    ``retention apply`` applies the quota when it runs (from cron, say); between two runs a busy
    camera could fill the disk and lose footage as gaps. So a recording worker applies the quota
    itself, at most every ``interval`` seconds: the oldest segments go first, on the record, and
    those spanning an open or held entry are kept (``evidence.recordings``). Age is left to
    ``retention apply``.
    """

    def __init__(self, engine: sa.Engine, settings: Settings, *, actor: str, interval: float = 60.0) -> None:
        self.engine, self.settings, self.actor, self.interval = engine, settings, actor, interval
        self._last: float | None = None

    def check(self) -> None:
        """Apply the quota if it is set and was not applied in the last ``interval`` seconds."""
        if self.settings.recording.max_disk_gb is None:
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        try:
            result = apply_recording_retention(self.engine, self.settings, actor=self.actor, role=trail.SYSTEM,
                                               by_age=False)
        except Exception:  # the quota is tried again after the next segment; recording goes on
            log.exception("applying the recordings' disk quota failed")
            return
        if result.segments:
            log.info("recordings over the %g GB quota: deleted the %d oldest segments (%.1f MB)",
                     self.settings.recording.max_disk_gb, result.segments, result.bytes / 1e6)
