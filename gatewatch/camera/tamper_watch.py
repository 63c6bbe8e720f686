"""Watching a running camera for tampering, and telling everyone when it is covered, blurred or moved.

``vision.tamper`` judges the pictures; this module keeps the camera's reference picture under
the data directory, so it survives restarts (``data_dir/tamper/<camera id>.png``, a plain grey
PNG an administrator can look at; deleting it makes the camera learn its scene again, within
seconds and without a restart, as after re-aiming it on purpose), and writes each episode:
the camera row's ``tampered`` and ``tamper_note`` for the Cameras page, and, in the same
transaction, an audit record ``camera.tampered`` (then ``camera.tamper_cleared``) that the
alert feed sends on like any alert. An episode open when the worker stopped stays open: the
worker starting again reads it from the row, so it is neither raised twice nor forgotten.

It runs on the analysis thread, after each analysed frame; most frames only have their time
looked at, and a check costs about a millisecond of CPU (``vision.tamper``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import sqlalchemy as sa

from gatewatch.audit import trail
from gatewatch.evidence.files import write_atomic
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings, Settings
from gatewatch.vision.sources import Frame
from gatewatch.vision.tamper import GREY_SIZE, Change, TamperDetector

log = logging.getLogger(__name__)

#: Folder under the data directory holding each camera's reference picture.
REFERENCE_DIR = "tamper"
#: The actor and role of the audit records, as for the worker's other camera records.
ACTOR = "worker"


def reference_path(data_dir: Path, camera_id: str) -> Path:
    """Where ``camera_id``'s reference picture is kept."""
    return data_dir / REFERENCE_DIR / f"{camera_id}.png"


def _load(path: Path) -> np.ndarray | None:
    """The reference picture kept at ``path``; None when there is none or it is not one."""
    if not path.is_file():
        return None
    picture = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if picture is None or picture.shape[::-1] != GREY_SIZE:
        log.warning("%s is not a reference picture of %dx%d; learning a new one", path, *GREY_SIZE)
        return None
    return picture


def _is_tampered(engine: sa.Engine, camera_id: str) -> bool:
    with session_scope(engine) as session:
        row = session.get(Camera, camera_id)
        return bool(row is not None and row.tampered)


class TamperWatch:
    """One camera's tamper checks, for as long as its worker runs (across reconnects)."""

    def __init__(self, engine: sa.Engine, settings: Settings, camera: CameraSettings) -> None:
        self.engine = engine
        self.camera_id = camera.id
        self.enabled = settings.tamper.enabled
        self.path = reference_path(settings.data_dir, camera.id)
        self.detector = TamperDetector(settings.tamper, camera.gate, _load(self.path) if self.enabled else None,
                                       tampered=self.enabled and _is_tampered(engine, camera.id))
        self._saved = not self.detector.learning

    def wrap(self, on_frame: Callable[[Frame], None]) -> Callable[[Frame], None]:
        """``on_frame`` followed by this watch's look at the frame; ``on_frame`` itself when disabled."""
        if not self.enabled:
            return on_frame

        def both(frame: Frame) -> None:
            on_frame(frame)
            self.on_frame(frame)

        return both

    def on_frame(self, frame: Frame) -> None:
        moment = frame.time.timestamp()
        if not self.detector.wants(moment):
            return
        if self._saved and not self.path.exists():  # one stat a check
            log.info("%s: its reference picture %s was deleted; learning the scene again", self.camera_id, self.path)
            self.detector.relearn()
            self._saved = False
        change = self.detector.look(moment, frame.grey(GREY_SIZE))
        if not self._saved and not self.detector.learning:
            self._save()
        if change is not None:
            self._write(change)

    def _save(self) -> None:
        assert self.detector.reference is not None
        ok, png = cv2.imencode(".png", self.detector.reference.picture)
        if ok:
            write_atomic(self.path, png.tobytes(), mode=0o644)
            log.info("%s: learned its reference picture of the scene, kept as %s", self.camera_id, self.path)
        self._saved = True

    def _write(self, change: Change) -> None:
        action = "camera.tampered" if change.tampered else "camera.tamper_cleared"
        (log.warning if change.tampered else log.info)("%s: %s: %s", self.camera_id, action, change.note)
        after = {"note": change.note, "checks": change.checks.figures(), "seconds": change.seconds}
        with session_scope(self.engine) as session:
            row = session.get(Camera, self.camera_id)
            if row is not None:
                row.tampered, row.tamper_note = change.tampered, change.note[:500] if change.tampered else None
                session.add(row)
            trail.record(session, actor=ACTOR, role=trail.SYSTEM, action=action, entity="camera",
                         entity_id=self.camera_id, after=after)
