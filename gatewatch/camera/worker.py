"""A camera worker: keeps one configured camera analysed, reconnecting when its source fails.

The camera's status row (connected, last frame time, frames/s, reconnects) is kept current so
operators see a camera that dropped or fell behind: while analysis is slower than the source
(a live source then drops frames), the status note says so and where the time goes, stage by
stage. Every role reads the note, so it is redacted as it is written, as are the audited reasons
and the log lines: a failure quoting the source URL must not show the camera's password.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa

from gatewatch.audit import trail
from gatewatch.camera.analysis import make_pipeline
from gatewatch.camera.backoff import backoff_delay
from gatewatch.camera.footage import file_source_key, live_source_key, sync_camera
from gatewatch.camera.gate_lines import LineWatch, camera_in_force
from gatewatch.camera.mqtt import shared_publisher
from gatewatch.camera.recording import StoredEvent, remove_stale_partial_files
from gatewatch.camera.segments import RecordingQuota, SegmentLog, remove_stale_partial_segments, segment_path
from gatewatch.camera.store import EventStore, EventWriter
from gatewatch.camera.tamper_watch import TamperWatch
from gatewatch.camera.worker_figures import WorkerFigures
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings, Settings
from gatewatch.vision.detector import Model, load_model
from gatewatch.vision.live_view import LiveView
from gatewatch.vision.paired import PairedSource, pair
from gatewatch.vision.pipeline import analysed_size
from gatewatch.vision.plate_reader import PlateReader
from gatewatch.vision.redaction import redact_url
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.segments import SegmentRecorder
from gatewatch.vision.sources import Frame, FrameSource, SourceError, open_source

log = logging.getLogger(__name__)

#: Seconds to wait before each reconnect attempt; the last is repeated.
BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
#: The actor the worker's audit records name; its role is ``trail.SYSTEM``, as for the events it stores.
WORKER_ACTOR = "worker"


class CameraStatus:
    """Writes the camera's status row, at most every ``interval`` seconds while frames flow.

    For a live camera, each outage (from its first failure to the next frame) also goes into the
    audit trail, which keeps it after the row has moved on: ``camera.disconnected`` with the
    reason, then ``camera.reconnected`` with how long frames were missing and how many opens it
    took.

    Each window also writes the camera's load (work seconds per second, from which the cameras
    page works out its share of the box) and whether overload degraded it, saying how in the
    note. A camera that stops or disconnects has no load and is not degraded: its row is cleared.
    """

    #: Given the row after each write (``camera.mqtt`` publishes it, retained); None: nobody listens.
    on_written: Callable[[Camera], None] | None = None

    def __init__(self, engine: sa.Engine, camera_id: str, interval: float = 2.0, *, live: bool = False) -> None:
        self.engine = engine
        self.camera_id = camera_id
        self.interval = interval
        self.live = live
        self._stats = RunStats()
        self._since = self._stats.snapshot()
        self._nominal_fps = 0.0
        self._attempts = 1
        self._outage_since: float | None = None  # time.monotonic() of the outage's first failure
        self._figures = WorkerFigures()  # lag, dropped frames and detector runs, for /metrics

    def update(self, **fields: object) -> None:
        self._write(fields)

    def _write(self, fields: dict[str, object], *, reconnects: int = 0,
               audited: tuple[str, dict[str, object]] | None = None) -> None:
        """Set ``fields`` on the row and add ``reconnects`` to its count.

        ``audited`` (action, after) is written to the audit trail in the same transaction.
        """
        if "status_note" in fields:
            fields = {**fields, "status_note": _note(fields["status_note"])}
        if fields.get("connected") is False:
            fields = {"analysis_load": None, "degraded": False, "lag_seconds": None, **fields}
        with session_scope(self.engine) as session:
            row = session.get(Camera, self.camera_id)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.reconnects += reconnects
                session.add(row)
            if audited is not None:
                action, after = audited
                trail.record(session, actor=WORKER_ACTOR, role=trail.SYSTEM, action=action, entity="camera",
                             entity_id=self.camera_id, after=after)
        if row is not None and self.on_written is not None:
            self.on_written(row)

    def follow(self, stats: RunStats, nominal_fps: float, *, attempts: int = 1) -> None:
        """Report on ``stats``, the counters of the run that starts now, for a source of ``nominal_fps``.

        ``attempts``: the opens this source took, the failed ones included.
        """
        self._figures.session_ended(self._stats)
        self._stats, self._since, self._nominal_fps = stats, stats.snapshot(), nominal_fps
        self._attempts = attempts

    def on_frame(self, frame: Frame) -> None:
        if self._outage_since is not None:
            self._reconnected(time.monotonic() - self._outage_since)
            return
        self._figures.frame(frame)
        if self._stats.seconds - self._since.seconds < self.interval:
            return  # checked on every frame: only a whole window is worth building
        window = self._stats.since(self._since)
        notes = []
        if window.behind(self._nominal_fps):
            notes.append(f"behind real time: {window.describe(self._nominal_fps)}")
            log.warning("%s: %s", self.camera_id, notes[-1])
        degraded = window.is_degraded
        if degraded:  # the log line above has it in figures; the page also says it in words
            notes.append(_overload_note(window))
        self.update(connected=True, last_frame_at=datetime.now(UTC),
                    frames_per_second=round(window.frames_per_second, 2), analysis_load=round(window.load, 3),
                    degraded=degraded, status_note=" | ".join(notes) or None, **self._figures.fields(self._stats))
        self._since = self._stats.snapshot()

    def disconnected(self, reason: str, *, count_reconnect: bool) -> None:
        """The source broke off or could not be opened; for a live camera this may start an outage."""
        reason = redact_url(reason)
        starts_outage = self.live and self._outage_since is None
        if starts_outage:
            self._outage_since = time.monotonic()
        self._write({"connected": False, "status_note": reason}, reconnects=int(count_reconnect),
                    audited=("camera.disconnected", {"reason": reason}) if starts_outage else None)

    def _reconnected(self, outage_seconds: float) -> None:
        log.info("%s: reconnected, frames again after %.1f s and %d attempts", self.camera_id, outage_seconds,
                 self._attempts)
        self._write({"connected": True, "last_frame_at": datetime.now(UTC), "status_note": None},
                    audited=("camera.reconnected",
                             {"outage_seconds": round(outage_seconds, 2), "attempts": self._attempts}))
        self._outage_since = None


def _note(text: object) -> str | None:
    """A status note as stored: credentials masked, then cut to the column's 500 characters."""
    return None if text is None else redact_url(str(text))[:500]


