"""Reading a photo of an identity card (KTP) with the PP-OCR models inside rapidocr-onnxruntime.

The same engine as the plate reader (``plate_reader.py``), with the models that come with the
installed wheel: nothing is downloaded. A card is read whole: text detection finds every line,
recognition reads each, and ``ktp_fields.card_fields`` makes fields of them. The photo is scaled
so its longest side is at most ``MAX_SIDE``: the browser sends about that already, and the text
of a card filling the picture is then some 30 px high, which the recogniser (48 px lines) reads
as well as larger text, at a fraction of the detector's cost.

Building the engine loads three ONNX models, which takes longer than reading a card: a reader
serving the web app keeps one ``KtpReader`` (``gatewatch ktp-read --serve``).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gatewatch.vision.ktp_fields import KtpFields, TextBox, card_fields

if TYPE_CHECKING:
    from rapidocr_onnxruntime import RapidOCR

#: The photo's longest side is scaled down to this before reading.
MAX_SIDE = 1280
#: The text detector works on the photo scaled to this longest side (its default scales the short side
#: up to 736 px: 1088 x 736 for a 1280 x 866 photo); the recogniser reads the lines it finds from the
#: photo at ``MAX_SIDE``.
_DET_MAX_SIDE = 960
#: A line is cut out this many pixels high to find its spaces; an inkless run of columns wider than
#: ``_SPACE_GAP`` of that is a space (the detector's box is about 1.5 times the letters' height).
_LINE_PIXELS = 32
_SPACE_GAP = 0.25
#: Pixels larger than this are not decoded (a decompression bomb), whatever the file's size.
MAX_PIXELS = 40_000_000


class UnreadableImage(ValueError):
    """The bytes are not a picture that can be decoded."""


def decode_image(data: bytes) -> np.ndarray:
    """The picture in ``data`` (JPEG, PNG, WebP...) as a BGR image; raises UnreadableImage."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0:
        raise UnreadableImage("the file is empty")
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UnreadableImage("the file is not a picture that can be decoded")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise UnreadableImage("the picture has too many pixels")
    return image


def scaled(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``image`` with its longest side at most ``max_side`` pixels."""
    longest = max(image.shape[:2])
    if longest <= max_side:
        return image
    factor = max_side / longest
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


class KtpReader:
    """Reads cards; builds its OCR engine on first use (``warm_up``) and keeps it. Reads take turns."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._engine: RapidOCR | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the models now, so the first card is read as fast as the others."""
        with self._lock:
            self._ocr()

    def read(self, image: np.ndarray) -> KtpFields:
        """The fields read on the card in ``image`` (BGR)."""
        return card_fields(self.text_boxes(image))

    def text_boxes(self, image: np.ndarray) -> list[TextBox]:
        """Every line of text the OCR reads in ``image``, in the scaled picture's pixels."""
        picture = scaled(image)
        with self._lock:
            result, _ = self._ocr()(picture, use_cls=False, return_word_box=True)
        boxes = []
        for points, text, score, *characters in result or []:
            box = TextBox(str(text), float(score), tuple((float(x), float(y)) for x, y in points))  # type: ignore[arg-type]
            if len(characters) >= 2:
                box = dataclasses.replace(box, text=_spaced(picture, box, *characters[:2]))
            boxes.append(box)
        return boxes

    def _ocr(self) -> RapidOCR:
        # Built once with every option: rapidocr 1.4.4 keeps options given to a call for the
        # calls after it. Called with the lock held.
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR(det_limit_type="max", det_limit_side_len=_DET_MAX_SIDE,
                                    intra_op_num_threads=self.threads, inter_op_num_threads=1)
        return self._engine


def _spaced(picture: np.ndarray, box: TextBox, character_boxes: list, characters: list) -> str:
    """``box.text`` with a space wherever the picture shows one between two of its characters.

    The recogniser was trained mostly on Chinese, which has no spaces: it reads ``SITI RAHAYU``
    as ``SITIRAHAYU``. Its characters' boxes are too coarse to tell a space from the gap between
    two letters, so the line is cut out of the picture, upright and ``_LINE_PIXELS`` high, and its
    inkless column runs wider than ``_SPACE_GAP`` of that height are the spaces; each goes between
    the two characters whose boxes' centres lie either side of it.
    """
    text = box.text
    if not characters or len(character_boxes) != len(characters) or "".join(characters) != text:
        return text
    (lx, ly), (rx, ry) = box.left, box.right
    length = max(1.0, ((rx - lx) ** 2 + (ry - ly) ** 2) ** 0.5)
    along = [(((sum(x for x, _ in b) / len(b)) - lx) * (rx - lx) + ((sum(y for _, y in b) / len(b)) - ly) * (ry - ly))
             / length ** 2 for b in character_boxes]
    spaced = [characters[0]]
    gaps = _space_gaps(picture, box)
    for before, after, character in zip(along, along[1:], characters[1:], strict=False):
        if any(before < gap < after for gap in gaps) and spaced[-1] != " " and character != " ":
            spaced.append(" ")
        spaced.append(character)
    return "".join(spaced)


def _space_gaps(picture: np.ndarray, box: TextBox) -> list[float]:
    """The middles of the spaces in ``box``'s line, as fractions of its length from its left edge."""
    height = _LINE_PIXELS
    width = max(1, round(height * ((box.corners[1][0] - box.corners[0][0]) ** 2
                                   + (box.corners[1][1] - box.corners[0][1]) ** 2) ** 0.5 / max(1.0, box.height)))
    upright = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(np.float32(box.corners), upright)
    line = cv2.cvtColor(cv2.warpPerspective(picture, matrix, (width, height)), cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(line, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    inked = (ink > 0).any(axis=0)
    gaps, start = [], None
    for column, has_ink in enumerate([*inked, True]):
        if not has_ink and start is None:
            start = column
        elif has_ink and start is not None:
            if start > 0 and column < width and column - start >= _SPACE_GAP * height:
                gaps.append((start + column) / 2 / width)
            start = None
    return gaps
