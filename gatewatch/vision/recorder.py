"""Keeps the recent past so every crossing can carry its evidence.

A ring of clip frames covers the clip's seconds before a crossing; each live track keeps a
reference to the frame where it was detected most confidently, for the snapshot. A frame leaves
the ring once it is older than a clip's seconds before a crossing: by then every crossing whose
clip holds it is known, so it goes, once, to the clip encoder with all of those drafts (and is
dropped when no clip holds it). A crossing's snapshot is chosen once the seconds after it have
been seen; the ``EventDraft`` is complete when its last clip frame has left the ring (or the
source ended), a clip's seconds before a crossing later.

Clips keep every n-th frame (``evidence.clip_fps``) as the decoder gave it; a frame is scaled
to the clip size (as YUV 4:2:0, half the bytes of BGR) the first time a clip or the plate
reader asks for it, on the clip encoder's thread (or the writer's). The analysis loop thus
neither scales nor converts a clip frame, and frames that end up in no clip are never scaled.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from gatewatch.settings import EvidenceSettings
from gatewatch.vision.evidence import EncodedClip
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import Box, TrackedObject
from gatewatch.vision.sources import Frame, Picture, Size


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


@dataclass(slots=True)
class EventDraft:
    """A crossing with what its evidence is made of, ready to be stored.

    ``encoded`` is the clip as the clip encoder made it from the frames in ``clip`` (which the
    plate reader reads); None when the recorder had no encoder.
    """

    crossing: Crossing
    fps: float
    clip: list[ClipFrame]
    snapshot: np.ndarray | None = None
    snapshot_box: Box | None = None
    snapshot_frame_index: int | None = None
    encoded: Future[EncodedClip] | None = None
    start_index: int = field(default=0, repr=False)  # the clip's first frame
    due_index: int = field(default=0, repr=False)  # its last (at most)

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


class EvidenceRecorder:
    """Collects clip frames and snapshot candidates around crossings for one source."""

    def __init__(self, settings: EvidenceSettings, fps: float, width: int, height: int,
                 clips: ClipSink | None = None) -> None:
        self._step = max(1, round(fps / settings.clip_fps))  # clips keep every step-th frame
        self.fps = fps / self._step
        self._size = clip_size(width, height, settings.clip_max_width)
        self._scale = self._size[0] / width
        self._pre_frames = math.ceil(settings.pre_seconds * fps)
        self._post_frames = math.ceil(settings.post_seconds * fps)
        self._ring: deque[ClipFrame] = deque()
        self._ring_length = self._pre_frames // self._step + 1
        self._best: dict[int, _Best] = {}
        self._pending: list[EventDraft] = []  # the seconds after the crossing are still to come
        self._closing: list[EventDraft] = []  # snapshot chosen, clip frames still in the ring
        self._last: ClipFrame | None = None
        self._clips = clips

    def add(self, frame: Frame, objects: list[TrackedObject], crossings: list[Crossing], *,
            measured: bool = True) -> list[EventDraft]:
        """Record one frame; returns the drafts that are now complete.

        ``measured`` is False when the objects were predicted, not detected: they are drawn in
        clips but never chosen for a snapshot.
        """
        done = []
        if frame.index % self._step == 0:
            clip_frame = self._clip_frame(frame, objects)
            if self._last is not None:  # frames a live source dropped: hold the last one, keep clip time
                for _ in range((frame.index - self._last.index) // self._step - 1):
                    done += self._push(self._last)
            done += self._push(clip_frame)
            self._last = clip_frame
        if measured:
            self._remember_best(frame, objects)
        for crossing in crossings:
            start = self._ring[0].index if self._ring else frame.index
            self._pending.append(EventDraft(crossing, self.fps, [], start_index=start,
                                            due_index=frame.index + self._post_frames))
        for draft in [d for d in self._pending if d.due_index <= frame.index]:
            self._close(draft)
        return done

    def flush(self) -> list[EventDraft]:
        """The source ended: complete every draft with the frames it has."""
        for draft in list(self._pending):
            self._close(draft)
        done = []
        while self._ring:
            done += self._release(self._ring.popleft())
        for draft in self._closing:
            self._complete(draft)
        done, self._closing = done + self._closing, []
        return done

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
        if self._clips is not None and draft.clip:
            self._clips.finish(draft)

    def _clip_frame(self, frame: Frame, objects: list[TrackedObject]) -> ClipFrame:
        s = self._scale
        boxes = {o.track_id: (o.box[0] * s, o.box[1] * s, o.box[2] * s, o.box[3] * s) for o in objects}
        return ClipFrame(frame.index, ScaledPicture(frame.picture, self._size), boxes)

    def _remember_best(self, frame: Frame, objects: list[TrackedObject]) -> None:
        for obj in objects:
            best = self._best.get(obj.track_id)
            if best is None or obj.confidence > best.confidence:
                self._best[obj.track_id] = _Best(obj.confidence, frame, obj.box, frame.index, frame.index)
            else:
                best.last_seen_index = frame.index
        # A track gone for longer than a clip lasts will not cross now: free its frame.
        horizon = frame.index - self._pre_frames - self._post_frames
        pending_tracks = {d.crossing.track_id for d in self._pending}
        for track_id in [t for t, b in self._best.items() if b.last_seen_index < horizon]:
            if track_id not in pending_tracks:
                del self._best[track_id]

    def _close(self, draft: EventDraft) -> None:
        # The track's best view from before the crossing through the seconds after it; the next
        # pass of the same track starts afresh.
        self._pending.remove(draft)
        self._closing.append(draft)
        best = self._best.pop(draft.crossing.track_id, None)
        if best is not None:
            draft.snapshot, draft.snapshot_box = best.frame.bgr(), best.box
            draft.snapshot_frame_index = best.frame_index
