"""Video sources: real footage decodes with the right times; bad input fails with a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest

from gatewatch.vision.sources import FileSource, SourceError, WebcamSource, open_source
from tests.shared_files import HIGHWAY, STREET

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_file_frames_carry_footage_time_from_the_start() -> None:
    source = FileSource(STREET, START)
    try:
        assert source.fps == pytest.approx(30.0, abs=0.01)
        frames = list(islice(source.frames(), 61))
    finally:
        source.close()
    assert [f.index for f in frames[:3]] == [0, 1, 2]
    assert frames[0].time == START
    assert frames[60].time == START + timedelta(seconds=2)
    assert frames[0].bgr().shape == (1080, 1920, 3)
    assert frames[0].size == (1920, 1080)


def test_file_decodes_every_frame() -> None:
    source = FileSource(HIGHWAY, START)
    try:
        count = sum(1 for _ in source.frames())
    finally:
        source.close()
    assert count == 335


def test_one_decoding_thread_gives_the_same_frames_as_ffmpegs_choice() -> None:
    # Replays must find the events the live run found, whatever decode_threads either used.
    pictures = {}
    for threads in (1, 0):
        source = FileSource(STREET, START, threads=threads)
        try:
            pictures[threads] = [(f.index, f.picture.luma().copy(), f.i420((320, 180))) for f in
                                 islice(source.frames(), 0, 90, 7)]
        finally:
            source.close()
    assert len(pictures[1]) == 13
    for (index, luma, small), (other_index, other_luma, other_small) in zip(pictures[1], pictures[0], strict=True):
        assert index == other_index
        assert luma.std() > 10  # a real picture, not a blank one
        assert (luma == other_luma).all() and (small == other_small).all()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mp4", None, "does not exist"),
        ("empty.mp4", b"", "empty \\(0 bytes\\)"),
        ("notes.mp4", b"visitor log, not a video\n" * 50, "not a readable video"),
        (".", None, "is not a file"),
    ],
    ids=["missing", "zero-byte", "text", "directory"],
)
def test_bad_files_are_refused_with_a_clear_error(tmp_path: Path, name: str, content: bytes | None,
                                                  message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        FileSource(path, START)


def test_a_truncated_file_fails_clearly_and_keeps_the_frames_before(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(STREET.read_bytes()[: 1_200_000])
    decoded = 0
    with pytest.raises(SourceError, match="truncated.mp4"):
        source = FileSource(truncated, START)
        for _ in source.frames():
            decoded += 1
    # Whatever FFmpeg could read before the cut was delivered, never more than the file holds.
    assert decoded < 302


def test_a_webcam_that_does_not_exist_is_refused() -> None:
    with pytest.raises(SourceError, match="webcam 57 does not exist"):
        WebcamSource(57)


def test_open_source_tells_urls_devices_and_files_apart(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="stream rtsp://127.0.0.1:1/none cannot be opened"):
        open_source("rtsp://127.0.0.1:1/none")
    with pytest.raises(SourceError, match="webcam 57"):
        open_source("57")
    with pytest.raises(SourceError, match="does not exist"):
        open_source(str(tmp_path / "gate.mp4"))
