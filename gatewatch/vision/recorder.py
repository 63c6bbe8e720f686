"""Keeps the recent past so every crossing can carry its evidence.

Each live track keeps a reference to the frame where it was detected most confidently, for the
snapshot, and a vehicle track its few widest views, for the plate reader (``views``); every
analysed frame's boxes are kept too, for the boxes file the event page draws (``boxes``).

A clip is made one of two ways. Copied (``packets`` given): the clip is the source's own
packets from the keyframe at or before the pre-roll point until the seconds after the crossing,
cut from the source's ``PacketRing`` once those seconds have been analysed; the draft is then
complete, with the boxes of every analysed frame of that range. Encoded (a ``ClipSink`` given,
for a source a browser cannot play): a ring of clip frames covers the clip's seconds before a
crossing. A frame leaves the ring once it is older than that: by then every crossing whose
clip holds it is known, so it goes, once, to the clip encoder with all of those drafts (and is
dropped when no clip holds it). A crossing's snapshot is chosen once the seconds after it have
been seen; the ``EventDraft`` is complete when its last clip frame has left the ring (or the
source ended), a clip's seconds before a crossing later.

Encoded clips keep every n-th frame (``evidence.clip_fps``) as the decoder gave it; a frame is
scaled to the clip size (as YUV 4:2:0, half the bytes of BGR) the first time the clip encoder
asks for it, on the encoder's thread. The analysis loop thus neither scales nor converts a clip
frame, and frames that end up in no clip are never scaled.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from gatewatch.models.enums import ClipKind
from gatewatch.settings import EvidenceSettings
from gatewatch.vision.boxes import ClipTimeline, FrameBoxes, frame_boxes
from gatewatch.vision.evidence import EncodedClip, encoded_rate
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import Box, TrackedObject
from gatewatch.vision.packets import CopiedClip, PacketRing
from gatewatch.vision.paired import MainPicture
from gatewatch.vision.sources import Frame, Picture, Size
from gatewatch.vision.views import LargestViews, View

#: Frames of boxes kept for copied clips at most, whatever the packet ring keeps: 2 min at 30 fps.
MAX_HISTORY = 3600


class ScaledPicture:
    """A decoded picture at another size, scaled on first use; the full-size one is let go then."""

    __slots__ = ("_picture", "_scaled", "size")

    def __init__(self, picture: Picture, size: Size) -> None:
        self._picture: Picture | None = picture
        self._scaled: np.ndarray | None = None
        self.size = size

    def i420(self) -> np.ndarray:
        if self._scaled is None:
            assert self._picture is not None
            self._scaled, self._picture = self._picture.i420(self.size), None
        return self._scaled


@dataclass(frozen=True, slots=True)
class ClipFrame:
    index: int
    picture: ScaledPicture  # the frame at the clip's size, scaled when first asked for
    boxes: dict[int, Box]  # track id -> box, in the clip's pixels
    seen: FrameBoxes | None = None  # every track's box, in the source's pixels

    @property
    def size(self) -> Size:
        return self.picture.size

    @property
    def i420(self) -> np.ndarray:
        """Planar YUV 4:2:0 ((h * 3 / 2) x w)."""
        return self.picture.i420()

    @property
    def image(self) -> np.ndarray:
        """BGR; converted from YUV on every access."""
        return cv2.cvtColor(self.i420, cv2.COLOR_YUV2BGR_I420)


@dataclass(slots=True)
class _Best:
    confidence: float
    frame: Frame
    box: Box
    frame_index: int
    last_seen_index: int


@dataclass(frozen=True, slots=True)
class _CopyPlan:
    """A copied clip's moments, in the stream's time base."""

    crossing: int
    pre_roll: int
    end: int


@dataclass(slots=True)
class EventDraft:
    """A crossing with what its evidence is made of, ready to be stored.

    ``copied`` is the clip as the source's own packets; ``encoded`` the clip as the clip encoder
    made it from the frames in ``clip``; both None when the recorder had neither. ``timeline``
    places the boxes of the clip's frames in it; ``views`` are the track's widest views, for
    its plate.
    """

    crossing: Crossing
    fps: float
    clip: list[ClipFrame]
    snapshot: np.ndarray | None = None
    snapshot_box: Box | None = None
    snapshot_frame_index: int | None = None
    encoded: Future[EncodedClip] | None = None
    copied: CopiedClip | None = None
    timeline: ClipTimeline | None = None
    views: list[View] = field(default_factory=list)
    frame_size: Size | None = None  # of the analysed frames, which the boxes are in
    snapshot_picture: Picture | None = None  # a snapshot still to be decoded (a detect stream's main frame)
    start_index: int = field(default=0, repr=False)  # the clip's first frame
    due_index: int = field(default=0, repr=False)  # its last (at most)
    seen: list[FrameBoxes] = field(default_factory=list, repr=False)  # a copied clip's frames so far
    plan: _CopyPlan | None = field(default=None, repr=False)

    def snapshot_image(self) -> np.ndarray | None:
        """The snapshot's image, decoded now if it was left for later (off the analysis thread)."""
        if self.snapshot is None and self.snapshot_picture is not None:
            self.snapshot, self.snapshot_picture = self.snapshot_picture.bgr(), None
        return self.snapshot

    @property
    def caption(self) -> str:
        """What the track's box is labelled with in the snapshot and the clip."""
        return f"{self.crossing.label} #{self.crossing.track_id} {self.crossing.direction.value}"


