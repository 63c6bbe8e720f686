"""The event store: writes each draft's evidence, then its row and cross-check in one transaction.

Storing runs on its own thread (``EventWriter``) so encoding clips never holds up analysis.
Evidence paths are relative to the data directory, so the store can move with it.

Each stored event gets an ``event.recorded`` audit record holding its fields as stored,
including the SHA-256 of its snapshot and clip, so the audit chain vouches for the event row
and its files (``gatewatch.evidence.integrity`` checks both against it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from gatewatch.audit.events import file_sha256, record_event
from gatewatch.crosscheck.service import check_event
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, PlateStatus
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import PLATED_CLASSES, CameraSettings, Settings
from gatewatch.vision.clips import lower_priority
from gatewatch.vision.evidence import write_jpeg, write_packets, write_snapshot
from gatewatch.vision.plate_reader import PlateReader, View
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.runstats import StageTimes

log = logging.getLogger(__name__)

#: Waits before each new attempt to store an event while the database is busy or away (15 min in all).
STORE_RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, *(60.0,) * 14)


@dataclass(frozen=True)
class StoredEvent:
    event: EntryEvent
    created: bool  # False when the same occurrence was already stored by an earlier run


class EventStore:
    """Stores the events of one camera analysing one source.

    ``plates`` reads vehicles' plates; a worker hands the same reader to the store of each live
    session, so its OCR engine is built once per camera, not again at every reconnect.
    """

    def __init__(self, engine: sa.Engine, settings: Settings, camera: CameraSettings, source_key: str,
                 plates: PlateReader | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.camera = camera
        self.source_key = source_key
        self._plates = plates if plates is not None else PlateReader(settings.plates)

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

    def _evidence_path(self, draft: EventDraft, suffix: str) -> Path:
        """Where the event's file of type ``suffix`` goes, relative to the data directory.

        The name is built whole, not with ``with_suffix``: a live source key holds a dot (its
        time's fraction of a second), which ``with_suffix`` would take for the suffix and cut.
        """
        crossing = draft.crossing
        day = crossing.time.strftime("%Y-%m-%d")
        key = self.source_key.replace(":", "-")
        name = f"{key}-f{crossing.frame_index:07d}-t{crossing.track_id}{suffix}"
        return Path("evidence") / self.camera.id / day / name

    def _write_evidence(self, event: EntryEvent, draft: EventDraft) -> None:
        """Write snapshot and clip; a failure is recorded on the event, never loses it."""
        data_dir = self.settings.data_dir
        try:
            if draft.snapshot is not None and draft.snapshot_box is not None:
                path = self._evidence_path(draft, ".jpg")
                write_snapshot(data_dir / path, draft.snapshot, draft.snapshot_box, draft.caption,
                               self.settings.evidence.snapshot_quality)
                event.snapshot_path = path.as_posix()
                event.snapshot_sha256 = file_sha256(data_dir / path)
            if draft.encoded is not None:  # encoded beside the analysis (vision.clips)
                path = self._evidence_path(draft, ".mp4")
                write_packets(data_dir / path, draft.encoded.result())
                event.clip_path = path.as_posix()
                event.clip_sha256 = file_sha256(data_dir / path)
            if draft.crossing.label in PLATED_CLASSES and self.settings.plates.enabled:
                self._read_plate(event, draft)
        except OSError as exc:
            log.error("evidence for %s track %s not written: %s", self.camera.id, draft.crossing.track_id, exc)
            event.evidence_error = f"evidence could not be written: {exc}"[:500]

    def _read_plate(self, event: EntryEvent, draft: EventDraft) -> None:
        """Read the vehicle's plate from its views: the snapshot and the clip's frames.

        Clip frames are kept as YUV; the reader turns into an image only the views it reads,
        the largest ones where the plate is big enough.
        """
        track = draft.crossing.track_id
        views: list[View] = [(lambda f=f: f.image, f.boxes[track]) for f in draft.clip if track in f.boxes]
        if draft.snapshot is not None and draft.snapshot_box is not None:
            views.append((draft.snapshot, draft.snapshot_box))
        read = self._plates.read_track(views)
        if read is None:
            event.plate_status = PlateStatus.UNREADABLE.value
            return
        path = self._evidence_path(draft, "-plate.jpg")
        write_jpeg(self.settings.data_dir / path, read.crop, self.settings.evidence.snapshot_quality)
        event.plate_text, event.plate_confidence = read.text, round(read.confidence, 4)
        event.plate_status = PlateStatus.READ.value
        event.plate_crop_path = path.as_posix()
        event.plate_crop_sha256 = file_sha256(self.settings.data_dir / path)


class EventWriter:
    """Stores drafts on a background thread, in the order they come, and collects the results."""

    _DONE = object()

    def __init__(self, store: EventStore, max_pending: int = 32, times: StageTimes | None = None) -> None:
        self.store = store
        self.times = times if times is not None else StageTimes()  # time spent storing goes to "store"
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
        # Writing evidence yields the CPU to analysis, which must keep up with a live camera.
        lower_priority()
        while (item := self._queue.get()) is not self._DONE:
            if self._error is not None:
                continue  # drain, so submit() never blocks after a failure
            try:
                with self.times.measure("store"):
                    self.results.append(self._save(item))  # type: ignore[arg-type]
            except BaseException as exc:  # surfaced to the analysis thread by submit/close
                log.exception("storing an event failed")
                self._error = exc

    def _save(self, draft: EventDraft) -> StoredEvent:
        """Store ``draft``, waiting out a database that is busy or away for a while.

        A long write elsewhere (a big CSV import holds SQLite's lock for a minute) or a database
        server restarting must not cost an entry that was seen. Saving again is safe: an
        occurrence already stored is recognised.
        """
        for delay in STORE_RETRY_SECONDS:
            try:
                return self.store.save(draft)
            except sa.exc.OperationalError as exc:
                log.warning("%s: storing an event failed (%s); trying again in %.0f s", self.store.camera.id,
                            str(exc.orig).strip() or type(exc.orig).__name__, delay)
                time.sleep(delay)
        return self.store.save(draft)  # the last attempt: its failure is the writer's


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
