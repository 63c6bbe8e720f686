"""The largest views of each vehicle track, kept as decoded pictures for the plate reader.

A plate is read where it is largest: in the frames where the vehicle's box is widest. A copied
clip holds no decoded frames to read, and a scaled one makes small plates smaller, so each
vehicle track keeps references to the frames of its few widest measured boxes, at full
resolution, and nothing else: a picture is converted to an image only if it is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewatch.vision.objects import Box, TrackedObject
from gatewatch.vision.sources import Frame


@dataclass(frozen=True, slots=True)
class View:
    frame: Frame
    box: Box

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


class LargestViews:
    """Up to ``per_track`` widest views of each track whose label is in ``labels``."""

    def __init__(self, labels: frozenset[str], per_track: int) -> None:
        self.labels = labels
        self.per_track = per_track
        self._views: dict[int, list[View]] = {}

    def add(self, frame: Frame, objects: list[TrackedObject]) -> None:
        """Offer the measured ``objects`` of ``frame``."""
        for obj in objects:
            if obj.label not in self.labels:
                continue
            views = self._views.setdefault(obj.track_id, [])
            view = View(frame, obj.box)
            if len(views) < self.per_track:
                views.append(view)
            else:
                narrowest = min(range(len(views)), key=lambda i: views[i].width)
                if view.width > views[narrowest].width:
                    views[narrowest] = view

    def pop(self, track_id: int) -> list[View]:
        """The track's views, widest first; the track starts afresh after."""
        return sorted(self._views.pop(track_id, []), key=lambda v: v.width, reverse=True)

    def discard(self, track_id: int) -> None:
        self._views.pop(track_id, None)

    def __len__(self) -> int:
        return sum(len(views) for views in self._views.values())
