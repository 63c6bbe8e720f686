"""Evidence files as a browser and an auditor get them: the clip's codec, length and drawn box."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from gatewatch.models.enums import Direction
from gatewatch.settings import GateSettings
from gatewatch.vision.evidence import BOX_COLOUR, clip_mp4, draw_box, draw_boxes_i420, snapshot_jpeg
from gatewatch.vision.gate import Crossing
from gatewatch.vision.recorder import EventDraft
from tests.vision.test_clips import T0, clip_frame, encoded

BOX = (100.0, 60.0, 220.0, 200.0)


def test_a_clip_is_h264_in_mp4_with_the_track_boxed_only_where_it_was_seen(tmp_path: Path) -> None:
    frames = [clip_frame(i, np.full((240, 320, 3), 60 + 2 * i, np.uint8), {5: BOX} if i < 8 else {})
              for i in range(12)]
    draft = encoded(EventDraft(Crossing(5, "person", Direction.ENTRY, 6, T0, 0.8, BOX), 10.0, frames))
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip_mp4(draft.encoded.result()))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    assert len(decoded) == 12
    edge = decoded[0][130, 100:102].astype(int)  # the box's left edge, halfway down
    assert np.abs(edge - BOX_COLOUR).max() <= 40, edge
    assert abs(int(decoded[0][130, 160, 1]) - 60) <= 6  # inside the box, the picture itself
    assert abs(int(decoded[11][130, 100, 1]) - 82) <= 6  # the track gone: no box drawn


@pytest.mark.parametrize("shape", [(240, 320), (720, 1280)])
def test_a_box_drawn_on_yuv_planes_looks_like_one_drawn_in_bgr(shape: tuple[int, int]) -> None:
    height, width = shape
    bgr = np.full((height, width, 3), 90, np.uint8)
    box = tuple(v * width / 320 for v in BOX)
    drawn_bgr = draw_box(bgr, box, "car #3 entry")
    drawn_yuv = cv2.cvtColor(draw_boxes_i420(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), [(box, "car #3 entry")]),
                             cv2.COLOR_YUV2BGR_I420)
    differs = np.abs(drawn_bgr.astype(int) - drawn_yuv).max(axis=2) > 60
    # Chroma is half the resolution: only pixels at the edges of strokes and letters may differ.
    assert differs.mean() < 0.01
    assert (np.abs(drawn_bgr.astype(int) - bgr).max(axis=2) > 60).sum() > 100  # something was drawn


def test_a_snapshot_shows_the_gate_line_its_dead_band_and_an_arrow_to_the_inside() -> None:
    gate = GateSettings(line=((0.1, 0.5), (0.9, 0.5)), inside=(0.5, 0.9), margin=0.05)
    grey = np.full((720, 1280, 3), 90, np.uint8)
    drawn = cv2.imdecode(np.frombuffer(snapshot_jpeg(grey, (100, 100, 300, 300), "car", 95, gate), np.uint8), 1)

    def cyan(x: int, y: int) -> bool:
        b, g, r = (int(v) for v in drawn[y, x])
        return b > 180 and g > 150 and r < 80
    assert cyan(320, 360)  # on the line, away from the arrow
    assert tuple(drawn[360 + 20, 320]) != tuple(drawn[360 + 80, 320])  # the band is tinted, beyond it is not
    assert any(cyan(640, y) for y in range(400, 440))  # the arrow points down, to the inside
    assert not any(cyan(640, y) for y in range(250, 320))  # and not up
