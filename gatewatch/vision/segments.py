"""Continuous recording: a camera's own video packets remuxed, without decoding, into MP4 segments.

A ``SegmentRecorder`` listens to a source's packets (``FrameSource.listen``). On the reading
thread it only copies each packet's bytes and times into a queue, so recording never holds up
analysis; a thread of its own muxes them. A segment starts at a keyframe and closes at the first
keyframe after ``segment_seconds``, and at the end of the source, so each file plays on its own
and the segments play one after another. Each is written as an MP4 with its index in front
(faststart: a browser plays it at once) under a temporary name (``.<name>.<random>.part``) and
renamed once whole and flushed: a crash never leaves half a segment under a real name.

A closed segment is reported with its wall-clock times, packet count, size and SHA-256; time the
recorder could not keep (a write failed, the disk is full, the writer fell behind) is reported as
a gap, never raised into the reader. A packet's time is its presentation time on a clock set
by the packets' arrival: the earliest any packet arrived for its place in the stream (packets
queued while the worker was busy arrive late together, none early); for a file, the ``start``
given. Segments of one session follow each other without a hole.

An RTSP stream's first packets carry no decoding time (FFmpeg learns the reordering later), and
the very first keyframe no presentation time either: the recorder holds the session's first
packets back until one has both, then counts the missing times back from it, a frame apart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

#: Packets waiting for the writer at most (about a minute of a 30 fps camera); beyond, packets are dropped.
MAX_PENDING = 2000
#: Packets held at a session's start while none has a decoding time; beyond, they are dropped.
MAX_UNTIMED = 300
#: Mode of a segment file: the web app, running as another user, serves it.
SEGMENT_MODE = 0o644


@dataclass(frozen=True)
class ClosedSegment:
    """A segment file as written: where, the wall-clock time of its first frame and of its end, its content."""

    path: Path
    started_at: datetime
    ended_at: datetime
    frames: int  # video packets
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class MissedTime:
    """A time the recorder has no footage for, and why."""

    started_at: datetime
    ended_at: datetime
    reason: str


@dataclass(slots=True)
class _Packet:
    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool
    arrived: datetime
    duration: int = 0


@dataclass(frozen=True, slots=True)
class _Loss:
    """The reader dropped packets from ``since``: the writer could not keep up."""

    since: datetime


_DONE = object()


class _Retimer:
    """Gives every packet a presentation and a decoding time an MP4 accepts, in the stream's order."""

    def __init__(self, frame_ticks: int) -> None:
        self.frame_ticks = max(1, frame_ticks)
        self._held: list[_Packet] = []
        self._last_dts: int | None = None

    def push(self, packet: _Packet) -> list[_Packet]:
        """The packets now ready, timed: none while a session's first packets are still untimed."""
        if self._last_dts is not None:
            dts = packet.dts if packet.dts is not None else self._last_dts + self.frame_ticks
            packet.dts = max(dts, self._last_dts + 1)
            packet.pts = max(packet.pts if packet.pts is not None else packet.dts, packet.dts)
            self._last_dts = packet.dts
            return [packet]
        self._held.append(packet)
        if packet.dts is None or packet.pts is None:
            if len(self._held) > MAX_UNTIMED:
                self._held.clear()
            return []
        held, self._held = self._held, []
        for earlier, later in zip(reversed(held[:-1]), reversed(held[1:]), strict=True):
            assert later.dts is not None
            earlier.dts = min(later.dts - self.frame_ticks, earlier.pts if earlier.pts is not None else later.dts)
        shown = [p.pts for p in held if p.pts is not None]
        for item in held:
            if item.pts is None:
                assert item.dts is not None
                item.pts = max(item.dts, min(shown) - self.frame_ticks)
        self._last_dts = packet.dts
        return held

    @property
    def started(self) -> bool:
        return self._last_dts is not None


