"""The event store: writes each draft's evidence, then its row and cross-check in one transaction.

Storing runs on its own thread (``EventWriter``) so encoding clips never holds up analysis.
Evidence paths are relative to the data directory, so the store can move with it.

Each stored event gets an ``event.recorded`` audit record holding its fields as stored,
including the SHA-256 of its snapshot and clip, so the audit chain vouches for the event row
and its files (``gatewatch.integrity`` checks both against it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from gatewatch.crosscheck.service import check_event
from gatewatch.event_audit import file_sha256, record_event
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera, EntryEvent, EventStatus
from gatewatch.settings import CameraSettings, Settings
from gatewatch.vision.evidence import write_clip, write_snapshot
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.runstats import StageTimes

log = logging.getLogger(__name__)

#: Niceness added to the event writer's thread (and the encoder threads it starts): analysis first.
WRITER_NICENESS = 10


def file_source_key(path: Path) -> str:
    """Names footage by its content, so the same file analysed again is recognised."""
    return f"file:{file_sha256(path)[:32]}"


def live_source_key(started: datetime) -> str:
    """Names one live session: tracker ids start again with every session."""
    return f"live:{started.strftime('%Y%m%dT%H%M%S.%fZ')}"


def sync_camera(engine: sa.Engine, camera: CameraSettings) -> None:
    """Create or update the camera's row from its configuration."""
    with session_scope(engine) as session:
        row = session.get(Camera, camera.id) or Camera(id=camera.id, name=camera.name, source=camera.source)
        row.name, row.source = camera.name, camera.source
        session.add(row)


@dataclass(frozen=True)
class StoredEvent:
    event: EntryEvent
    created: bool  # False when the same occurrence was already stored by an earlier run


class EventStore:
    """Stores the events of one camera analysing one source."""

    def __init__(self, engine: sa.Engine, settings: Settings, camera: CameraSettings, source_key: str) -> None:
        self.engine = engine
        self.settings = settings
        self.camera = camera
        self.source_key = source_key

    def save(self, draft: EventDraft) -> StoredEvent:
        crossing = draft.crossing
        with session_scope(self.engine) as session:
            existing = session.exec(
                select(EntryEvent).where(
                    EntryEvent.camera_id == self.camera.id,
                    EntryEvent.source_key == self.source_key,
                    EntryEvent.track_id == crossing.track_id,
                    EntryEvent.frame_index == crossing.frame_index,
                )
            ).first()
            if existing is not None:
                return StoredEvent(existing, created=False)
            event = EntryEvent(
                camera_id=self.camera.id,
                source_key=self.source_key,
                track_id=crossing.track_id,
                label=crossing.label,
                direction=crossing.direction.value,
                occurred_at=crossing.time.astimezone(UTC),
                frame_index=crossing.frame_index,
                confidence=round(crossing.confidence, 4),
                box_x1=crossing.box[0],
                box_y1=crossing.box[1],
                box_x2=crossing.box[2],
                box_y2=crossing.box[3],
                status=EventStatus.FLAGGED.value,
            )
            self._write_evidence(event, draft)
            session.add(event)
            check_event(session, event, self.settings)
            session.flush()
            record_event(session, event)
        return StoredEvent(event, created=True)

    def _evidence_stem(self, draft: EventDraft) -> Path:
        crossing = draft.crossing
        day = crossing.time.strftime("%Y-%m-%d")
        key = self.source_key.replace(":", "-")
        return Path("evidence") / self.camera.id / day / f"{key}-f{crossing.frame_index:07d}-t{crossing.track_id}"

    def _write_evidence(self, event: EntryEvent, draft: EventDraft) -> None:
        """Write snapshot and clip; a failure is recorded on the event, never loses it."""
        stem = self._evidence_stem(draft)
        caption = f"{draft.crossing.label} #{draft.crossing.track_id} {draft.crossing.direction.value}"
        data_dir = self.settings.data_dir
        try:
            if draft.snapshot is not None and draft.snapshot_box is not None:
                path = stem.with_suffix(".jpg")
                write_snapshot(data_dir / path, draft.snapshot, draft.snapshot_box, caption,
                               self.settings.evidence.snapshot_quality)
                event.snapshot_path = path.as_posix()
                event.snapshot_sha256 = file_sha256(data_dir / path)
            if draft.clip:
                path = stem.with_suffix(".mp4")
                write_clip(data_dir / path, draft.clip, draft.fps, draft.crossing.track_id, caption,
                           self.settings.evidence.clip_preset)
                event.clip_path = path.as_posix()
                event.clip_sha256 = file_sha256(data_dir / path)
        except OSError as exc:
            log.error("evidence for %s track %s not written: %s", self.camera.id, draft.crossing.track_id, exc)
            event.evidence_error = f"evidence could not be written: {exc}"[:500]


class EventWriter:
    """Stores drafts on a background thread, in the order they come, and collects the results."""

    _DONE = object()

    def __init__(self, store: EventStore, max_pending: int = 32, times: StageTimes | None = None) -> None:
        self.store = store
        self.times = times if times is not None else StageTimes()  # time spent storing goes to "encode"
        self.results: list[StoredEvent] = []
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"event-writer-{store.camera.id}", daemon=True)
        self._thread.start()

    def submit(self, draft: EventDraft) -> None:
        if self._error is not None:
            raise RuntimeError("storing events failed") from self._error
        self._queue.put(draft)

    def close(self) -> list[StoredEvent]:
        """Wait until every submitted draft is stored; re-raises a storing failure."""
        self._queue.put(self._DONE)
        self._thread.join()
        if self._error is not None:
            raise RuntimeError("storing events failed") from self._error
        return self.results

    def _run(self) -> None:
        # Linux niceness is per thread: encoding yields the CPU to analysis, which must keep up
        # with a live camera, and catches up when analysis waits for frames.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICENESS)
        while (item := self._queue.get()) is not self._DONE:
            if self._error is not None:
                continue  # drain, so submit() never blocks after a failure
            try:
                with self.times.measure("encode"):
                    self.results.append(self.store.save(item))  # type: ignore[arg-type]
            except BaseException as exc:  # surfaced to the analysis thread by submit/close
                log.exception("storing an event failed")
                self._error = exc


def remove_stale_partial_files(data_dir: Path, camera_id: str, older_than_seconds: float = 300.0) -> int:
    """Delete temporary evidence files a killed writer left behind; returns how many.

    Only old ones: a writer of this camera in another process may be writing one right now.
    """
    cutoff = time.time() - older_than_seconds
    removed = 0
    for partial in (data_dir / "evidence" / camera_id).glob("**/.*.part"):
        if partial.stat().st_mtime < cutoff:
            partial.unlink(missing_ok=True)
            removed += 1
    return removed
