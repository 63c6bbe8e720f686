"""How many frames may pass before the next detection without changing what the gate counts.

No track may move more than ``step_fraction`` of its box from one analysis to the next, so
that the tracker still recognises it by overlap. While a settled track is in or near the dead
band, analyses are at most ``line_stride`` frames apart: the gate counts on analysed frames
only, so that is how far a crossing's frame may lie from the frame it was made in. A lost track
there is looked for as often (the gate remembers its side meanwhile); a new one is analysed
every frame, to be confirmed before it crosses.
Otherwise the next analysis waits as long as no track can get near the band; never longer than
``max_stride`` frames, so that something new in the region is found soon.
A track whose speed is not known yet (new, or matched fewer than ``track_warmup`` times) is
assumed to move ``new_track_speed`` of its height a frame, towards the line; a new track far
from the line thus waits to be confirmed until it comes closer, which costs nothing: it cannot
cross before.
While the camera is overloaded (``overload.Level.THINNED``), the longest stride is ``overload_max_stride``
instead: tracks far from the line and an empty region are looked at less often, while every
stride near the line stays as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from gatewatch.settings import AnalysisSettings
from gatewatch.vision.gate import GateLine
from gatewatch.vision.tracking import TrackMotion


class Scheduler:
    """Picks the stride to the next analysed frame from the tracks' positions and speeds."""

    def __init__(self, line: GateLine, settings: AnalysisSettings) -> None:
        self.line = line
        self.max_stride = settings.max_stride
        self.overload_max_stride = max(settings.overload_max_stride, settings.max_stride)
        self.line_stride = min(settings.line_stride, settings.max_stride)
        self.step_fraction = settings.step_fraction
        self.new_track_speed = settings.new_track_speed
        self._reach = line.margin_px + settings.near_line * line.height

    def stride(self, tracks: Iterable[TrackMotion], *, thinned: bool = False) -> int:
        """Frames from this analysed frame to the next one: 1 analyses the very next frame.

        ``thinned``: the camera is overloaded, and far from the line the longest stride is longer.
        """
        longest = self.overload_max_stride if thinned else self.max_stride
        stride = longest
        for track in tracks:
            stride = min(stride, self._track_stride(track, longest))
            if stride == 1:
                break
        return stride

    def near_line(self, tracks: Iterable[TrackMotion]) -> bool:
        """Whether any track is in or near the dead band, where every analysed frame may count."""
        return any(abs(self._distance(track)) <= self._reach for track in tracks)

    def _distance(self, track: TrackMotion) -> float:
        """The track's bottom centre's signed distance from the line, in pixels."""
        x1, _, x2, y2 = track.box
        return self.line.signed_distance(((x1 + x2) / 2.0, y2))

    def _track_stride(self, track: TrackMotion, longest_far: int) -> int:
        x1, y1, x2, y2 = track.box
        distance = self._distance(track)
        gap = abs(distance) - self._reach
        new = not (track.settled or track.lost)
        if gap <= 0:
            if new:
                return 1
            frames, longest = math.inf, self.line_stride
        else:
            if new:
                closing = self.new_track_speed * (y2 - y1)
            else:
                closing = -self.line.approach_rate(track.velocity) * math.copysign(1.0, distance)  # > 0: nearing
            frames, longest = (gap / closing if closing > 0 else math.inf), longest_far
        if not track.lost:  # a lost track has no box in the latest frame to keep overlapping
            step = self.step_fraction * min(x2 - x1, y2 - y1)
            frames = min(frames, step / track.speed if track.speed > 0 else math.inf)
        return max(1, math.floor(min(frames, longest)))
