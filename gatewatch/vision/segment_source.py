"""A camera's recorded period as one stream: its segment files decoded in order, one after another.

Continuous recording keeps the camera's own packets in MP4 segments of a few minutes each. A
replay of an hour runs over the segments that overlap it as if they were one file: each frame is
stamped with its wall-clock time, the segment's start plus the frame's presentation time in it,
so a gap between two segments (the stream was down) shows as a jump in time, not a jump in
indexes; indexes count the frames handed out, from 0 at the period's start. Frames before the
period's start and after its end are decoded where they must be (from the keyframe before the
start) but not handed out.

A segment whose file is missing, deleted, damaged or cut short is a SourceError naming the
segment: a replay of recorded time must not pass over footage silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av

from gatewatch.vision.sources import AvPicture, Frame, PacketListener, SourceError, _rate_of


@dataclass(frozen=True)
class Segment:
    """One recorded piece: how errors name it, its file (None: deleted), and when its first frame was."""

    name: str
    path: Path | None
    started_at: datetime


def _open(segment: Segment, threads: int) -> av.container.InputContainer:
    """The segment's file, opened; SourceError naming the segment when it cannot be."""
    if segment.path is None:
        raise SourceError(f"{segment.name} has no file any more: retention deleted it")
    if not segment.path.is_file():
        raise SourceError(f"{segment.name}: its file {segment.path} is missing")
    try:
        container = av.open(str(segment.path))
    except av.FFmpegError as exc:
        raise SourceError(f"{segment.name} ({segment.path}) is not a readable video: {exc}") from None
    if not container.streams.video:
        container.close()
        raise SourceError(f"{segment.name} ({segment.path}) holds no video")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads
    return container


class SegmentSource:
    """The frames of ``segments`` (in time order) from ``start`` to ``end``, as one stored source.

    ``total_frames`` is the caller's estimate (the segments' frame counts over the period), for
    progress; ``stream`` is the stream of the segment being read, so it changes from one
    segment to the next.
    """

    is_live = False

    def __init__(self, segments: Sequence[Segment], start: datetime, end: datetime, *, threads: int = 0,
                 description: str = "recorded period", total_frames: int | None = None) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise SourceError("the period of a recording needs times with a time zone")
        if not segments:
            raise SourceError(f"{description}: no recording segment covers it")
        self.segments = sorted(segments, key=lambda segment: segment.started_at)
        self.start, self.end = start, end
        self.description = description
        self.total_frames = total_frames
        self._threads = threads
        self._listeners: list[PacketListener] = []
        for segment in self.segments:  # every file is there before the first frame is analysed
            if segment.path is None or not segment.path.is_file():
                _open(segment, threads)
        self._container = _open(self.segments[0], threads)
        self.stream: av.video.stream.VideoStream | None = self._container.streams.video[0]
        self.fps = _rate_of(self.stream)

    def listen(self, listener: PacketListener) -> None:
        self._listeners.append(listener)

    def frames(self) -> Iterator[Frame]:
        index = 0
        for time, frame in self._timed_frames():
            if time > self.end:
                break
            if time >= self.start:
                yield Frame(index, time, AvPicture(frame), frame.pts)
                index += 1
        if not index:
            raise SourceError(f"{self.description} holds no decodable frame")

    def _timed_frames(self) -> Iterator[tuple[datetime, av.VideoFrame]]:
        """Every segment's frames in turn, each with its wall-clock time."""
        for number, segment in enumerate(self.segments):
            if number:
                self._container.close()
                self._container = _open(segment, self._threads)
                self.stream = self._container.streams.video[0]
            yield from self._segment_frames(segment)

    def _segment_frames(self, segment: Segment) -> Iterator[tuple[datetime, av.VideoFrame]]:
        """The segment's decoded frames with their wall-clock times, from the keyframe at or before the start."""
        stream = self._container.streams.video[0]
        base = stream.time_base
        origin = stream.start_time
        whole = not (self.start > segment.started_at and base)  # read from its first packet
        if not whole:
            offset = int((self.start - segment.started_at).total_seconds() / base) + (origin or 0)
            try:
                self._container.seek(offset, backward=True, any_frame=False, stream=stream)
            except av.FFmpegError as exc:
                raise SourceError(f"{segment.name} ({segment.path}) cannot be searched: {exc}") from None
        last: datetime | None = None
        decoded = packets = 0
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    packets += 1
                    for listener in self._listeners:
                        listener(packet)
                for frame in packet.decode():
                    if frame.pts is not None and base:
                        if origin is None:
                            origin = frame.pts  # no start time in the file: its first frame is its start
                        time = segment.started_at + timedelta(seconds=float((frame.pts - origin) * base))
                    else:
                        time = last + timedelta(seconds=1 / self.fps) if last else segment.started_at
                    last = time
                    decoded += 1
                    yield time, frame
        except av.FFmpegError as exc:
            raise SourceError(f"{segment.name} ({segment.path}) is damaged after its frame {decoded}: {exc}") from None
        if whole and stream.frames and packets < stream.frames:  # FFmpeg reads a cut-off MP4 to its end quietly
            raise SourceError(f"{segment.name} ({segment.path}) is cut short: it holds {packets} of its "
                              f"{stream.frames} frames")

    def close(self) -> None:
        self._container.close()
