"""Runs the box's worker process and restarts it when it crashes, with backoff.

By default one process runs every camera (``gatewatch worker --in-process``, ``camera.box``):
one model in memory, one detector for all. With ``per_camera`` each camera gets a process of its
own, so a crash in one (a decoder fault, the model runtime) never stops the others, at the cost
of a model runtime per camera. A worker that ends cleanly (file sources analysed to their end)
is not restarted. A camera whose source is ``external`` gets no worker: another system detects
there and posts its crossings.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from gatewatch.camera.backoff import backoff_delay
from gatewatch.settings import Settings

log = logging.getLogger(__name__)

#: Seconds before restarting a crashed worker, by how many times it crashed in a row.
RESTART_BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0)
#: A worker that ran this long before crashing starts its backoff afresh.
STABLE_SECONDS = 60.0


#: The name of the one worker process that runs every camera.
ALL_CAMERAS = "cameras"


@dataclass
class _Child:
    name: str  # the camera's id, or ALL_CAMERAS
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    crashes: int = 0
    restart_at: float = 0.0
    done: bool = False
    history: list[int] = field(default_factory=list)  # exit codes, for the log and the tests


class Supervisor:
    def __init__(self, settings: Settings, config_path: str, database_url: str | None = None, *,
                 verbose: bool = False, per_camera: bool = False) -> None:
        self.settings = settings
        self.config_path = config_path
        self.database_url = database_url
        self.verbose = verbose  # the workers log their progress too (``gatewatch -v``)
        analysed = [c.id for c in settings.cameras if not c.is_external]
        names = analysed if per_camera else [ALL_CAMERAS] if analysed else []
        self.children = {name: _Child(name) for name in names}
        for camera in settings.cameras:
            if camera.is_external:
                log.info("camera %s: external, receives crossings from another system; no worker", camera.id)

    def _command(self, name: str) -> list[str]:
        which = ["--in-process"] if name == ALL_CAMERAS else ["--camera", name]
        command = [sys.executable, "-m", "gatewatch", *(["-v"] if self.verbose else []), "worker", *which,
                   "--config", self.config_path]
        return command + (["--db", self.database_url] if self.database_url else [])

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(self._command(child.name))
        child.started = time.monotonic()
        log.info("%s: worker started (pid %d)", child.name, child.process.pid)

    def _reap(self, child: _Child, now: float) -> None:
        if child.process is None or (code := child.process.poll()) is None:
            return
        child.history.append(code)
        child.process = None
        if code == 0:
            child.done = True
            log.info("%s: worker finished", child.name)
            return
        child.crashes = 1 if now - child.started > STABLE_SECONDS else child.crashes + 1
        delay = backoff_delay(RESTART_BACKOFF, child.crashes)
        child.restart_at = now + delay
        log.warning("%s: worker exited with %d; restarting in %.0f s", child.name, code, delay)

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Supervise until ``stop`` is set or every worker has finished; then stop them all."""
        try:
            while not stop.is_set():
                now = time.monotonic()
                for child in self.children.values():
                    self._reap(child, now)
                    if child.process is None and not child.done and now >= child.restart_at:
                        self._start(child)
                if all(child.done for child in self.children.values()):
                    return
                stop.wait(poll_seconds)
        finally:
            self._stop_all()

    def _stop_all(self, grace_seconds: float = 30.0) -> None:
        running = [c.process for c in self.children.values() if c.process is not None]
        for process in running:
            process.terminate()  # SIGTERM: the worker finishes the event in progress
        for process in running:
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
