"""Decoding ahead on a thread: nothing lost from a file; a live source's stale frames dropped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from gatewatch.vision.reader import ReadAhead
from gatewatch.vision.sources import ArrayPicture, Frame, SourceError

IMAGE = ArrayPicture(np.zeros((4, 4, 3), np.uint8))


def frames(count: int, finished: threading.Event | None = None, error: Exception | None = None,
           go_on: threading.Event | None = None) -> Iterator[Frame]:
    """``count`` frames as fast as they can be taken; after the first, wait for ``go_on`` if given."""
    for index in range(count):
        yield Frame(index, datetime.now(UTC), IMAGE)
        if index == 0 and go_on is not None:
            go_on.wait()
    if finished is not None:
        finished.set()
    if error is not None:
        raise error


def test_a_file_loses_no_frame_however_slow_the_analysis() -> None:
    finished = threading.Event()
    reader = ReadAhead(frames(50, finished), 4, drop_oldest=False)
    received = []
    for frame in reader:
        if frame.index == 0:
            assert not finished.wait(0.2)  # the reader waits for room instead of running ahead
        received.append(frame.index)
    assert received == list(range(50))


def test_a_live_source_skips_to_the_newest_frames_when_analysis_lags() -> None:
    finished, analysing = threading.Event(), threading.Event()
    reader = ReadAhead(frames(200, finished, go_on=analysing), 3, drop_oldest=True)
    stream = iter(reader)
    first = next(stream)
    analysing.set()  # analysis of the first frame takes long: the camera delivers everything else
    assert finished.wait(5.0)
    rest = [frame.index for frame in stream]
    assert first.index == 0
    assert rest == [197, 198, 199]  # only the newest waited; the gap shows what was dropped


def test_a_source_error_arrives_after_the_frames_before_it() -> None:
    reader = ReadAhead(frames(5, error=SourceError("broke off")), 2, drop_oldest=False)
    received = []
    with pytest.raises(SourceError, match="broke off"):
        for frame in reader:
            received.append(frame.index)
    assert received == [0, 1, 2, 3, 4]


def test_closing_stops_the_reading_thread() -> None:
    def endless() -> Iterator[Frame]:
        index = 0
        while True:
            yield Frame(index, datetime.now(UTC), IMAGE)
            index += 1

    reader = ReadAhead(endless(), 2, drop_oldest=False)
    assert next(iter(reader)).index == 0
    reader.close()
    assert not reader._thread.is_alive()
