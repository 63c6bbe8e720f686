"""Reading a vehicle's number plate with the PP-OCR models that ship inside rapidocr-onnxruntime.

The models come with the installed wheel: nothing is downloaded at run time. A plate is read in
two steps: text detection finds the plate's main line of characters, then recognition reads a
strip around that line, widened sideways. Recognising the detector's own tight boxes loses the
outer characters too often (93% exact reads on rendered plates, against 96% with the widened
strip, in the feasibility study).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gatewatch.plates import parse_plate_with_cost
from gatewatch.settings import PlateSettings

if TYPE_CHECKING:
    from rapidocr_onnxruntime import RapidOCR

Box = tuple[float, float, float, float]
#: A frame (BGR) of a vehicle, or a function that makes it, and the vehicle's box in it.
View = tuple[np.ndarray | Callable[[], np.ndarray], Box]

#: The plate is in the lower half of a vehicle's box: on the bumper of a car, bus or truck, under
#: the lamp of a motorcycle (the rider makes that box tall).
_LOWER_PART = 0.5
#: Text boxes at least this fraction of the tallest one's height belong to the plate's main line;
#: the expiry row under it is smaller.
_LINE_HEIGHT = 0.6
#: The recognised strip reaches this many line heights left and right of the detected line and
#: this much above and below it.
_WIDEN_X, _WIDEN_Y = 1.2, 0.15
#: Text lines of one image that are recognised, tallest first; a vehicle shows more than its plate.
_LINES_TRIED = 2
#: The detector scales an image so its short side is at least this; its default (736 px) makes
#: a plate crop ten times slower without reading better.
_DET_MIN_SIDE = 64
#: Views are scaled down so the estimated plate is at most this high: detection costs grow with
#: the pixels and the recogniser reads a 48 px high line anyway.
_MAX_PLATE_HEIGHT = 40
#: Acceptance: a read needs at least this many characters and at most this many confusion swaps.
_MIN_CHARS = 3
_MAX_SWAPS = 1


@dataclass(frozen=True)
class PlateRead:
    text: str  # display form, "BG 1234 AB"
    confidence: float  # the recogniser's score, 0..1
    crop: np.ndarray  # BGR image of the strip that was read


class PlateReader:
    """Reads plates of vehicle tracks; builds its OCR engine on first use and keeps it.

    One reader may serve several threads (a worker's closing session beside the next one): reads
    take turns, since the engine keeps state from one call to the next.
    """

    def __init__(self, settings: PlateSettings) -> None:
        self.settings = settings
        self._engine: RapidOCR | None = None
        self._lock = threading.Lock()

    def read_track(self, views: Sequence[View]) -> PlateRead | None:
        """The most confident accepted read among the largest views of one vehicle track.

        ``views`` are (full BGR frame, vehicle box x1, y1, x2, y2 in that frame's pixels); the
        frame may be a function that makes it, called only for a view that is read. Up to
        ``crops_per_track`` of the widest boxes whose plate would be at least ``min_plate_height``
        high are read; the others cost nothing.
        """
        readable = [view for view in views if self._plate_height(view[1]) >= self.settings.min_plate_height]
        readable.sort(key=lambda view: view[1][2] - view[1][0], reverse=True)
        reads = [self._read_vehicle(frame() if callable(frame) else frame, box)
                 for frame, box in readable[:self.settings.crops_per_track]]
        return _most_confident(reads)

    def read_crop(self, image: np.ndarray) -> PlateRead | None:
        """The accepted read of the plate in ``image`` (BGR), or None."""
        with self._lock:
            engine = self._ocr()
            boxes, _ = engine(image, use_cls=False, use_rec=False)
            reads = []
            for line in _text_lines(np.asarray(boxes or [], dtype=np.float32))[:_LINES_TRIED]:
                strip = _widened(image, line)
                result, _ = engine(strip, use_det=False, use_cls=False)
                if result:
                    text, score = result[0]
                    reads.append(self._accept(text, float(score), strip))
        return _most_confident(reads)

    def _plate_height(self, box: Box) -> float:
        return self.settings.plate_height_ratio * (box[2] - box[0])

    def _read_vehicle(self, frame: np.ndarray, box: Box) -> PlateRead | None:
        x1, y1, x2, y2 = box
        top = y1 + _LOWER_PART * (y2 - y1)
        crop = frame[max(0, int(top)):max(0, int(y2)), max(0, int(x1)):max(0, int(x2))]
        if crop.size == 0:
            return None
        scale = _MAX_PLATE_HEIGHT / self._plate_height(box)
        if scale < 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return self.read_crop(crop)

    def _accept(self, text: str, score: float, strip: np.ndarray) -> PlateRead | None:
        parsed = parse_plate_with_cost(text)
        if score < self.settings.min_confidence or parsed is None:
            return None
        plate, swaps = parsed
        if swaps > _MAX_SWAPS or len(plate.region + plate.number + plate.suffix) < _MIN_CHARS:
            return None
        return PlateRead(str(plate), score, strip.copy())

    def _ocr(self) -> RapidOCR:
        # Built once with every option: rapidocr 1.4.4 keeps options given to a call for the
        # calls after it, so no call passes any. Called with the lock held.
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR(
                det_limit_type="min",
                det_limit_side_len=_DET_MIN_SIDE,
                intra_op_num_threads=self.settings.threads,
                inter_op_num_threads=1,
            )
        return self._engine


def _text_lines(boxes: np.ndarray) -> list[Box]:
    """Rows of text as (x1, y1, x2, y2), tallest first, from the detector's quadrilaterals.

    A row is a tall box with the boxes at least ``_LINE_HEIGHT`` as high whose vertical centre
    lies within it: the characters of one plate line, split where their gaps are wide.
    """
    if len(boxes) == 0:
        return []
    tops, bottoms = boxes[:, :, 1].min(axis=1), boxes[:, :, 1].max(axis=1)
    lefts, rights = boxes[:, :, 0].min(axis=1), boxes[:, :, 0].max(axis=1)
    heights, centres = bottoms - tops, (tops + bottoms) / 2
    unused = np.ones(len(boxes), dtype=bool)
    lines = []
    for tallest in np.argsort(-heights):
        if not unused[tallest]:
            continue
        row = unused & (heights >= _LINE_HEIGHT * heights[tallest]) \
            & (centres >= tops[tallest]) & (centres <= bottoms[tallest])
        unused &= ~row
        lines.append((float(lefts[row].min()), float(tops[row].min()),
                      float(rights[row].max()), float(bottoms[row].max())))
    return lines


def _widened(image: np.ndarray, line: Box) -> np.ndarray:
    """The part of ``image`` around a text line, wider than the line so no edge character is cut."""
    x1, y1, x2, y2 = line
    height = y2 - y1
    top, bottom = max(0, int(y1 - _WIDEN_Y * height)), int(y2 + _WIDEN_Y * height) + 1
    left, right = max(0, int(x1 - _WIDEN_X * height)), int(x2 + _WIDEN_X * height) + 1
    return image[top:bottom, left:right]


def _most_confident(reads: Sequence[PlateRead | None]) -> PlateRead | None:
    return max((read for read in reads if read is not None), key=lambda read: read.confidence, default=None)
