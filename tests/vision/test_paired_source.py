"""``PairedSource`` on files: detect frames timed in the main stream, main frames decoded only when read.

No detector: the street footage (1080p, keyframes 4.3 s apart) and its 640x360 copy, made here.
A main-stream picture read after the ring has moved on, in any order, is the frame FFmpeg
decodes at that time in the main file, pixel for pixel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest

from gatewatch.vision.paired import MainPicture, PairedSource
from gatewatch.vision.sources import FileSource
from tests.detect_stream import scaled_copy
from tests.shared_files import STREET

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def detect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scaled_copy(STREET, tmp_path_factory.mktemp("detect") / "street-360.mp4")


def test_detect_frames_get_the_main_streams_times_and_main_frames_decode_when_read(detect: Path) -> None:
    with av.open(str(STREET)) as container:
        main_frames = {f.pts: f.to_ndarray(format="bgr24") for f in container.decode(video=0)}
    source = PairedSource(FileSource(STREET, T0, threads=1), FileSource(detect, T0, threads=1), keep_seconds=6.0)
    source.ring.keep_seconds = 6.0
    picked: list[MainPicture] = []
    try:
        count = 0
        for frame in source.frames():
            assert frame.size == (640, 360) and frame.pts in main_frames  # the main frame shown at that moment
            count += 1
            if frame.index in (20, 150, 151, 290):
                main, _, _ = source.to_main(frame, [], [])
                assert main.size == (1920, 1080) and main.pts == frame.pts
                picked.append(main.picture)
                source.pin([main.picture])
        assert count == len(main_frames)
        assert source.decoded_frames == 0  # nothing read yet: the main stream was only demuxed
    finally:
        source.close()
    for picture in (picked[2], picked[0], picked[3], picked[1]):  # read later, out of order
        assert np.array_equal(picture.bgr(), main_frames[picture.pts])
    assert source.decoded_frames < len(main_frames)
