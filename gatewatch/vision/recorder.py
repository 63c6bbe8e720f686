"""Keeps the recent past so every crossing can carry its evidence.

A ring of clip frames covers the clip's seconds before a crossing; each live track keeps a
reference to the frame where it was detected most confidently, for the snapshot. A crossing
becomes an ``EventDraft`` once the seconds after it have been seen (or the source ended).

Clips keep every n-th frame (``evidence.clip_fps``) as the decoder gave it; a frame is scaled
to the clip size (as YUV 4:2:0, half the bytes of BGR) the first time a clip or the plate
reader asks for it, on the writer's thread. The analysis loop thus neither scales nor converts
a clip frame, and frames that end up in no clip are never scaled at all.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from gatewatch.settings import EvidenceSettings
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
    pixels: np.ndarray | ScaledPicture  # at the clip's size: BGR (h x w x 3) or planar YUV 4:2:0 ((h * 3 / 2) x w)
    boxes: dict[int, Box]  # track id -> box, in the clip's pixels

    @property
    def size(self) -> Size:
        if isinstance(self.pixels, ScaledPicture):
            return self.pixels.size
        if self.pixels.ndim == 3:
            return (self.pixels.shape[1], self.pixels.shape[0])
        return (self.pixels.shape[1], self.pixels.shape[0] * 2 // 3)

    @property
    def i420(self) -> np.ndarray:
        """Planar YUV 4:2:0."""
        if isinstance(self.pixels, ScaledPicture):
            return self.pixels.i420()
        return self.pixels if self.pixels.ndim == 2 else cv2.cvtColor(self.pixels, cv2.COLOR_BGR2YUV_I420)

    @property
    def image(self) -> np.ndarray:
        """BGR; converted from YUV on every access."""
        if isinstance(self.pixels, np.ndarray) and self.pixels.ndim == 3:
            return self.pixels
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
    """A crossing with what its evidence is made of, ready to be encoded and stored."""

    crossing: Crossing
    fps: float
    clip: list[ClipFrame]
    snapshot: np.ndarray | None = None
    snapshot_box: Box | None = None
    snapshot_frame_index: int | None = None
    due_index: int = field(default=0, repr=False)


def clip_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Scaled size for clips: at most ``max_width`` wide, even sides as H.264 (yuv420p) needs."""
    scale = min(1.0, max_width / width)
    return (max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2))


class EvidenceRecorder:
    """Collects clip frames and snapshot candidates around crossings for one source."""

    def __init__(self, settings: EvidenceSettings, fps: float, width: int, height: int) -> None:
        self._step = max(1, round(fps / settings.clip_fps))  # clips keep every step-th frame
        self.fps = fps / self._step
        self._size = clip_size(width, height, settings.clip_max_width)
        self._scale = self._size[0] / width
        self._pre_frames = math.ceil(settings.pre_seconds * fps)
        self._post_frames = math.ceil(settings.post_seconds * fps)
        self._ring: deque[ClipFrame] = deque(maxlen=self._pre_frames // self._step + 1)
        self._best: dict[int, _Best] = {}
        self._pending: list[EventDraft] = []
        self._last: ClipFrame | None = None

    def add(self, frame: Frame, objects: list[TrackedObject], crossings: list[Crossing], *,
            measured: bool = True) -> list[EventDraft]:
        """Record one frame; returns the drafts whose clips are now complete.

        ``measured`` is False when the objects were predicted, not detected: they are drawn in
        clips but never chosen for a snapshot.
        """
        if frame.index % self._step == 0:
            clip_frame = self._scaled(frame, objects)
            if self._last is not None:  # frames a live source dropped: hold the last one, keep clip time
                for _ in range((frame.index - self._last.index) // self._step - 1):
                    self._append(self._last)
            self._append(clip_frame)
            self._last = clip_frame
        if measured:
            self._remember_best(frame, objects)
        for crossing in crossings:
            self._pending.append(
                EventDraft(crossing, self.fps, list(self._ring), due_index=frame.index + self._post_frames)
            )
        due = [d for d in self._pending if d.due_index <= frame.index]
        self._pending = [d for d in self._pending if d.due_index > frame.index]
        return [self._finish(d) for d in due]

    def _append(self, clip_frame: ClipFrame) -> None:
        self._ring.append(clip_frame)
        for draft in self._pending:
            draft.clip.append(clip_frame)

    def flush(self) -> list[EventDraft]:
        """The source ended: finish every pending draft with the frames it has."""
        drafts, self._pending = self._pending, []
        return [self._finish(d) for d in drafts]

    def _scaled(self, frame: Frame, objects: list[TrackedObject]) -> ClipFrame:
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

    def _finish(self, draft: EventDraft) -> EventDraft:
        # The track's best view from before the crossing through the seconds after it; the next
        # pass of the same track starts afresh.
        best = self._best.pop(draft.crossing.track_id, None)
        if best is not None:
            draft.snapshot, draft.snapshot_box = best.frame.bgr(), best.box
            draft.snapshot_frame_index = best.frame_index
        return draft
