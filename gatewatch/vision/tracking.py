"""Tracking across frames, including frames that were not analysed.

The trackers are ultralytics' own (ByteTrack or BoT-SORT, chosen in the settings). They advance
their Kalman filters one step per update and count ``track_buffer`` in updates. When frames are
skipped, ``skip`` advances them one step per skipped frame without detections, as ``update``
itself does before associating, so velocities stay in pixels per frame and a lost track is
forgotten after the same number of frames whatever the analysis rate.

People, two-wheelers and cars are tracked apart (``TRACK_GROUPS``), by one tracker each sharing
one sequence of track ids. ByteTrack associates by overlap alone, whatever the class, and a
rider's box lies on the motorcycle's: with one tracker for both, the two tracks swap and break
up at the very moment the motorcycle crosses the line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gatewatch.vision.objects import Box, TrackedObject
from gatewatch.vision.sources import Frame


@dataclass(frozen=True, slots=True)
class TrackMotion:
    """Where a live track is expected in the latest frame and how fast it moves there."""

    box: Box
    velocity: tuple[float, float]  # of the box's bottom centre, pixels per frame
    speed: float  # pixels per frame the box's edges move at most, centre and growth together
    settled: bool  # matched often enough that its velocity can be trusted
    lost: bool  # not matched in the latest analysed frame


#: Classes tracked together; a class in none of them is tracked on its own.
TRACK_GROUPS = (("person",), ("bicycle", "motorcycle"), ("car", "bus", "truck"))


def _group_of(name: str) -> int | str:
    return next((i for i, group in enumerate(TRACK_GROUPS) if name in group), name)


class Tracker:
    """One camera's tracker: ``update`` with detections on analysed frames, ``skip`` on the others."""

    def __init__(self, config: str, names: dict[int, str], warmup: int) -> None:
        """``names``: the class id and name of every class detected; one tracker per group of them."""
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        args = IterableSimpleNamespace(**YAML.load(check_yaml(config)))
        groups = sorted({_group_of(name) for name in names.values()}, key=str)
        self._trackers = {group: TRACKER_MAP[args.tracker_type](args=args) for group in groups}
        ids = iter(range(1, 1 << 62))  # one sequence for all groups, so ids never clash
        for tracker in self._trackers.values():
            tracker._ids = ids
        self._group_ids = {group: [i for i, name in names.items() if _group_of(name) == group] for group in groups}
        self._needs_image = type(self._trackers[groups[0]]) is not BYTETracker  # BoT-SORT compensates camera motion
        self._names = names
        self._warmup = warmup

    def update(self, detections: np.ndarray, frame: Frame) -> list[TrackedObject]:
        """Associate one analysed frame's detections (rows x1 y1 x2 y2 conf class) with the tracks."""
        from ultralytics.engine.results import Boxes

        image = frame.bgr() if self._needs_image else None
        objects = []
        for group, tracker in self._trackers.items():
            mine = detections[np.isin(detections[:, 5], self._group_ids[group])]
            tracks = tracker.update(Boxes(mine, (frame.size[1], frame.size[0])), image)
            objects += [
                TrackedObject(int(t[4]), self._names[int(t[6])], float(t[5]),
                              (float(t[0]), float(t[1]), float(t[2]), float(t[3])))
                for t in tracks
            ]
        return objects

    def skip(self) -> None:
        """A frame passed without analysis: predict every track one frame on."""
        for tracker in self._trackers.values():
            tracker.frame_id += 1
            # The pool ``update`` predicts: confirmed tracks and lost ones (unconfirmed ones never move).
            tracker.multi_predict([t for t in tracker.tracked_stracks if t.is_activated] + _lost(tracker))

    def predicted(self) -> list[TrackedObject]:
        """Confirmed tracks where they are expected now, for drawing on frames that were not analysed."""
        return [
            TrackedObject(t.track_id, self._names[int(t.cls)], float(t.score), tuple(float(v) for v in t.xyxy))
            for tracker in self._trackers.values()
            for t in tracker.tracked_stracks
            if t.is_activated
        ]

    def motions(self) -> list[TrackMotion]:
        """Every live track, confirmed or not, found or lost, for scheduling the next analysis."""
        from ultralytics.trackers.basetrack import TrackState

        motions = []
        live = [t for tracker in self._trackers.values() for t in (*tracker.tracked_stracks, *_lost(tracker))]
        for track in live:
            # Both Kalman filters keep (x, y, ., h) and their rates at 4..7: centre, height.
            vx, vy, vh = (float(v) for v in track.mean[[4, 5, 7]])
            motions.append(
                TrackMotion(
                    box=tuple(float(v) for v in track.xyxy),
                    velocity=(vx, vy + vh / 2.0),
                    speed=float(np.hypot(vx, vy)) + abs(vh),
                    settled=track.is_activated and track.tracklet_len >= self._warmup,
                    lost=track.state == TrackState.Lost,
                )
            )
        return motions


def _lost(tracker) -> list:
    """A tracker's lost tracks: ultralytics leaves one it gave up on there until the next update, marked removed."""
    from ultralytics.trackers.basetrack import TrackState

    return [t for t in tracker.lost_stracks if t.state == TrackState.Lost]