def _overload_note(window: RunStats) -> str:
    """How overload degraded a status window, in plain words, for the note on the cameras page."""
    how = []
    if window.degraded:
        how.append(f"detection thinned far from the line on {window.degraded} of {window.frames} frames")
    if window.dropped:
        how.append(f"{window.dropped} frames dropped ({window.dropped_near_line} near the line)")
    return f"degraded by overload: {', '.join(how)}"


def _is_live(spec: str) -> bool:
    return "://" in spec or spec.isdigit()


def _back_off(camera_id: str, failures: int, reason: str, stop: threading.Event) -> None:
    """Wait before opening again, the longer the more opens in a row brought no frame."""
    delay = backoff_delay(BACKOFF_SECONDS, failures)
    log.warning("%s: %s; retrying in %.0f s", camera_id, redact_url(reason), delay)
    stop.wait(delay)


def _recorder(settings: Settings, camera: CameraSettings, source: FrameSource,
              segments: SegmentLog | None) -> SegmentRecorder | None:
    """A recorder of ``source``'s packets into segments, listening to it, for a camera with ``record: true``."""
    if segments is None:
        return None
    if source.stream is None:
        log.warning("%s: %s has no packets to record; record: true needs a stream or a file", camera.id,
                    source.description)
        return None
    recorder = SegmentRecorder(source.stream, partial(segment_path, settings.data_dir, camera.id),
                               settings.recording.segment_seconds, segments.segment, segments.gap,
                               start=getattr(source, "start", None), name=f"segments-{camera.id}")
    source.listen(recorder)
    return recorder


def _open(settings: Settings, camera: CameraSettings) -> FrameSource:
    """The camera's source; with ``detect_source``, both streams, the smaller one analysed (``vision.paired``).

    Either stream failing to open fails the pair, its error saying which ("main stream: ..." or
    "detect stream: ..."): the worker then opens both again, as one.
    """
    def opened(spec: str) -> FrameSource:
        return open_source(spec, stall_seconds=camera.stall_seconds, decode_threads=settings.analysis.decode_threads)

    if not camera.detect_source:
        return opened(camera.source)
    try:
        main = opened(camera.source)
    except SourceError as exc:
        raise SourceError(f"main stream: {exc}") from None
    try:
        detect = opened(camera.detect_source)
    except SourceError as exc:
        main.close()
        raise SourceError(f"detect stream: {exc}") from None
    return pair(main, detect, settings.evidence.clip_mode)


def stream_sizes(source: FrameSource) -> dict[str, int | None]:
    """The camera row's picture sizes for ``source``: its main stream's and, when paired, the detect stream's."""
    if isinstance(source, PairedSource):
        (width, height), detect = source.main_size, source.detect_size
    else:
        (width, height), detect = analysed_size(source) or (None, None), (None, None)
    return {"frame_width": width or None, "frame_height": height or None,
            "detect_width": detect[0] or None, "detect_height": detect[1] or None}