class ClipSink(Protocol):
    """Where clip frames go once every draft whose clip holds them is known (``clips.ClipEncoder``)."""

    def encode(self, frame: ClipFrame, drafts: list[EventDraft]) -> None:
        """``frame`` belongs to the clips of ``drafts``; frames come in order."""
        ...

    def finish(self, draft: EventDraft) -> None:
        """Every frame of ``draft``'s clip has been given."""
        ...


def clip_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Scaled size for clips: at most ``max_width`` wide, even sides as H.264 (yuv420p) needs."""
    scale = min(1.0, max_width / width)
    return (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))


def _pin_main_frames(draft: EventDraft) -> None:
    """A detect stream's camera: keep the main-stream packets the draft's snapshot and views decode from."""
    pictures = [p for p in (draft.snapshot_picture, *(v.frame.picture for v in draft.views))
                if isinstance(p, MainPicture)]
    if pictures:
        pictures[0].source.pin(pictures)


class EvidenceRecorder:
    """Collects the evidence around crossings for one source: copied (``packets``) or encoded (``clips``) clips."""

    def __init__(self, settings: EvidenceSettings, fps: float, width: int, height: int,
                 clips: ClipSink | None = None, *, packets: PacketRing | None = None,
                 views: LargestViews | None = None) -> None:
        self._step = max(1, round(fps / settings.clip_fps))  # encoded clips keep every step-th frame
        self.fps = fps / self._step
        self._frame_size = (width, height)
        self._size = clip_size(width, height, settings.clip_max_width)
        self._scale = self._size[0] / width
        self._pre_seconds, self._post_seconds = settings.pre_seconds, settings.post_seconds
        self._pre_frames = math.ceil(settings.pre_seconds * fps)
        self._post_frames = math.ceil(settings.post_seconds * fps)
        self._ring: deque[ClipFrame] = deque()
        self._ring_length = self._pre_frames // self._step + 1
        self._history: deque[FrameBoxes] = deque(maxlen=MAX_HISTORY)  # copied clips: boxes of recent frames
        self._best: dict[int, _Best] = {}
        self._pending: list[EventDraft] = []  # the seconds after the crossing are still to come
        self._closing: list[EventDraft] = []  # snapshot chosen; clip frames still in the ring (encoded)
        # or the last frames a copied clip shows still to be analysed
        self._last: ClipFrame | None = None
        self._clips = clips
        self._packets = packets
        self._views = views

    def add(self, frame: Frame, objects: list[TrackedObject], crossings: list[Crossing], *,
            measured: bool = True) -> list[EventDraft]:
        """Record one frame; returns the drafts that are now complete.

        ``measured`` is False when the objects were predicted, not detected: they are drawn in
        clips but never chosen for a snapshot or a plate.
        """
        done = []
        boxes = frame_boxes(frame.index, frame.pts, objects)
        if self._packets is not None:
            self._remember_boxes(boxes)
            for draft in (*self._pending, *self._closing):
                draft.seen.append(boxes)
            done += self._copies_shown(frame.pts)
        elif frame.index % self._step == 0:
            clip_frame = self._clip_frame(frame, objects, boxes)
            if self._last is not None:  # frames a live source dropped: hold the last one, keep clip time
                for _ in range((frame.index - self._last.index) // self._step - 1):
                    done += self._push(self._last)
            done += self._push(clip_frame)
            self._last = clip_frame
        if measured:
            self._remember_best(frame, objects)
            if self._views is not None:
                self._views.add(frame, objects)
        for crossing in crossings:
            start = self._ring[0].index if self._ring else frame.index
            draft = EventDraft(crossing, self.fps, [], frame_size=self._frame_size, start_index=start,
                               due_index=frame.index + self._post_frames)
            if self._packets is not None:
                self._plan_copy(draft, frame)
            self._pending.append(draft)
        for draft in [d for d in self._pending if d.due_index <= frame.index]:
            done += self._close(draft, frame.pts)
        return done

    def flush(self) -> list[EventDraft]:
        """The source ended: complete every draft with the frames it has."""
        done = []
        for draft in list(self._pending):
            done += self._close(draft, None)
        while self._ring:
            done += self._release(self._ring.popleft())
        for draft in self._closing:
            self._complete(draft)
        done, self._closing = done + self._closing, []
        return done

    def _remember_boxes(self, boxes: FrameBoxes) -> None:
        """Keep ``boxes`` while a copied clip may still start before them: as long as the ring keeps packets."""
        assert self._packets is not None
        if boxes.pts is None:
            return
        if self._history and boxes.pts < self._history[-1].pts:  # type: ignore[operator]
            self._history.clear()  # time went back (the packet ring starts afresh too)
        self._history.append(boxes)
        oldest = self._packets.oldest_pts
        while oldest is not None and self._history and self._history[0].pts < oldest:  # type: ignore[operator]
            self._history.popleft()

    def _plan_copy(self, draft: EventDraft, frame: Frame) -> None:
        """Where ``draft``'s copied clip lies; the boxes from its first keyframe to the crossing."""
        assert self._packets is not None
        time_base = self._packets.time_base
        if frame.pts is None or time_base is None:
            return  # a frame with no time has no packets to find: no clip
        pre_roll = frame.pts - round(self._pre_seconds / time_base)
        draft.plan = _CopyPlan(frame.pts, pre_roll, frame.pts + round(self._post_seconds / time_base))
        first = self._packets.keyframe_at_or_before(pre_roll)
        draft.seen = [b for b in self._history if first is not None and b.pts >= first]  # type: ignore[operator]

    def _copy(self, draft: EventDraft) -> None:
        """Cut ``draft``'s clip from the packets; its boxes are placed once its last frame is analysed."""
        assert self._packets is not None
        if draft.plan is not None:
            draft.copied = self._packets.cut(draft.plan.pre_roll, draft.plan.end)

    def _copies_shown(self, pts: int | None) -> list[EventDraft]:
        """The copied clips whose frames have all been analysed once the frame at ``pts`` has: complete."""
        done = [d for d in self._closing if pts is not None and (d.copied is None or d.copied.last_pts <= pts)]
        for draft in done:
            self._closing.remove(draft)
            self._complete(draft)
        return done

    def _place_boxes(self, draft: EventDraft) -> None:
        """Place the boxes of a copied clip's frames in it, in seconds from its first frame."""
        clip, plan = draft.copied, draft.plan
        if clip is None or plan is None:
            return
        frames = tuple((clip.seconds(b.pts), b) for b in draft.seen  # type: ignore[arg-type]
                       if clip.first_pts <= b.pts <= clip.last_pts)  # type: ignore[operator]
        draft.timeline = ClipTimeline(ClipKind.COPY, max(0.0, clip.seconds(plan.pre_roll)),
                                      clip.seconds(plan.crossing), frames)
        draft.seen = []

    def _push(self, clip_frame: ClipFrame) -> list[EventDraft]:
        self._ring.append(clip_frame)
        return self._release(self._ring.popleft()) if len(self._ring) > self._ring_length else []

    def _release(self, clip_frame: ClipFrame) -> list[EventDraft]:
        """``clip_frame`` leaves the ring: to the clips that hold it; returns the drafts it completes."""
        done = [d for d in self._closing if clip_frame.index > d.due_index]
        for draft in done:
            self._closing.remove(draft)
            self._complete(draft)
        holders = [d for d in (*self._closing, *self._pending) if d.start_index <= clip_frame.index <= d.due_index]
        for draft in holders:
            draft.clip.append(clip_frame)
        if holders and self._clips is not None:
            self._clips.encode(clip_frame, holders)
        return done

    def _complete(self, draft: EventDraft) -> None:
        """A clip's frames are all given (encoded) or analysed (copied): place their boxes in it."""
        if self._packets is not None:
            self._place_boxes(draft)
            return
        if not draft.clip:
            return
        if self._clips is not None:
            self._clips.finish(draft)
        rate = encoded_rate(draft.fps)
        crossing = next((i for i, c in enumerate(draft.clip) if c.index >= draft.crossing.frame_index),
                        len(draft.clip) - 1)
        frames = tuple((i / rate, c.seen or FrameBoxes(c.index, None, ())) for i, c in enumerate(draft.clip))
        draft.timeline = ClipTimeline(ClipKind.ENCODED, 0.0, crossing / rate, frames)

    def _clip_frame(self, frame: Frame, objects: list[TrackedObject], seen: FrameBoxes) -> ClipFrame:
        s = self._scale
        boxes = {o.track_id: (o.box[0] * s, o.box[1] * s, o.box[2] * s, o.box[3] * s) for o in objects}
        return ClipFrame(frame.index, ScaledPicture(frame.picture, self._size), boxes, seen)

    def _remember_best(self, frame: Frame, objects: list[TrackedObject]) -> None:
        for obj in objects:
            best = self._best.get(obj.track_id)
            if best is None or obj.confidence > best.confidence:
                self._best[obj.track_id] = _Best(obj.confidence, frame, obj.box, frame.index, frame.index)
            else:
                best.last_seen_index = frame.index
        # A track gone for longer than a clip lasts will not cross now: free its frames.
        horizon = frame.index - self._pre_frames - self._post_frames
        pending_tracks = {d.crossing.track_id for d in self._pending}
        for track_id in [t for t, b in self._best.items() if b.last_seen_index < horizon]:
            if track_id not in pending_tracks:
                del self._best[track_id]
                if self._views is not None:
                    self._views.discard(track_id)

    def _close(self, draft: EventDraft, pts: int | None) -> list[EventDraft]:
        """The seconds after ``draft``'s crossing are seen, through the frame at ``pts`` (None: the source ended).

        Returns ``draft`` if that completes it: a copied clip whose frames have all been analysed.
        """
        # The track's best view from before the crossing through the seconds after it; the next
        # pass of the same track starts afresh.
        self._pending.remove(draft)
        best = self._best.pop(draft.crossing.track_id, None)
        if best is not None:
            if isinstance(best.frame.picture, MainPicture):  # decoded by the event writer, not here
                draft.snapshot_picture = best.frame.picture
            else:
                draft.snapshot = best.frame.bgr()
            draft.snapshot_box, draft.snapshot_frame_index = best.box, best.frame_index
        if self._views is not None:
            draft.views = self._views.pop(draft.crossing.track_id)
        _pin_main_frames(draft)
        self._closing.append(draft)
        if self._packets is None:
            return []
        self._copy(draft)
        return self._copies_shown(pts) if pts is not None else []
