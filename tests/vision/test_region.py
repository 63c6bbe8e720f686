"""The gate window: the strip around the line, whole objects in it, at the configured resolution."""

from __future__ import annotations

import numpy as np
import pytest

from gatewatch.settings import AnalysisSettings, GateSettings
from gatewatch.vision.region import DETECTABLE_PIXELS, STRIDE, gate_window, reference_window, tiles


def gate(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.2)) -> GateSettings:
    return GateSettings(line=line, inside=inside)


def test_the_reference_window_is_the_whole_frame_at_the_detector_size() -> None:
    window = reference_window(1920, 1080, 640, AnalysisSettings())
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


def test_the_smallest_object_sets_the_resolution_of_both_windows_and_large_ones_are_tiled() -> None:
    settings = AnalysisSettings(min_object_pixels=40)  # a distant motorbike, 40 px high in 720p
    scale = DETECTABLE_PIXELS / 40  # 0.8 model pixels per frame pixel: more than the reference's 0.5
    reference = reference_window(1280, 720, 640, settings)
    assert reference.is_whole(1280, 720) and reference.scale == pytest.approx(scale)
    assert reference.input_size == (1024, 576)
    parts = tiles(reference, 640, overlap=0.2 * 720)
    assert len(parts) == 2  # two tiles side by side, each whole in height
    assert all(max(part.input_size) <= 640 and part.scale == reference.scale for part in parts)
    # The tiles cover the frame, and neighbours overlap by at least the object height (144 px).
    assert min(p.x for p in parts) == 0 and max(p.x + p.width for p in parts) >= 1279
    assert min(p.y for p in parts) == 0 and max(p.y + p.height for p in parts) >= 719
    left, right = sorted({(p.x, p.width) for p in parts})
    assert left[0] + left[1] - right[0] >= 144 - 2
    strip = gate_window(gate(), 1280, 720, settings, 640)
    assert strip.scale == pytest.approx(scale) and strip.width == 1280 and strip.height < 720


def test_without_tiling_the_resolution_is_lowered_until_the_window_fits() -> None:
    settings = AnalysisSettings(min_object_pixels=40, tiling="off")
    window = reference_window(1280, 720, 640, settings)
    assert max(window.input_size) <= 640 and tiles(window, 640, 144) == [window]


def test_a_window_that_fits_is_its_own_only_tile() -> None:
    window = gate_window(gate(), 1920, 1080, AnalysisSettings(), 640)
    assert tiles(window, 640, 216) == [window]


def test_an_object_found_by_two_tiles_is_one_detection_and_neighbours_stay_two() -> None:
    from gatewatch.vision.detector import merge_tiles

    left = np.array([[600, 300, 720, 500, 0.8, 3],  # a motorbike whole in the left tile
                     [100, 300, 160, 450, 0.9, 0]], np.float32)  # a person only the left tile sees
    right = np.array([[610, 300, 700, 500, 0.6, 3],  # the same motorbike, cut by the right tile's edge
                      [640, 280, 700, 420, 0.7, 0],  # its rider: another class, kept
                      [730, 300, 850, 500, 0.7, 3]], np.float32)  # the next motorbike, side by side
    merged = merge_tiles([left, right])
    assert sorted(map(tuple, merged[:, [0, 5]].tolist())) == [(100, 0), (600, 3), (640, 0), (730, 3)]
