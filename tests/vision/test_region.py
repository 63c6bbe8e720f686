"""The gate window: the strip around the line, whole objects in it, at the configured resolution."""

from __future__ import annotations

import pytest

from gatewatch.settings import AnalysisSettings, GateSettings
from gatewatch.vision.region import STRIDE, gate_window, reference_window


def gate(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.2)) -> GateSettings:
    return GateSettings(line=line, inside=inside)


def test_the_reference_window_is_the_whole_frame_at_the_detector_size() -> None:
    window = reference_window(1920, 1080, 640)
    assert (window.x, window.y, window.width, window.height, window.input_size) == (0, 0, 1920, 1080, (640, 640))
    assert window.scale is None and window.is_whole(1920, 1080)


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720), (640, 480)])
def test_a_horizontal_line_gets_a_full_width_strip_with_room_above_for_standing_objects(width: int,
                                                                                      height: int) -> None:
    settings = AnalysisSettings(region_margin=0.25, object_height=0.2, scale=0.75)
    window = gate_window(gate(), width, height, settings, 640)
    assert (window.x, window.width) == (0, width)
    assert window.y <= 0.5 * height - (0.25 + 0.2) * height + 1
    assert window.y + window.height >= 0.75 * height - 1
    assert 0 <= window.y and window.y + window.height <= height
    input_w, input_h = window.input_size
    assert input_w % STRIDE == 0 and input_h % STRIDE == 0
    # The window is analysed at three quarters of the reference resolution, not stretched.
    assert window.scale == pytest.approx(0.75 * 640 / max(width, height))
    assert input_w / window.width == pytest.approx(window.scale, rel=0.02)
    assert input_h / window.height == pytest.approx(window.scale, rel=0.02)


def test_a_short_vertical_line_gets_a_narrow_window() -> None:
    window = gate_window(gate(line=((0.5, 0.4), (0.5, 0.9)), inside=(0.9, 0.5)), 1920, 1080,
                        AnalysisSettings(region_margin=0.1, object_height=0.2), 640)
    assert window.x <= 960 - 108 and window.x + window.width >= 960 + 108
    assert window.width < 1920 / 2
    assert window.y <= 0.4 * 1080 - 0.3 * 1080 + 1 and window.y + window.height >= 0.9 * 1080 + 108 - 1


def test_a_margin_as_large_as_the_frame_detects_on_all_of_it() -> None:
    window = gate_window(gate(), 1920, 1080, AnalysisSettings(region_margin=1.0, scale=1.0), 640)
    assert window.is_whole(1920, 1080)
    assert window.input_size == (640, 384)  # a rectangle, not the 640 x 640 letterbox
