"""Which part of the frame the detector looks at, and at what resolution.

The reference window is the whole frame at full resolution, letterboxed to the detector's
square image size, as ``YOLO.predict`` does it. The gate window is the strip around the gate
line where crossings happen: the line's bounding box grown by ``region_margin`` on every side
and by ``object_height`` more upwards, so a person or a car standing on the line is whole in it.
It is analysed at ``scale`` times the reference resolution, its model input rounded up to the
network's stride; the window then grows (within the frame) to fill that input, so nothing is
stretched or padded needlessly. Its frame is scaled down as YUV before it is converted to BGR,
which costs a fraction of converting the full frame.

With ``min_object_pixels`` the resolution follows from the smallest object instead: such an
object must be ``DETECTABLE_PIXELS`` high in the model's input. Both windows, the gate strip and
the reference's whole frame, then use that resolution, so the two modes differ only in where and
when they detect. A window larger than ``detector.image_size`` at it is cut into overlapping
tiles of at most that size (``tiles``); they overlap by ``object_height`` of the picture, so an
object up to that tall is whole in at least one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gatewatch.settings import AnalysisSettings, GateSettings

#: The network's input must be a multiple of its largest stride.
STRIDE = 32
#: Box height, in model input pixels, from which the shared YOLO11n INT8 finds motorbikes and
#: people reliably. On street-motorcycles.mp4 the tenth percentile of detected motorbike heights
#: was 32 to 39 model pixels at inputs of 640, 960 and 1280 px, the smallest 18 to 23.
DETECTABLE_PIXELS = 32


@dataclass(frozen=True, slots=True)
class Window:
    x: int
    y: int
    width: int
    height: int
    input_size: tuple[int, int]  # model input, width x height
    scale: float | None = None  # model pixels per frame pixel when the frame is scaled before cropping

    def is_whole(self, frame_width: int, frame_height: int) -> bool:
        """Whether this window is the whole frame."""
        return (self.x, self.y, self.width, self.height) == (0, 0, frame_width, frame_height)


def reference_window(width: int, height: int, image_size: int, analysis: AnalysisSettings) -> Window:
    """The whole frame: letterboxed to ``image_size`` as YOLO.predict does, or at the resolution
    ``min_object_pixels`` asks for."""
    if analysis.min_object_pixels is None:
        return Window(0, 0, width, height, (image_size, image_size))
    scale = _fitted(_resolution(analysis, image_size, width, height), width, height, analysis, image_size)
    input_w, input_h = _input(width, scale), _input(height, scale)
    return Window(0, 0, width, height, (input_w, input_h), scale)


def _resolution(analysis: AnalysisSettings, image_size: int, width: int, height: int) -> float:
    """Model pixels per frame pixel."""
    if analysis.min_object_pixels is not None:
        return DETECTABLE_PIXELS / analysis.min_object_pixels
    return analysis.scale * image_size / max(width, height)


def _fitted(scale: float, width: float, height: float, analysis: AnalysisSettings,
            image_size: int) -> float:
    """``scale``, lowered until a window of ``width`` x ``height`` fits the model's input when tiling is off."""
    if analysis.tiling == "off":
        return min(scale, image_size / max(width, height))
    return scale


def _input(length: float, scale: float) -> int:
    return max(STRIDE, math.ceil(length * scale / STRIDE) * STRIDE)


def _span(low: float, high: float, wanted: float, limit: int) -> tuple[int, int]:
    """[start, start + size) of at least ``wanted`` pixels centred on [low, high], inside 0..limit."""
    size = min(limit, math.ceil(max(wanted, high - low)))
    start = round((low + high - size) / 2)
    start = min(max(start, 0), limit - size)
    return start, size


def gate_window(gate: GateSettings, width: int, height: int, analysis: AnalysisSettings, image_size: int) -> Window:
    """The strip around the gate line, at ``analysis.scale`` of the reference resolution (or as
    ``min_object_pixels`` asks)."""
    (ax, ay), (bx, by) = gate.line
    margin = analysis.region_margin * height
    left = max(0.0, min(ax, bx) * width - margin)
    right = min(float(width), max(ax, bx) * width + margin)
    top = max(0.0, min(ay, by) * height - margin - analysis.object_height * height)
    bottom = min(float(height), max(ay, by) * height + margin)
    scale = _fitted(_resolution(analysis, image_size, width, height), right - left, bottom - top,
                    analysis, image_size)
    input_w, input_h = _input(right - left, scale), _input(bottom - top, scale)
    x, w = _span(left, right, input_w / scale, width)
    y, h = _span(top, bottom, input_h / scale, height)
    return Window(x, y, w, h, (input_w, input_h), scale)


def tiles(window: Window, image_size: int, overlap: float) -> list[Window]:
    """``window`` cut into tiles whose input is at most ``image_size``, ``overlap`` frame pixels deep.

    A window that fits is its own only tile; so is one detected letterboxed (no ``scale``).
    """
    if window.scale is None or max(window.input_size) <= image_size:
        return [window]
    limit = image_size // STRIDE * STRIDE
    xs = _spans(window.input_size[0], limit, overlap * window.scale)
    ys = _spans(window.input_size[1], limit, overlap * window.scale)
    to_frame = 1.0 / window.scale
    return [
        Window(window.x + round(x * to_frame), window.y + round(y * to_frame), round(w * to_frame),
               round(h * to_frame), (w, h), window.scale)
        for y, h in ys
        for x, w in xs
    ]


def _spans(length: int, limit: int, overlap: float) -> list[tuple[int, int]]:
    """(start, size) in model pixels of the fewest spans of at most ``limit`` covering ``length``,
    neighbours overlapping by at least ``overlap`` (at most half a span)."""
    if length <= limit:
        return [(0, length)]
    overlap = min(overlap, limit / 2)
    count = math.ceil((length - overlap) / (limit - overlap))
    size = min(limit, math.ceil((length + (count - 1) * overlap) / count / STRIDE) * STRIDE)
    return [(round(i * (length - size) / (count - 1)), size) for i in range(count)]


@dataclass(frozen=True, slots=True)
class DetectStreamCheck:
    """Whether a camera's detect stream leaves its smallest objects large enough to be detected.

    ``problem`` is None when it does (or there is no detect stream, or its sizes are not known
    yet), ``"unset"`` when ``analysis.min_object_pixels`` is not set, so the smallest object is
    not known, and ``"too_small"`` when such an object is fewer than ``needed`` pixels high in the
    detect stream: the detector cannot find in it what the main stream shows.
    """

    problem: str | None
    object_pixels: float | None = None  # the smallest object's height in the detect stream
    needed: int = DETECTABLE_PIXELS


def check_detect_stream(min_object_pixels: int | None, frame_height: int | None,
                        detect_height: int | None) -> DetectStreamCheck:
    """The check of one camera: ``min_object_pixels`` is in the main stream's pixels, heights as the worker saw them.

    No resolution of the detector brings back detail the detect stream does not have: an object
    must be ``DETECTABLE_PIXELS`` high in the detect stream's own pixels.
    """
    if not detect_height or not frame_height:
        return DetectStreamCheck(None)
    if min_object_pixels is None:
        return DetectStreamCheck("unset")
    pixels = min_object_pixels * detect_height / frame_height
    return DetectStreamCheck("too_small" if pixels < DETECTABLE_PIXELS else None, round(pixels, 1))
