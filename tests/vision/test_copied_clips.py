"""Copied clips: an event's clip is the camera's own packets, byte for byte, over the clip's range.

The real footage is decoded and its packets kept as the pipeline keeps them (``PacketRing``
listening to the source); crossings are set at chosen frames with a box that moves with the
frame, so the boxes over the clip tell which frame they belong to. No detector: this is about
the packets, the times and the boxes, on the three footage files (two with B-frames).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import pytest

from gatewatch.models.enums import ClipKind, Direction
from gatewatch.settings import EvidenceSettings
from gatewatch.vision.evidence import clip_mp4
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.packets import PacketRing, clip_kind_of
from gatewatch.vision.recorder import EventDraft, EvidenceRecorder
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MOTORCYCLES, STREET

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SETTINGS = EvidenceSettings(pre_seconds=2.0, post_seconds=2.0)


@dataclass(frozen=True)
class Packet:
    data: bytes
    pts: int
    dts: int
    keyframe: bool


def demuxed(path: Path | bytes) -> tuple[list[Packet], Fraction]:
    """The video packets of a file (or MP4 bytes), in decode order, and their time base."""
    with av.open(io.BytesIO(path) if isinstance(path, bytes) else str(path)) as container:
        stream = container.streams.video[0]
        packets = [Packet(bytes(p), p.pts, p.dts, p.is_keyframe) for p in container.demux(stream) if p.size]
        return packets, stream.time_base


def box_of(index: int) -> tuple[float, float, float, float]:
    """A box that says which frame it was seen in: its left edge is the frame index."""
    return (float(index), 10.0, index + 50.0, 200.0)


def record(video: Path, crossing_frames: list[int]) -> tuple[list[EventDraft], dict[int, int]]:
    """Drafts for track 7 crossing at ``crossing_frames``, clips copied; and each frame's pts -> index."""
    source = FileSource(video, T0, threads=1)
    ring = PacketRing(SETTINGS.pre_seconds + SETTINGS.post_seconds + 2.0)
    source.listen(ring.add)
    drafts: list[EventDraft] = []
    indexes: dict[int, int] = {}
    try:
        recorder = None
        for frame in source.frames():
            recorder = recorder or EvidenceRecorder(SETTINGS, source.fps, *frame.size, packets=ring)
            indexes[frame.pts] = frame.index
            crossings = [Crossing(7, "person", Direction.ENTRY, frame.index, frame.time, 0.8, box_of(frame.index))
                         ] if frame.index in crossing_frames else []
            drafts += recorder.add(frame, [TrackedObject(7, "person", 0.8, box_of(frame.index)),
                                           TrackedObject(8, "car", 0.7, (1.0, 2.0, 3.0, 4.0))], crossings)
        drafts += recorder.flush()
    finally:
        source.close()
    return drafts, indexes


