"""The tracked boxes over an event's clip, as JSON the event page draws over the playing video.

A copied clip carries no drawing: the page draws each frame's boxes and the gate line on a
canvas kept in step with the frame shown. Times are seconds from the clip's first frame, which
is the video's ``currentTime``; boxes are in the source's pixels (``frame_size``) and the gate in
fractions of the picture, as the crossing was counted against it (``margin``, the dead band's
half-width in fractions of the height, since gate lines can be moved on the page). An encoded clip gets the same file.

The format, version 1::

    {"version": 1, "camera_id": str, "event_track_id": int, "frame_size": [w, h],
     "clip_kind": "copy" | "encoded", "clip_start_seconds": float, "crossing_seconds": float,
     "gate": {"line": [[x1, y1], [x2, y2]], "inside": [x, y], "margin": float},
     "frames": [{"t": float, "boxes": [{"track_id": int, "label": str, "box": [x1, y1, x2, y2]}]}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gatewatch.models.enums import ClipKind
from gatewatch.settings import GateSettings
from gatewatch.vision.objects import Box, TrackedObject

VERSION = 1


@dataclass(frozen=True, slots=True)
class TrackBox:
    track_id: int
    label: str
    box: Box  # in the source's pixels


@dataclass(frozen=True, slots=True)
class FrameBoxes:
    """The boxes of every track in one analysed frame."""

    index: int
    pts: int | None
    boxes: tuple[TrackBox, ...]

    def has(self, track_id: int) -> bool:
        return any(b.track_id == track_id for b in self.boxes)


def frame_boxes(index: int, pts: int | None, objects: list[TrackedObject]) -> FrameBoxes:
    return FrameBoxes(index, pts, tuple(TrackBox(o.track_id, o.label, o.box) for o in objects))


@dataclass(frozen=True, slots=True)
class ClipTimeline:
    """Where a clip's frames and its moments lie, in seconds from the clip's first frame."""

    kind: ClipKind
    start_seconds: float  # the pre-roll point, where playback starts
    crossing_seconds: float
    frames: tuple[tuple[float, FrameBoxes], ...]


def boxes_json(timeline: ClipTimeline, *, camera_id: str, track_id: int, frame_size: tuple[int, int],
               gate: GateSettings) -> bytes:
    """The boxes file of one event (format above), as UTF-8 bytes."""
    document = {
        "version": VERSION,
        "camera_id": camera_id,
        "event_track_id": track_id,
        "frame_size": list(frame_size),
        "clip_kind": timeline.kind.value,
        "clip_start_seconds": round(timeline.start_seconds, 4),
        "crossing_seconds": round(timeline.crossing_seconds, 4),
        "gate": gate.placement(),
        "frames": [
            {"t": round(t, 4),
             "boxes": [{"track_id": b.track_id, "label": b.label, "box": [round(v, 1) for v in b.box]}
                       for b in frame.boxes]}
            for t, frame in timeline.frames
        ],
    }
    return json.dumps(document, separators=(",", ":")).encode()
