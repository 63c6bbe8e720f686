"""The live view publishes a small JPEG of the analysed frame and a JSON sidecar, at most once per
interval of frame arrival, whole (a reader never sees half a file), and a disk that cannot be
written to never stops analysis. On the real motorcycle footage (1280x720)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from gatewatch.settings import GateSettings
from gatewatch.vision.live_view import LiveView, live_paths, published_size
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.sources import FileSource, Frame
from tests.shared_files import MOTORCYCLES

START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
GATE = GateSettings(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.9), margin=0.03)
#: A box in the frame's pixels, and one reaching past its right edge (a tracker's prediction can).
OBJECTS = [TrackedObject(7, "motorcycle", 0.8, (320.0, 180.0, 640.0, 540.0)),
           TrackedObject(9, "person", 0.6, (1200.0, 0.0, 1300.0, 72.0))]


@pytest.fixture(scope="module")
def footage() -> list[Frame]:
    """The footage's first 70 frames, 2.3 s at 30 frames/s."""
    source = FileSource(MOTORCYCLES, START, threads=1)
    try:
        return list(islice(source.frames(), 70))
    finally:
        source.close()


def decoded(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a whole JPEG"
    return image


def test_a_640_wide_picture_and_its_boxes_as_fractions_at_most_once_a_second_of_frames(
        tmp_path: Path, footage: list[Frame]) -> None:
    arrival = iter([frame.index / 30 for frame in footage])  # the frames arrive at the footage's rate
    live = LiveView(tmp_path, "gate-1", clock=lambda: next(arrival))
    published: list[dict] = []
    for frame in footage:
        before = live.published
        live.offer(frame, OBJECTS, GATE)
        if live.published > before:
            published.append(json.loads(live_paths(tmp_path, "gate-1")[1].read_text()))
    # Frames 0, 30 and 60 of 70: once per second of arrival, the first frame at once.
    assert [datetime.fromisoformat(p["time"]) for p in published] == [footage[i].time for i in (0, 30, 60)]
    picture_path, sidecar_path = live_paths(tmp_path, "gate-1")
    assert (picture_path, sidecar_path) == (tmp_path / "live" / "gate-1.jpg", tmp_path / "live" / "gate-1.json")
    picture = decoded(picture_path)
    assert picture.shape == (360, 640, 3)
    # The picture is the frame's, scaled: compare with the frame scaled down by OpenCV.
    expected = cv2.resize(footage[60].bgr(), (640, 360), interpolation=cv2.INTER_AREA)
    assert float(np.abs(picture.astype(int) - expected.astype(int)).mean()) < 6
    sidecar = published[-1]
    assert sidecar == {
        "camera_id": "gate-1", "time": footage[60].time.isoformat(), "frame_size": [640, 360],
        "boxes": [{"track_id": 7, "label": "motorcycle", "box": [0.25, 0.25, 0.5, 0.75]},
                  {"track_id": 9, "label": "person", "box": [0.9375, 0.0, 1.0, 0.1]}],
        "gate": {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.9], "margin": 0.03},
    }
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == ["gate-1.jpg", "gate-1.json"]  # no temporary file
    assert picture_path.stat().st_mode & 0o777 == 0o644  # the web app, another user, reads it


def test_a_picture_is_never_enlarged_and_keeps_its_aspect() -> None:
    assert published_size((1920, 1080), 640) == (640, 360)
    assert published_size((1280, 720), 320) == (320, 180)
    assert published_size((480, 270), 640) == (480, 270)
    assert published_size((704, 576), 640) == (640, 524)


def test_a_reader_never_sees_half_a_picture_or_half_a_sidecar(tmp_path: Path, footage: list[Frame]) -> None:
    live = LiveView(tmp_path, "gate-1", interval=0.0)
    live.offer(footage[0], OBJECTS, GATE)
    picture_path, sidecar_path = live_paths(tmp_path, "gate-1")
    done, reads, problems = threading.Event(), [0], []

    def read() -> None:
        while not done.is_set():
            try:
                assert decoded(picture_path).shape == (360, 640, 3)
                assert json.loads(sidecar_path.read_bytes())["camera_id"] == "gate-1"
                reads[0] += 1
            except (AssertionError, ValueError) as exc:
                problems.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for frame in footage[:40]:
            live.offer(frame, OBJECTS, GATE)
    finally:
        done.set()
        reader.join()
    assert live.published == 41 and reads[0] > 10 and not problems


def test_a_disk_that_cannot_be_written_is_logged_once_and_never_stops_analysis(
        tmp_path: Path, footage: list[Frame], caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data folder should be")  # as good as a full disk: nothing is written
    live = LiveView(blocked, "gate-1", interval=0.0)
    with caplog.at_level(logging.INFO, logger="gatewatch.vision.live_view"):
        for frame in footage[:5]:
            live.offer(frame, OBJECTS, GATE)  # raises nothing
        assert live.published == 0
        blocked.unlink()
        live.offer(footage[5], OBJECTS, GATE)
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "cannot be published" in m]) == 1
    assert messages[-1] == "gate-1: the live view is published again"
    assert live.published == 1 and decoded(live_paths(blocked, "gate-1")[0]).shape == (360, 640, 3)