def run_camera(engine: sa.Engine, settings: Settings, camera: CameraSettings, stop: threading.Event,
               model: Model | None = None) -> None:
    """Analyse ``camera`` until ``stop`` is set; a stored file as camera source is analysed once.

    A live source that cannot be opened, breaks off or stalls is opened again at once, then with
    backoff while opens bring no frame; a file that cannot be opened raises SourceError at once,
    since waiting will not mend it. The events a session left are stored on a thread of their
    own while the next session runs: writing their evidence must not keep the camera unwatched.
    An external camera (another system posts its crossings) has nothing to analyse: only its row
    is written. A camera with ``record: true`` also keeps its stream in segments
    (``gatewatch.camera.segments``); the time a live stream is down is recorded as a gap.
    A camera with ``detect_source`` is analysed on that stream while its evidence and recording
    come from ``source`` (``vision.paired``); the row keeps both streams' sizes. ``model``: the
    detector shared with the box's other cameras (``gatewatch.camera.box``); None loads one.
    """
    sync_camera(engine, camera)
    camera = camera_in_force(engine, camera)  # the line saved on the page wins over the configuration's
    if camera.is_external:
        log.info("%s: external, receives crossings from another system; nothing to analyse", camera.id)
        return
    if removed := remove_stale_partial_files(settings.data_dir, camera.id):
        log.info("%s: removed %d partial evidence files left by an earlier crash", camera.id, removed)
    if camera.record and (removed := remove_stale_partial_segments(settings.data_dir, camera.id)):
        log.info("%s: removed %d partial segment files left by an earlier crash", camera.id, removed)
    segments = SegmentLog(engine, settings.data_dir, camera.id, actor=WORKER_ACTOR,
                          on_stored=RecordingQuota(engine, settings, actor=WORKER_ACTOR).check) if camera.record else None
    try:
        _run_sessions(engine, settings, camera, stop, segments, model)
    finally:
        if segments is not None:
            segments.close()


def _warm_up(settings: Settings, camera: CameraSettings, model: Model | None) -> Model | None:
    """Compile the model for ``camera``'s frames before its stream plays (``GatePipeline.warm_up``);
    the model, loaded here if it was not given.

    The source is opened once to learn its size, then closed: a stream played while the model
    compiles, for seconds, would queue frames that analysis then has to drop. A source that
    does not open is left to the session loop, which reports and retries it (the model is then
    loaded at its first open, as without a warm-up).
    """
    try:
        source = _open(settings, camera)
    except SourceError:
        return model
    try:
        model = model or load_model(settings.detector)
        make_pipeline(settings, camera, model).warm_up(source)
    finally:
        source.close()
    return model


def _run_sessions(engine: sa.Engine, settings: Settings, camera: CameraSettings, stop: threading.Event,
                  segments: SegmentLog | None, model: Model | None) -> None:
    """``run_camera``'s loop: one session per open of the source."""
    status = CameraStatus(engine, camera.id, live=_is_live(camera.source))
    tamper = TamperWatch(engine, settings, camera)  # covered, blurred or moved: camera.tampered
    plates = PlateReader(settings.plates)  # its OCR engine is built at the first vehicle, then kept
    publisher = shared_publisher(settings)  # events and status to MQTT (``camera.mqtt``); None: no mqtt section
    if publisher is not None:
        status.on_written = publisher.status
    lines = LineWatch(engine, camera)  # a line saved on the page is counted against within seconds
    live = settings.live_view
    on_analysed = LiveView(settings.data_dir, camera.id, width=live.width,  # the Cameras page's picture
                           interval=live.interval_seconds).offer if live.enabled else None
    failures = 0  # opens in a row that brought no frame
    closing: Future[list[StoredEvent]] | None = None  # the last session's writer, storing what it holds
    if status.live:
        model = _warm_up(settings, camera, model)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"close-writer-{camera.id}") as closer:
        while not stop.is_set():
            try:
                source = _open(settings, camera)
            except SourceError as exc:
                status.disconnected(str(exc), count_reconnect=failures > 0)
                if segments is not None:
                    segments.stream_down(redact_url(str(exc)))
                if not status.live:
                    raise
                failures += 1
                _back_off(camera.id, failures, str(exc), stop)
                continue
            model = model or load_model(settings.detector)
            key = live_source_key(datetime.now(UTC)) if source.is_live else file_source_key(camera.source)
            stats = RunStats()
            writer = EventWriter(EventStore(engine, settings, camera, key, plates), times=stats.stages,
                                 on_stored=publisher.event if publisher is not None else None)
            pipeline = make_pipeline(settings, camera, model, lines)
            status.follow(stats, source.fps, attempts=failures + 1)
            status.update(**stream_sizes(source))
            recorder = _recorder(settings, camera, source, segments)
            try:
                pipeline.run(source, writer.submit, stop=stop, on_frame=tamper.wrap(status.on_frame),
                             on_analysed=on_analysed, stats=stats)
                log.info("%s: %s", camera.id, stats.describe(source.fps))
            except SourceError as exc:
                log.warning("%s: %s; reconnecting", camera.id, redact_url(str(exc)))
                status.disconnected(str(exc), count_reconnect=True)
                if segments is not None:
                    segments.stream_down(redact_url(str(exc)))
            finally:
                if recorder is not None:
                    recorder.close()  # the last segment closes where the stream ended
                source.close()
                if closing is not None:
                    closing.result()  # a storing failure ends the worker, as it always has
                closing = closer.submit(writer.close)
            if not source.is_live:
                break
            failures = 0 if stats.frames else failures + 1
            if failures and not stop.is_set():
                _back_off(camera.id, failures, "the stream brought no frame", stop)
        if closing is not None:
            closing.result()
    status.update(connected=False)
