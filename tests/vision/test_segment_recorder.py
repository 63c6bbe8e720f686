"""Continuous recording's segments from real footage: the camera's packets as they came, cut at keyframes."""

from __future__ import annotations

import errno
import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from gatewatch.vision.segments import ClosedSegment, MissedTime, SegmentRecorder
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MOTORCYCLES

START = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


class Recording:
    """What recording a footage file gave: segments, gaps, the source's own packets and its frame count."""

    def __init__(self, video: Path, folder: Path, segment_seconds: float = 2.0,
                 path_for: Callable[[datetime], Path] | None = None) -> None:
        self.segments: list[ClosedSegment] = []
        self.gaps: list[MissedTime] = []
        self.packets: list[tuple[bytes, bool]] = []
        source = FileSource(video, START)
        recorder = SegmentRecorder(source.stream, path_for or (lambda t: folder / f"{t:%H%M%S.%f}.mp4"),
                                   segment_seconds, self.segments.append, self.gaps.append, start=START)
        source.listen(lambda packet: self.packets.append((bytes(packet), packet.is_keyframe)))
        source.listen(recorder)
        self.frames = sum(1 for _ in source.frames())
        recorder.close()
        source.close()


def packets_of(path: Path) -> list[tuple[bytes, bool]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(bytes(p), p.is_keyframe) for p in container.demux(stream) if p.size]


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize("video", [HIGHWAY, MOTORCYCLES], ids=["b-frames", "no-b-frames"])
def test_segments_hold_the_sources_packets_cut_at_keyframes(tmp_path: Path, video: Path) -> None:
    recording = Recording(video, tmp_path)

    keyframes = sum(key for _, key in recording.packets)
    assert 2 <= len(recording.segments) <= keyframes
    assert not recording.gaps
    # Byte for byte, in order, nothing lost: the segments' packets are the source's.
    assert [p for s in recording.segments for p in packets_of(s.path)] == recording.packets
    for segment in recording.segments:
        data = segment.path.read_bytes()
        assert segment.sha256 == hashlib.sha256(data).hexdigest() and segment.size_bytes == len(data)
        assert packets_of(segment.path)[0][1], "a segment starts at a keyframe"
        assert segment.frames == len(packets_of(segment.path)) == decoded_frames(segment.path)
        assert data.index(b"moov") < data.index(b"mdat"), "faststart: the index before the media"
    # One after another, without a hole, from the source's start to its end.
    first, last = recording.segments[0], recording.segments[-1]
    assert first.started_at == START
    assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(recording.segments))
    assert all(b.started_at - a.started_at >= timedelta(seconds=2) for a, b in itertools.pairwise(recording.segments))
    duration = timedelta(seconds=recording.frames / FileSource(video).fps)
    assert abs((last.ended_at - first.started_at) - duration) < timedelta(seconds=0.1)
    assert not list(tmp_path.glob(".*.part")), "no temporary file left"


def test_a_failed_write_is_a_gap_and_recording_goes_on(tmp_path: Path) -> None:
    """The disk is full while the second segment starts: its time is a gap, the others are written."""
    calls = []

    def path_for(started: datetime) -> Path:
        calls.append(started)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return tmp_path / f"{started:%H%M%S.%f}.mp4"

    recording = Recording(HIGHWAY, tmp_path, path_for=path_for)

    assert recording.frames == len(recording.packets), "analysis saw every frame"
    assert len(recording.segments) == len(calls) - 1 >= 2
    [gap] = recording.gaps
    assert "No space left on device" in gap.reason
    assert gap.started_at == calls[1]
    assert gap.ended_at == calls[2] == recording.segments[1].started_at
    assert recording.segments[0].ended_at == gap.started_at
    assert all(s.path.is_file() for s in recording.segments)
    assert not list(tmp_path.glob(".*.part"))