@pytest.mark.parametrize("video", [STREET, HIGHWAY, MOTORCYCLES], ids=["street", "highway", "motorcycles"])
def test_a_clip_is_the_sources_packets_byte_for_byte_from_a_keyframe_before_the_pre_roll(video: Path) -> None:
    source, time_base = demuxed(video)
    ticks = round(1 / time_base)
    frames = len(source)
    # One crossing early (its pre-roll before the first keyframe but one), one late in the file.
    drafts, indexes = record(video, [frames // 3, 2 * frames // 3])
    assert len(drafts) == 2
    keyframes = [p.pts for p in source if p.keyframe]
    assert len(keyframes) >= 2
    starts = set()
    for draft in drafts:
        assert draft.copied is not None and draft.timeline is not None and draft.timeline.kind is ClipKind.COPY
        crossing_pts = next(pts for pts, index in indexes.items() if index == draft.crossing.frame_index)
        pre_roll, end = crossing_pts - 2 * ticks, crossing_pts + 2 * ticks
        clip, clip_base = demuxed(clip_mp4(draft.copied))
        assert clip_base == time_base
        # It starts at the last keyframe at or before the pre-roll point (or the file's first).
        first = max([k for k in keyframes if k <= pre_roll] or [keyframes[0]])
        starts.add(first)
        at = next(i for i, p in enumerate(source) if p.pts == first and p.keyframe)
        assert clip[0].keyframe
        # Byte-identical, in decode order, with the same offsets between pts and dts.
        assert [p.data for p in clip] == [p.data for p in source[at:at + len(clip)]]
        assert {(s.pts - c.pts, s.dts - c.dts) for s, c in zip(source[at:], clip, strict=False)} == {(first, first)}
        # Every frame shown from the keyframe until the seconds after the crossing is in it, and no
        # frame is missing between (with B-frames, it may end a few frames after them).
        shown = {p.pts + first for p in clip}
        assert {p.pts for p in source if first <= p.pts <= end} <= shown
        assert shown == {p.pts for p in source if first <= p.pts <= max(shown)}
        assert max(shown) - end < 5 * ticks / 30
        # It plays from 0: the first frame is the keyframe, at 0 s, and every packet decodes.
        with av.open(io.BytesIO(clip_mp4(draft.copied))) as container:
            times = [f.time for f in container.decode(video=0)]
        assert times[0] == 0.0 and len(times) == len(clip)
        # The page starts playback at the pre-roll point, and knows where the crossing is.
        assert draft.timeline.start_seconds == pytest.approx(max(0.0, float((pre_roll - first) * time_base)))
        assert draft.timeline.crossing_seconds == pytest.approx(float((crossing_pts - first) * time_base))
        # Every frame of the clip's range has the track's box, at the frame's own time in the clip.
        timeline = {round(t, 6): boxes for t, boxes in draft.timeline.frames}
        expected = sorted(pts for pts in indexes if first <= pts <= max(shown))
        assert sorted(timeline) == [round(float((pts - first) * time_base), 6) for pts in expected]
        assert set(timeline) <= {round(t, 6) for t in times}
        for pts in expected:
            boxes = timeline[round(float((pts - first) * time_base), 6)]
            assert [(b.track_id, b.box) for b in boxes.boxes] == [(7, box_of(indexes[pts])), (8, (1.0, 2.0, 3.0, 4.0))]
    assert len(starts) == 2 or len(keyframes) == 2  # the two clips start at keyframes of their own


def test_clip_kind_follows_what_a_browser_plays(tmp_path: Path) -> None:
    h264 = FileSource(MOTORCYCLES)
    try:
        assert clip_kind_of(h264.stream) is ClipKind.COPY
        assert clip_kind_of(h264.stream, "encode") is ClipKind.ENCODED
    finally:
        h264.close()
    assert clip_kind_of(None) is ClipKind.ENCODED  # a webcam: no packets
    path = tmp_path / "mjpeg.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame(64, 48, "yuvj420p")):
                out.mux(packet)
        out.mux(stream.encode(None))
    mjpeg = FileSource(path)
    try:
        assert clip_kind_of(mjpeg.stream) is ClipKind.ENCODED
    finally:
        mjpeg.close()


@pytest.mark.parametrize("keep_seconds", [1.0, 2.5, 4.0])
def test_the_ring_keeps_whole_groups_back_to_keep_seconds_and_no_more(keep_seconds: float) -> None:
    ring = PacketRing(keep_seconds)
    with av.open(str(HIGHWAY)) as container:  # a keyframe every 3 s
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size:
                ring.add(packet)
        time_base = stream.time_base
    packets, _ = demuxed(HIGHWAY)
    keyframes = [p.pts for p in packets if p.keyframe]
    horizon = max(p.pts for p in packets) - keep_seconds / time_base
    # The oldest keyframe kept is the last one at or before the horizon: a clip reaching back
    # keep_seconds starts at it, and nothing older is kept.
    assert ring.oldest_pts == max(k for k in keyframes if k <= horizon)
    clip = ring.cut(0, max(p.pts for p in packets))
    assert clip is not None and clip.packets[0].pts == ring.oldest_pts
    assert [p.data for p in clip.packets] == [p.data for p in packets if p.pts >= ring.oldest_pts]


def test_the_ring_is_bounded_in_bytes_keeping_the_newest_group() -> None:
    ring = PacketRing(60.0, max_bytes=200_000)
    with av.open(str(HIGHWAY)) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                ring.add(packet)
    packets, _ = demuxed(HIGHWAY)
    clip = ring.cut(0, max(p.pts for p in packets))
    assert clip is not None and clip.packets[0].keyframe
    kept = sum(len(p.data) for p in clip.packets)
    newest_group = next(i for i in range(len(packets) - 1, -1, -1) if packets[i].keyframe)
    assert kept <= 200_000 or clip.packets[0].pts == packets[newest_group].pts
    assert clip.packets[-1].data == packets[-1].data


def test_the_ring_starts_afresh_when_time_goes_back() -> None:
    """The next file of a recorded period starts at 0 again: its clips hold none of the file before."""
    ring = PacketRing(60.0)
    for _ in range(2):
        with av.open(str(MOTORCYCLES)) as container:
            for packet in container.demux(container.streams.video[0]):
                if packet.size:
                    ring.add(packet)
    packets, _ = demuxed(MOTORCYCLES)
    clip = ring.cut(0, max(p.pts for p in packets))
    assert clip is not None and [p.data for p in clip.packets] == [p.data for p in packets]
