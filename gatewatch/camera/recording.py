"""The event store's core: an event's row, evidence files, audit record and cross-check, stored together.

It takes a crossing and its evidence already encoded, as bytes, so it loads neither OpenCV nor
PyAV (of the vision code, only the pure ``vision.gate``): the camera side (``camera.store``)
renders and encodes a draft's evidence, and crossings other systems post can be stored the same way.
Evidence paths are relative to the data directory, so the store can move with it.

Each stored event gets an ``event.recorded`` audit record holding its fields as stored,
including the SHA-256 of its snapshot, clip and boxes file, so the audit chain vouches for the event row
and its files (``gatewatch.evidence.integrity`` checks both against it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.audit.events import record_event
from gatewatch.crosscheck.passages import passage_of
from gatewatch.crosscheck.service import check_event
from gatewatch.evidence.files import PARTIAL_FILES, SHARED_MODE, write_atomic
from gatewatch.models.db import session_scope
from gatewatch.models.enums import ClipKind, EventStatus, PlateStatus
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from gatewatch.vision.gate import Crossing

log = logging.getLogger(__name__)

EvidenceKind = Literal["snapshot", "clip", "plate_crop", "boxes"]
#: How each kind of evidence file's name ends; its path and hash go to ``<kind>_path`` and ``<kind>_sha256``.
EVIDENCE_SUFFIXES: dict[EvidenceKind, str] = {
    "snapshot": ".jpg", "clip": ".mp4", "plate_crop": "-plate.jpg", "boxes": "-boxes.json",
}


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file, encoded: a snapshot (JPEG), a clip (MP4) or the boxes over the clip (JSON)."""

    kind: Literal["snapshot", "clip", "boxes"]
    data: bytes


@dataclass(frozen=True)
class ClipFile:
    """The event's clip (MP4), how it was made (a ``ClipKind``) and where in it the pre-roll point lies."""

    data: bytes
    kind: ClipKind
    start_seconds: float = 0.0


@dataclass(frozen=True)
class PlateReading:
    """What reading a vehicle's plate gave: its text, confidence and crop (JPEG); no text when unreadable."""

    text: str | None
    confidence: float = 0.0
    crop: bytes = b""


Evidence = EvidenceFile | ClipFile | PlateReading


@dataclass(frozen=True)
class StoredEvent:
    event: EntryEvent
    created: bool  # False when the same occurrence was already stored by an earlier run


class EventRecorder:
    """Stores the events of one camera (``camera_id``) seen in one source (``source_key``)."""

    def __init__(self, engine: sa.Engine, settings: Settings, camera_id: str, source_key: str) -> None:
        self.engine = engine
        self.settings = settings
        self.camera_id = camera_id
        self.source_key = source_key

    def record(self, crossing: Crossing, evidence: Iterable[Evidence] = ()) -> StoredEvent:
        """Store ``crossing`` with ``evidence``, unless the same occurrence is stored already.

        ``evidence`` is gone through only for a new event, item by item as its files are written,
        so a generator may encode each item when it is asked for. An OSError on the way (a full
        disk, evidence that could not be encoded) is recorded on the event and ends its evidence
        there: the event itself is never lost.
        """
        with session_scope(self.engine) as session:
            existing = session.exec(
                select(EntryEvent).where(
                    EntryEvent.camera_id == self.camera_id,
                    EntryEvent.source_key == self.source_key,
                    EntryEvent.track_id == crossing.track_id,
                    EntryEvent.frame_index == crossing.frame_index,
                )
            ).first()
            if existing is not None:
                return StoredEvent(existing, created=False)
            event = EntryEvent(
                camera_id=self.camera_id,
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
                rides_track_id=crossing.rides_track_id,
                gate_line=None if crossing.gate is None else json.dumps(crossing.gate.placement()),
                status=EventStatus.FLAGGED.value,
            )
            self._add_evidence(event, crossing, evidence)
            store_event(session, event, self.settings)
        return StoredEvent(event, created=True)

    def _add_evidence(self, event: EntryEvent, crossing: Crossing, evidence: Iterable[Evidence]) -> None:
        try:
            for item in evidence:
                if isinstance(item, EvidenceFile):
                    self._write(event, crossing, item.kind, item.data)
                elif isinstance(item, ClipFile):
                    self._write(event, crossing, "clip", item.data)
                    event.clip_kind, event.clip_start_seconds = item.kind.value, round(item.start_seconds, 4)
                elif item.text is None:
                    event.plate_status = PlateStatus.UNREADABLE.value
                else:
                    self._write(event, crossing, "plate_crop", item.crop)
                    event.plate_text, event.plate_confidence = item.text, round(item.confidence, 4)
                    event.plate_status = PlateStatus.READ.value
        except OSError as exc:
            log.error("evidence for %s track %s not written: %s", self.camera_id, crossing.track_id, exc)
            event.evidence_error = f"evidence could not be written: {exc}"[:500]

    def _write(self, event: EntryEvent, crossing: Crossing, kind: EvidenceKind, data: bytes) -> None:
        path = self.evidence_path(crossing, EVIDENCE_SUFFIXES[kind])
        write_atomic(self.settings.data_dir / path, data, mode=SHARED_MODE)
        setattr(event, f"{kind}_path", path.as_posix())
        setattr(event, f"{kind}_sha256", hashlib.sha256(data).hexdigest())

    def evidence_path(self, crossing: Crossing, suffix: str) -> Path:
        """Where the event's file of type ``suffix`` goes, relative to the data directory.

        The name is built whole, not with ``with_suffix``: a live source key holds a dot (its
        time's fraction of a second), which ``with_suffix`` would take for the suffix and cut.
        """
        day = crossing.time.strftime("%Y-%m-%d")
        key = self.source_key.replace(":", "-")
        name = f"{key}-f{crossing.frame_index:07d}-t{crossing.track_id}{suffix}"
        return Path("evidence") / self.camera_id / day / name


def store_event(session: Session, event: EntryEvent, settings: Settings, *, actor: str = trail.SYSTEM,
                role: str = trail.SYSTEM) -> None:
    """Add a new ``event`` (its evidence already written) to its passage, cross-check it and audit it.

    Every new event goes through here, a camera's and one another system posted alike; ``actor``
    and ``role`` name who recorded it: the system for a camera, the device for a posted crossing.
    """
    event.passage_id = passage_of(session, event)
    session.add(event)
    check_event(session, event, settings)
    session.flush()
    if event.passage_id is None:  # the first of its passage names it
        event.passage_id = event.id
        session.flush()
    record_event(session, event, actor=actor, role=role)


def remove_stale_partial_files(data_dir: Path, camera_id: str, older_than_seconds: float = 300.0) -> int:
    """Delete temporary evidence files a killed writer left behind; returns how many.

    Only old ones: a writer of this camera in another process may be writing one right now.
    """
    cutoff = time.time() - older_than_seconds
    removed = 0
    for partial in (data_dir / "evidence" / camera_id).glob(PARTIAL_FILES):
        if partial.stat().st_mtime < cutoff:
            partial.unlink(missing_ok=True)
            removed += 1
    return removed