class _SegmentFile:
    """One segment being written under its temporary name."""

    def __init__(self, path: Path, template: av.video.stream.VideoStream, started_at: datetime, offset: int, *,
                 follows: bool) -> None:
        self.path, self.started_at, self.offset, self.follows = path, started_at, offset, follows
        self.frames, self.last_pts = 0, offset
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        self.part = Path(name)
        try:
            self.container = av.open(name, mode="w", format="mp4", options={"movflags": "+faststart"})
            self.stream = self.container.add_stream_from_template(template)
            self.stream.codec_context.extradata = template.codec_context.extradata
        except BaseException:
            self.part.unlink(missing_ok=True)
            raise

    def write(self, packet: _Packet, time_base: Fraction, frame_ticks: int) -> None:
        """Mux ``packet``; one without a duration (RTSP's) lasts a frame, or the file would cut its last frame."""
        assert packet.pts is not None and packet.dts is not None
        out = av.Packet(packet.data)
        out.pts, out.dts = packet.pts - self.offset, packet.dts - self.offset
        out.duration = packet.duration or frame_ticks
        out.is_keyframe, out.time_base, out.stream = packet.keyframe, time_base, self.stream
        self.container.mux(out)
        self.frames += 1
        self.last_pts = max(self.last_pts, packet.pts)

    def finish(self, ended_at: datetime) -> ClosedSegment:
        """Close the file, flush it to disk and give it its real name."""
        try:
            self.container.close()
            digest = hashlib.sha256()
            with open(self.part, "rb+") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                os.fsync(handle.fileno())
            os.chmod(self.part, SEGMENT_MODE)
            size = self.part.stat().st_size
            os.replace(self.part, self.path)
        finally:
            self.part.unlink(missing_ok=True)
        return ClosedSegment(self.path, self.started_at, ended_at, self.frames, size, digest.hexdigest())

    def abandon(self) -> None:
        try:
            self.container.close()
        except (OSError, av.FFmpegError):
            pass
        self.part.unlink(missing_ok=True)


