"""The live view: a small JPEG of a camera's latest analysed frame, for the Cameras page to show.

Operators must see what a camera sees and where its gate line lies, but the web app never
decodes video. So the worker publishes the picture: at most once per interval (a second by
default), the frame analysis has just gone through is scaled down to a small JPEG and written to
``<data_dir>/live/<camera id>.jpg``, with a JSON sidecar beside it (``.json``) holding the frame's
time, the picture's size, the boxes of the tracks being followed (fractions of the picture) and
the gate line they are counted against (``GateSettings.placement``). The page draws the line and
the boxes over the picture itself.

Every other frame costs a clock check and nothing more: the cost of the live view must be lost
in the noise of analysis (``scripts/bench_live_view.py`` measures it). The picture is scaled in
YUV (``Frame.i420``) and converted to BGR only at its small size: a full-size BGR conversion of a
1080p frame costs four times as much as the whole publication.

Both files are written under a temporary name beside their own and renamed, so the web app never
reads half a file; the JPEG first, so the sidecar never describes a picture not yet there. A
failure to write (a full disk) is logged once per outage and never reaches analysis.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import cv2

from gatewatch.settings import GateSettings
from gatewatch.vision.evidence import encode_jpeg
from gatewatch.vision.live_files import live_paths, remove_stale_parts, write_replacing
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.sources import Frame, Size

log = logging.getLogger(__name__)

#: JPEG quality of the published picture: small files, good enough to see who is at the gate.
JPEG_QUALITY = 75


def published_size(size: Size, width: int) -> Size:
    """The published picture's size for a frame of ``size``: ``width`` wide at most (never enlarged),
    aspect kept, both sides even (as ``Frame.i420`` needs)."""
    frame_width, frame_height = size
    out_width = max(2, min(width, frame_width) // 2 * 2)
    out_height = max(2, round(frame_height * out_width / frame_width / 2) * 2)
    return out_width, out_height


def sidecar(camera_id: str, frame: Frame, size: Size, objects: Sequence[TrackedObject],
            gate: GateSettings) -> dict[str, Any]:
    """What the page draws over the picture: boxes as fractions of the frame, clamped to it."""
    width, height = frame.size

    def fraction(value: float, whole: int) -> float:
        return round(min(1.0, max(0.0, value / whole)), 4)

    boxes = [{"track_id": obj.track_id, "label": obj.label,
              "box": [fraction(obj.box[0], width), fraction(obj.box[1], height),
                      fraction(obj.box[2], width), fraction(obj.box[3], height)]} for obj in objects]
    return {"camera_id": camera_id, "time": frame.time.astimezone(UTC).isoformat(), "frame_size": list(size),
            "boxes": boxes, "gate": gate.placement()}


class LiveView:
    """Publishes one camera's analysed frames, at most once per ``interval`` seconds of the clock.

    Its ``offer`` is the pipeline's ``on_analysed``: it is called on every analysed frame.
    ``clock``: seconds that only go forward (``time.monotonic``; a test gives the frames' arrival).
    """

    def __init__(self, data_dir: Path, camera_id: str, *, width: int = 640, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.camera_id, self.width, self.interval, self.clock = camera_id, width, interval, clock
        self.picture_path, self.sidecar_path = live_paths(data_dir, camera_id)
        self.published = 0  # pictures published so far
        self._due = float("-inf")  # time.monotonic() from which the next frame is published
        self._failing = False  # the last publication failed: the next failure is not logged again
        try:
            self.picture_path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_parts(self.picture_path.parent, camera_id)
        except OSError as exc:
            self._failed(exc)

    def offer(self, frame: Frame, objects: Sequence[TrackedObject], gate: GateSettings) -> None:
        """Publish ``frame`` if the interval has passed since the last one; otherwise nothing."""
        now = self.clock()
        if now < self._due:
            return
        self._due = now + self.interval
        self.publish(frame, objects, gate)

    def publish(self, frame: Frame, objects: Sequence[TrackedObject], gate: GateSettings) -> bool:
        """Write ``frame``'s picture and sidecar now; False (logged once per outage) when it failed."""
        size = published_size(frame.size, self.width)
        try:
            picture = encode_jpeg(cv2.cvtColor(frame.i420(size), cv2.COLOR_YUV2BGR_I420), JPEG_QUALITY)
            document = json.dumps(sidecar(self.camera_id, frame, size, objects, gate)).encode()
            self.picture_path.parent.mkdir(parents=True, exist_ok=True)
            write_replacing(self.picture_path, picture)
            write_replacing(self.sidecar_path, document)
        except (OSError, ValueError, cv2.error) as exc:
            self._failed(exc)
            return False
        if self._failing:
            log.info("%s: the live view is published again", self.camera_id)
            self._failing = False
        self.published += 1
        return True

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("%s: the live view cannot be published (%s); analysis goes on without it",
                        self.camera_id, exc)
        self._failing = True
