"""A source's recent video packets, kept as demuxed, so an event's clip is the camera's own bytes.

A clip copied from the stream needs no decoding or encoding: it is the run of packets, in decode
order, from the keyframe at or before the pre-roll point until the seconds after the crossing,
remuxed into an MP4 (``evidence.clip_mp4``). A clip can only start at a keyframe, so the ring
keeps whole groups of pictures (a keyframe and the packets up to the next): every group that
begins within ``keep_seconds`` of the newest packet, and the one before them. It is also bounded
in bytes: past ``max_bytes``, the oldest groups go first.

The ring listens to the source (``FrameSource.listen``), on the thread that reads the packets,
while the analysis thread cuts clips from it: a lock guards it. Frames and packets meet through
their presentation time (``Frame.pts``). Other listeners may listen to the same source (the
continuous recording): the ring copies a packet's bytes and leaves the packet as it was.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import av

from gatewatch.models.enums import ClipKind

#: At most this many bytes of packets are kept per source: some 40 s of a 1080p camera at 8 Mbit/s.
MAX_BYTES = 48 * 1024 * 1024
#: The pixel formats of H.264 that browsers play.
PLAYABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})


@dataclass(frozen=True, slots=True)
class StoredPacket:
    """One demuxed video packet: its bytes as the camera sent them and its times in the stream's time base."""

    data: bytes
    pts: int
    dts: int | None
    keyframe: bool
    duration: int = 0  # how long it is shown; an MP4 ends where its last frame's duration does


@dataclass(frozen=True, slots=True)
class CopiedClip:
    """A clip of the source's own packets, in decode order, the first a keyframe shown first."""

    stream: av.VideoStream  # codec parameters of the source, a template for the file's stream
    time_base: Fraction
    packets: tuple[StoredPacket, ...]

    @property
    def first_pts(self) -> int:
        return self.packets[0].pts

    @property
    def last_pts(self) -> int:
        return max(p.pts for p in self.packets)

    def seconds(self, pts: int) -> float:
        """Where ``pts`` lies in the clip, in seconds from its first frame (a video's ``currentTime``)."""
        return float((pts - self.first_pts) * self.time_base)


def clip_kind_of(stream: av.VideoStream | None, mode: str = "auto") -> ClipKind:
    """How a source's clips are made: copied when a browser plays its stream as it is, else encoded.

    A webcam has no stream; H.265, MJPEG and anything but 8-bit 4:2:0 H.264 are encoded.
    ``mode`` is ``evidence.clip_mode``: ``encode`` encodes whatever the source.
    """
    if mode == "encode" or stream is None or stream.codec_context.name != "h264":
        return ClipKind.ENCODED
    pixels = stream.codec_context.pix_fmt
    return ClipKind.COPY if pixels is None or pixels in PLAYABLE_PIXEL_FORMATS else ClipKind.ENCODED


class PacketRing:
    """The packets of the last ``keep_seconds`` or more of one source, whole groups of pictures."""

    def __init__(self, keep_seconds: float, max_bytes: int = MAX_BYTES) -> None:
        self.keep_seconds = keep_seconds
        self.max_bytes = max_bytes
        self._groups: deque[list[StoredPacket]] = deque()  # each begins with a keyframe
        self._bytes = 0
        self._newest: int | None = None  # the highest pts seen
        self._lock = threading.Lock()
        self._holder: av.container.OutputContainer | None = None
        self.stream: av.VideoStream | None = None  # the template, once a packet came
        self.time_base: Fraction | None = None

    def add(self, packet: av.Packet) -> None:
        """A ``PacketListener``: keep ``packet`` (its bytes copied); packets before the first keyframe go."""
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None or (not self._groups and not packet.is_keyframe):
            return
        if self.stream is None:
            self._template(packet)
        stored = StoredPacket(bytes(packet), pts, packet.dts, packet.is_keyframe, packet.duration or 0)
        with self._lock:
            if stored.keyframe and self._newest is not None and pts < self._newest:
                # Time went back (the next file of a recorded period starts at 0 again): what came
                # before cannot be cut by the times that follow.
                self._groups.clear()
                self._bytes, self._newest = 0, None
            if stored.keyframe:
                self._groups.append([stored])
            else:
                self._groups[-1].append(stored)
            self._bytes += len(stored.data)
            self._newest = pts if self._newest is None else max(self._newest, pts)
            self._trim()

    def _template(self, packet: av.Packet) -> None:
        # A stream of an MP4 container never written: a copy of the source's codec parameters that
        # outlives the source, whose file may be closed while its last clips are still being muxed.
        self._holder = av.open(io.BytesIO(), mode="w", format="mp4")
        self.stream = self._holder.add_stream_from_template(packet.stream)
        self.stream.codec_context.extradata = packet.stream.codec_context.extradata
        self.time_base = packet.time_base

    def _trim(self) -> None:
        assert self._newest is not None and self.time_base is not None
        horizon = self._newest - self.keep_seconds / self.time_base
        while len(self._groups) > 1 and (self._groups[1][0].pts <= horizon or self._bytes > self.max_bytes):
            self._bytes -= sum(len(p.data) for p in self._groups.popleft())

    @property
    def oldest_pts(self) -> int | None:
        """The pts of the oldest keyframe kept: no clip can start before it."""
        with self._lock:
            return self._groups[0][0].pts if self._groups else None

    def keyframe_at_or_before(self, pts: int) -> int | None:
        """The pts of the keyframe a clip from ``pts`` starts at: the last at or before it, else the oldest kept."""
        with self._lock:
            return self._start(pts)[0][0].pts if self._groups else None

    def _start(self, pts: int) -> list[list[StoredPacket]]:
        """The groups from the one holding ``pts`` on (all of them when ``pts`` is before the oldest)."""
        groups = list(self._groups)
        for index in range(len(groups) - 1, 0, -1):
            if groups[index][0].pts <= pts:
                return groups[index:]
        return groups

    def cut(self, start: int, end: int) -> CopiedClip | None:
        """The packets, in decode order, from the keyframe at or before ``start`` through the frame shown at ``end``.

        A run of the source's packets as they were decoded: it ends at the first packet after
        which every frame shown up to ``end`` has come and no frame is missing from what the clip
        shows (with B-frames, a P-frame comes before the frames shown before it: the clip may
        end a few frames after ``end``). Packets shown before the keyframe (an open group's
        leading B-frames, which need the group before) are left out. None when no packet came yet.
        """
        with self._lock:
            if not self._groups:
                return None
            packets = [p for group in self._start(start) for p in group]
        assert self.stream is not None and self.time_base is not None
        first = packets[0].pts
        packets = [p for p in packets if p.pts >= first]
        length = 1 + max((i for i, p in enumerate(packets) if p.pts <= end), default=0)
        shown = max(p.pts for p in packets[:length])
        while length < len(packets) and min(p.pts for p in packets[length:]) < shown:
            length += 1
            shown = max(shown, packets[length - 1].pts)
        return CopiedClip(self.stream, self.time_base, tuple(packets[:length]))
