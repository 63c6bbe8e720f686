"""Which part of the frame the detector looks at, and at what resolution.

The reference window is the whole frame at full resolution, letterboxed to the detector's
square image size, as ``YOLO.predict`` does it. The gate window is the strip around the gate
line where crossings happen: the line's bounding box grown by ``region_margin`` on every side
and by ``object_height`` more upwards, so a person or a car standing on the line is whole in it.
It is analysed at ``scale`` times the reference resolution, its model input rounded up to the
network's stride; the window then grows (within the frame) to fill that input, so nothing is
stretched or padded needlessly. Its frame is scaled down as YUV before it is converted to BGR,
which costs a fraction of converting the full frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gatewatch.settings import AnalysisSettings, GateSettings

#: The network's input must be a multiple of its largest stride.
STRIDE = 32


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


def reference_window(width: int, height: int, image_size: int) -> Window:
    return Window(0, 0, width, height, (image_size, image_size))


def _span(low: float, high: float, wanted: float, limit: int) -> tuple[int, int]:
    """[start, start + size) of at least ``wanted`` pixels centred on [low, high], inside 0..limit."""
    size = min(limit, math.ceil(max(wanted, high - low)))
    start = round((low + high - size) / 2)
    start = min(max(start, 0), limit - size)
    return start, size


def gate_window(gate: GateSettings, width: int, height: int, analysis: AnalysisSettings, image_size: int) -> Window:
    """The strip around the gate line, at ``analysis.scale`` of the reference resolution."""
    (ax, ay), (bx, by) = gate.line
    margin = analysis.region_margin * height
    left = max(0.0, min(ax, bx) * width - margin)
    right = min(float(width), max(ax, bx) * width + margin)
    top = max(0.0, min(ay, by) * height - margin - analysis.object_height * height)
    bottom = min(float(height), max(ay, by) * height + margin)
    scale = analysis.scale * image_size / max(width, height)  # model pixels per frame pixel
    input_w = max(STRIDE, math.ceil((right - left) * scale / STRIDE) * STRIDE)
    input_h = max(STRIDE, math.ceil((bottom - top) * scale / STRIDE) * STRIDE)
    x, w = _span(left, right, input_w / scale, width)
    y, h = _span(top, bottom, input_h / scale, height)
    return Window(x, y, w, h, (input_w, input_h), scale)
