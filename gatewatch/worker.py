"""A camera worker: keeps one configured camera analysed, reconnecting when its source fails.

The camera's status row (connected, last frame time, frames/s, reconnects) is kept current so
operators see a camera that dropped or fell behind: while analysis is slower than the source
(a live source then drops frames), the status note says so and where the time goes, stage by
stage.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings, Settings
from gatewatch.store import (
    EventStore,
    EventWriter,
    file_source_key,
    live_source_key,
    remove_stale_partial_files,
    sync_camera,
)
from gatewatch.vision.detector import YoloTracker, load_model
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame, SourceError, open_source

log = logging.getLogger(__name__)

#: Seconds to wait before each reconnect attempt; the last is repeated.
BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


class CameraStatus:
    """Writes the camera's status row, at most every ``interval`` seconds while frames flow."""

    def __init__(self, engine: sa.Engine, camera_id: str, interval: float = 2.0) -> None:
        self.engine = engine
        self.camera_id = camera_id
        self.interval = interval
        self._stats = RunStats()
        self._since = self._stats.snapshot()
        self._nominal_fps = 0.0

    def update(self, **fields: object) -> None:
        with session_scope(self.engine) as session:
            row = session.get(Camera, self.camera_id)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)
                session.add(row)

    def follow(self, stats: RunStats, nominal_fps: float) -> None:
        """Report on ``stats``, the counters of the run that starts now, for a source of ``nominal_fps``."""
        self._stats, self._since, self._nominal_fps = stats, stats.snapshot(), nominal_fps

    def on_frame(self, frame: Frame) -> None:
        window = self._stats.since(self._since)
        if window.seconds < self.interval:
            return
        note = None
        if window.behind(self._nominal_fps):
            note = f"behind real time: {window.describe(self._nominal_fps)}"
            log.warning("%s: %s", self.camera_id, note)
        self.update(connected=True, last_frame_at=datetime.now(UTC),
                    frames_per_second=round(window.frames_per_second, 2), status_note=note and note[:500])
        self._since = self._stats.snapshot()

    def disconnected(self, reason: str, *, count_reconnect: bool) -> None:
        with session_scope(self.engine) as session:
            row = session.get(Camera, self.camera_id)
            if row is not None:
                row.connected = False
                row.status_note = reason[:500]
                row.reconnects += int(count_reconnect)
                session.add(row)


def _is_live(spec: str) -> bool:
    return "://" in spec or spec.isdigit()


def run_camera(engine: sa.Engine, settings: Settings, camera: CameraSettings, stop: threading.Event) -> None:
    """Analyse ``camera`` until ``stop`` is set; a stored file as camera source is analysed once.

    A live source that cannot be opened or breaks off is retried with backoff; a file that
    cannot be opened raises SourceError at once, since waiting will not mend it.
    """
    sync_camera(engine, camera)
    if removed := remove_stale_partial_files(settings.data_dir, camera.id):
        log.info("%s: removed %d partial evidence files left by an earlier crash", camera.id, removed)
    status = CameraStatus(engine, camera.id)
    model = None
    failures = 0
    while not stop.is_set():
        try:
            source = open_source(camera.source)
        except SourceError as exc:
            status.disconnected(str(exc), count_reconnect=failures > 0)
            if not _is_live(camera.source):
                raise
            delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
            log.warning("%s: %s; retrying in %.0f s", camera.id, exc, delay)
            failures += 1
            stop.wait(delay)
            continue
        failures = 0
        model = model or load_model(settings.detector)
        key = live_source_key(datetime.now(UTC)) if source.is_live else file_source_key(camera.source)
        stats = RunStats()
        writer = EventWriter(EventStore(engine, settings, camera, key), times=stats.stages)
        pipeline = GatePipeline(camera, YoloTracker(settings.detector, camera.classes, model=model), settings.evidence,
                                settings.analysis)
        status.follow(stats, source.fps)
        try:
            pipeline.run(source, writer.submit, stop=stop, on_frame=status.on_frame, stats=stats)
            log.info("%s: %s", camera.id, stats.describe(source.fps))
        except SourceError as exc:
            log.warning("%s: %s; reconnecting", camera.id, exc)
            status.disconnected(str(exc), count_reconnect=True)
        finally:
            source.close()
            writer.close()
        if not source.is_live:
            break
    status.update(connected=False)
