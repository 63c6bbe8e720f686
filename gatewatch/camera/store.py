"""The event store's camera side: turns each draft of the analysis into evidence bytes and stores it.

A draft's snapshot is rendered as a JPEG and its clip, the camera's own packets or encoded beside
the analysis (``gatewatch.vision.clips``), muxed into an MP4, with the tracked boxes over it as
JSON beside it (``gatewatch.vision.boxes``); vehicles' plates are read from their widest views
at full resolution. The core
(``gatewatch.camera.recording``) writes the files, the row, its cross-check and audit record.
Storing runs on its own thread (``EventWriter``) so that this never holds up analysis.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from gatewatch.camera.recording import (
    ClipFile,
    EventRecorder,
    Evidence,
    EvidenceFile,
    PlateReading,
    StoredEvent,
)
from gatewatch.models.enums import ClipKind
from gatewatch.settings import PLATED_CLASSES, CameraSettings, Settings
from gatewatch.vision.boxes import boxes_json
from gatewatch.vision.clips import lower_priority
from gatewatch.vision.evidence import clip_mp4, encode_jpeg, snapshot_jpeg
from gatewatch.vision.plate_reader import PlateReader, View
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.runstats import StageTimes

log = logging.getLogger(__name__)

#: Waits before each new attempt to store an event while the database is busy or away (15 min in all).
STORE_RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, *(60.0,) * 14)


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
        self.recorder = EventRecorder(engine, settings, camera.id, source_key)
        self._plates = plates if plates is not None else PlateReader(settings.plates)

    def save(self, draft: EventDraft) -> StoredEvent:
        return self.recorder.record(draft.crossing, self._evidence(draft))

    def _evidence(self, draft: EventDraft) -> Iterator[Evidence]:
        """The draft's evidence, each item encoded when the recorder asks for it: for a new event only."""
        quality = self.settings.evidence.snapshot_quality
        draft.snapshot_image()  # a detect stream's camera: the main stream's frame, decoded here
        if draft.snapshot is not None and draft.snapshot_box is not None:
            snapshot = snapshot_jpeg(draft.snapshot, draft.snapshot_box, draft.caption, quality,
                                     draft.crossing.gate or self.camera.gate)
            yield EvidenceFile("snapshot", snapshot)
        clip = self._clip(draft)
        if clip is not None:
            yield clip
            if draft.timeline is not None:
                yield EvidenceFile("boxes", self._boxes(draft))
        if draft.crossing.label in PLATED_CLASSES and self.settings.plates.enabled:
            yield self._read_plate(draft, quality)

    @staticmethod
    def _clip(draft: EventDraft) -> ClipFile | None:
        """The clip as an MP4: the camera's packets remuxed, or the encoder's (which may have failed: OSError)."""
        if draft.copied is not None:
            start = draft.timeline.start_seconds if draft.timeline is not None else 0.0
            return ClipFile(clip_mp4(draft.copied), ClipKind.COPY, start)
        if draft.encoded is not None:
            return ClipFile(clip_mp4(draft.encoded.result()), ClipKind.ENCODED)
        return None

    def _boxes(self, draft: EventDraft) -> bytes:
        assert draft.timeline is not None
        size = draft.frame_size
        if size is None and draft.snapshot is not None:
            size = (draft.snapshot.shape[1], draft.snapshot.shape[0])
        return boxes_json(draft.timeline, camera_id=self.camera.id, track_id=draft.crossing.track_id,
                          frame_size=size or (0, 0), gate=draft.crossing.gate or self.camera.gate)

    def _read_plate(self, draft: EventDraft, quality: int) -> PlateReading:
        """Read the vehicle's plate from its widest views and the snapshot, at full resolution; the crop as a JPEG.

        Views are decoded pictures; the reader turns into an image only the views it reads, the
        widest ones where the plate is big enough.
        """
        views: list[View] = [(v.frame.bgr, v.box) for v in draft.views]
        if draft.snapshot is not None and draft.snapshot_box is not None:
            views.append((draft.snapshot, draft.snapshot_box))
        read = self._plates.read_track(views)
        if read is None:
            return PlateReading(None)
        return PlateReading(read.text, read.confidence, encode_jpeg(read.crop, quality))


class EventWriter:
    """Stores drafts on a background thread, in the order they come, and collects the results."""

    _DONE = object()

    def __init__(self, store: EventStore, max_pending: int = 32, times: StageTimes | None = None,
                 on_stored: Callable[[StoredEvent], None] | None = None) -> None:
        self.store = store
        self.on_stored = on_stored  # told of each event as it is stored (``camera.mqtt`` publishes it); never raises
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
                if self.on_stored is not None:
                    self.on_stored(self.results[-1])
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