class SegmentRecorder:
    """A packet listener that records the packets of ``stream`` in segments of ``segment_seconds``.

    ``path_for`` names the file of a segment starting at a given time; ``on_segment`` and
    ``on_gap`` are told, on the recorder's thread, of each closed segment and each missed time.
    ``start`` is the wall-clock time of the first packet (default: when it arrives). Call
    ``close`` once the source has ended: it closes the last segment and waits for the writes.
    """

    def __init__(self, stream: av.video.stream.VideoStream, path_for: Callable[[datetime], Path],
                 segment_seconds: float, on_segment: Callable[[ClosedSegment], None],
                 on_gap: Callable[[MissedTime], None], *, start: datetime | None = None,
                 max_pending: int = MAX_PENDING, name: str = "segments") -> None:
        self.stream, self.path_for, self.segment_seconds = stream, path_for, segment_seconds
        self.on_segment, self.on_gap, self.start = on_segment, on_gap, start
        self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or 25
        self.frame_ticks = round(1 / (float(rate) * self.time_base))
        self._retimer = _Retimer(self.frame_ticks)
        self._anchor: tuple[int, datetime] | None = None  # a pts and its wall-clock time
        self._segment: _SegmentFile | None = None
        self._gap: tuple[datetime, str] | None = None  # missed since, why
        self._last_time: datetime | None = None  # the end of the last packet handled
        self._losing: datetime | None = None  # the reader drops packets since then
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- the reading thread ---------------------------------------------------------------------

    def __call__(self, packet: av.Packet) -> None:
        """Queue ``packet`` for the writer; when the writer is behind, drop packets up to the next keyframe."""
        item = _Packet(bytes(packet), packet.pts, packet.dts, packet.is_keyframe, datetime.now(UTC),
                       packet.duration or 0)
        try:
            if self._losing is not None:
                if not item.keyframe:
                    return
                self._queue.put_nowait(_Loss(self._losing))
                self._losing = None
            self._queue.put_nowait(item)
        except queue.Full:
            if self._losing is None:
                self._losing = item.arrived
                log.warning("%s: the writer is behind; packets dropped until it catches up", self._thread.name)

    def close(self) -> None:
        """The source has ended: close the last segment (or gap) and wait for the writer."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()

    # --- the writer's thread --------------------------------------------------------------------

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if isinstance(item, _Loss):
                self._end_segment(self._last_time or item.since)
                self._missed(self._last_time or item.since, "recording fell behind: packets were dropped")
                continue
            assert isinstance(item, _Packet)
            for packet in self._retimer.push(item):
                try:
                    self._handle(packet)
                except Exception as exc:  # a packet the muxer refuses costs its segment, never the recording
                    log.exception("%s: recording a packet failed", self._thread.name)
                    if self._segment is not None:
                        self._fail(self._segment, f"a segment could not be written: {exc}")
        self._end_segment(self._last_time)
        if self._gap is not None and self._last_time is not None:
            self._report_gap(self._last_time)

    def _time(self, packet: _Packet) -> datetime:
        """The wall-clock time of ``packet``'s frame; a packet that came sooner than the clock says sets it back."""
        assert packet.pts is not None and packet.dts is not None
        if self._anchor is None:
            self._anchor = (packet.pts, self.start or packet.arrived)
        pts, at = self._anchor
        if self.start is None:
            decoded = packet.arrived - self._seconds(packet.dts - pts)
            if decoded < at:
                at = decoded
                self._anchor = (pts, at)
        return self._time_of(packet.pts)

    def _seconds(self, ticks: int) -> timedelta:
        return timedelta(seconds=float(ticks * self.time_base))

    def _handle(self, packet: _Packet) -> None:
        at = self._time(packet)
        segment = self._segment
        if packet.keyframe and (segment is None or (at - segment.started_at).total_seconds() >= self.segment_seconds):
            self._end_segment(at)
            segment = self._begin(packet, at, follows=segment is not None)
        if segment is not None:
            try:
                segment.write(packet, self.time_base, self.frame_ticks)
            except (OSError, av.FFmpegError) as exc:
                self._fail(segment, f"a segment could not be written: {exc}")
        self._last_time = max(self._last_time or at, at + self._seconds(self.frame_ticks))

    def _begin(self, packet: _Packet, at: datetime, *, follows: bool) -> _SegmentFile | None:
        """A new segment from ``packet`` (a keyframe); ``follows``: it goes on where the last one closed."""
        assert packet.pts is not None
        try:
            self._segment = _SegmentFile(self.path_for(at), self.stream, at, packet.pts, follows=follows)
        except (OSError, av.FFmpegError) as exc:
            self._missed(at, f"a segment could not be written: {exc}")
            return None
        if self._gap is not None:
            self._report_gap(at)
        return self._segment

    def _end_segment(self, at: datetime | None) -> None:
        segment, self._segment = self._segment, None
        if segment is None or at is None:
            return
        if not segment.follows:  # the clock may have been set back since its first packet came
            segment.started_at = min(segment.started_at, self._time_of(segment.offset))
        try:
            closed = segment.finish(at)
        except (OSError, av.FFmpegError) as exc:
            self._fail(segment, f"a segment could not be written: {exc}")
            return
        try:
            self.on_segment(closed)
        except Exception:  # the recording goes on; the callback logs its own failures
            log.exception("%s: a closed segment could not be reported", self._thread.name)

    def _time_of(self, pts: int) -> datetime:
        assert self._anchor is not None
        return self._anchor[1] + self._seconds(pts - self._anchor[0])

    def _fail(self, segment: _SegmentFile, reason: str) -> None:
        """The segment's file cannot be finished: its time becomes a gap, its partial file goes."""
        log.error("%s: %s", self._thread.name, reason)
        segment.abandon()
        if self._segment is segment:
            self._segment = None
        self._missed(segment.started_at, reason)

    def _missed(self, since: datetime, reason: str) -> None:
        if self._gap is None:
            self._gap = (since, reason)

    def _report_gap(self, until: datetime) -> None:
        assert self._gap is not None
        (since, reason), self._gap = self._gap, None
        try:
            self.on_gap(MissedTime(since, max(since, until), reason))
        except Exception:
            log.exception("%s: a gap could not be reported", self._thread.name)
