"""Every camera of a box in one process: a thread per camera, one detector shared by them all.

A process per camera loads the model runtime, torch and ultralytics once per camera and runs
inference on threads that compete for the same few cores. Here each camera's ``run_camera``
runs on a thread of its own (with its own decoding, recording and event-writing threads, as in a
process of its own) and every camera's detections go to one model compiled for throughput
(``detector.load_model(shared=True)``): OpenVINO runs their requests side by side, a busy
camera uses the streams a quiet one leaves, and each input size is compiled once for every
camera that uses it.

A camera that fails does not stop the others: its thread is started again after a backoff
(``RESTART_BACKOFF``), the longer the more often it failed in a row. A file that cannot be
opened will not mend by waiting, so that camera is done, as is one whose file was analysed to
its end. The process ends when every camera is done, or at ``stop``; a fault that takes the
whole process down (a decoder crash) is the supervisor's to restart (``camera.supervisor``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from gatewatch.camera.backoff import backoff_delay
from gatewatch.camera.worker import run_camera
from gatewatch.settings import CameraSettings, Settings
from gatewatch.vision.detector import Model, load_model
from gatewatch.vision.redaction import redact_url
from gatewatch.vision.sources import SourceError

log = logging.getLogger(__name__)

#: Seconds before a failed camera's thread starts again, by how many times it failed in a row.
RESTART_BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0)
#: A camera that ran this long before failing starts its backoff afresh.
STABLE_SECONDS = 60.0


@dataclass
class _CameraRun:
    """One camera's thread and what became of its runs."""

    camera: CameraSettings
    thread: threading.Thread | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float = 0.0
    done: bool = False
    error: BaseException | None = None  # what ended the latest run; None: it ended cleanly


def run_box(engine: sa.Engine, settings: Settings, cameras: Iterable[CameraSettings], stop: threading.Event,
            poll_seconds: float = 0.5) -> None:
    """Analyse ``cameras`` (external ones are left out) until ``stop`` is set or every camera is done.

    Raises DetectorError when the shared model cannot be loaded: no camera can then run.
    """
    runs = [_CameraRun(camera) for camera in cameras if not camera.is_external]
    if not runs:
        return
    model = load_model(settings.detector, shared=True)
    log.info("one process for %d cameras: %s", len(runs), ", ".join(run.camera.id for run in runs))
    try:
        while not stop.is_set():
            now = time.monotonic()
            for run in runs:
                _reap(run, now)
                if run.thread is None and not run.done and now >= run.restart_at:
                    _start(run, engine, settings, model, stop)
            if all(run.done for run in runs):
                return
            stop.wait(poll_seconds)
    finally:
        stop.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join()


def _start(run: _CameraRun, engine: sa.Engine, settings: Settings, model: Model, stop: threading.Event) -> None:
    def target() -> None:
        try:
            run_camera(engine, settings, run.camera, stop, model)
        except BaseException as exc:  # noqa: BLE001 - the camera's failure, reaped and logged on the box's thread
            run.error = exc

    run.error = None
    run.started = time.monotonic()
    run.thread = threading.Thread(target=target, name=f"camera-{run.camera.id}", daemon=True)
    run.thread.start()


def _reap(run: _CameraRun, now: float) -> None:
    """Note how ``run``'s thread ended, if it has: done, or due to start again after a backoff."""
    if run.thread is None or run.thread.is_alive():
        return
    run.thread = None
    error, camera_id = run.error, run.camera.id
    if error is None:
        run.done = True
        log.info("%s: finished", camera_id)
        return
    if isinstance(error, SourceError):  # only a file raises it: a live source is reopened inside run_camera
        run.done = True
        log.error("%s: %s; this camera stops, the others go on", camera_id, redact_url(str(error)))
        return
    run.failures = 1 if now - run.started > STABLE_SECONDS else run.failures + 1
    delay = backoff_delay(RESTART_BACKOFF, run.failures)
    run.restart_at = now + delay
    log.error("%s: failed (%s: %s); restarting it in %.0f s, the others go on", camera_id,
              type(error).__name__, redact_url(str(error)), delay, exc_info=error)
