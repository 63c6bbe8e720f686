"""Motion gating: no detection while nothing in the gate window has changed.

Judged on a small grey picture of the window (the decoder's luma plane, scaled down), against
the last frame the detector looked at and found nothing in: a change that the detector has
already seen to be no object (a shadow, a swaying branch) stops counting once it stops moving.
"""

from __future__ import annotations

import cv2
import numpy as np

from gatewatch.vision.region import Window
from gatewatch.vision.sources import Frame

#: Grey levels a pixel must change by to count as moved: above sensor noise and compression.
PIXEL_DELTA = 25
#: Width in pixels of the grey picture of the window motion is judged on.
GREY_WIDTH = 160


class MotionGate:
    """Tells whether enough of the window changed since the last empty analysed frame."""

    def __init__(self, window: Window, frame_size: tuple[int, int], threshold: float) -> None:
        scale = min(1.0, GREY_WIDTH / window.width)
        self._size = (max(1, round(frame_size[0] * scale)), max(1, round(frame_size[1] * scale)))
        self._rows = slice(round(window.y * scale), max(1, round((window.y + window.height) * scale)))
        self._cols = slice(round(window.x * scale), max(1, round((window.x + window.width) * scale)))
        self.threshold = threshold
        self._empty: np.ndarray | None = None

    def _grey(self, frame: Frame) -> np.ndarray:
        return frame.grey(self._size)[self._rows, self._cols]

    def moved(self, frame: Frame) -> bool:
        """Whether the window changed since the frame given to ``nothing_in``; True before any."""
        if self._empty is None:
            return True
        changed = cv2.absdiff(self._grey(frame), self._empty) > PIXEL_DELTA
        return np.count_nonzero(changed) >= self.threshold * changed.size

    def nothing_in(self, frame: Frame) -> None:
        """The detector found nothing in ``frame``: it becomes what later frames are compared with."""
        self._empty = self._grey(frame)
