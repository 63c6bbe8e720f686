"""The tracker across frames that were not analysed: it predicts them, in frames, not analyses."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from gatewatch.vision.sources import ArrayPicture, Frame
from gatewatch.vision.tracking import Tracker

NAMES = {0: "person"}
FRAME = Frame(0, datetime(2026, 11, 20, tzinfo=UTC), ArrayPicture(np.zeros((1000, 1000, 3), np.uint8)))


def walker(x: float) -> np.ndarray:
    """One confident person detection, an 80 x 200 box with its left edge at ``x``."""
    return np.array([[x, 400.0, x + 80.0, 600.0, 0.9, 0.0]], np.float32)


def test_a_walker_keeps_its_track_across_skipped_frames_and_its_speed_stays_per_frame() -> None:
    tracker = Tracker("bytetrack.yaml", NAMES, warmup=3)
    for index in range(6):
        objects = tracker.update(walker(100.0 + 10.0 * index), FRAME)
    first_id = objects[0].track_id
    for _ in range(5):  # frames 6..10 not analysed
        tracker.skip()
    [motion] = tracker.motions()
    assert motion.settled and not motion.lost
    assert abs(motion.velocity[0] - 10.0) < 2.0  # pixels per frame, not per analysis
    assert abs(motion.box[0] - 200.0) < 10.0  # predicted to frame 10
    # 6 frames after the last detection the walker is 60 px on; the prediction keeps the match.
    [again] = tracker.update(walker(160.0 + 10.0 * 5), FRAME)
    assert again.track_id == first_id


def test_predicted_objects_are_the_confirmed_tracks_where_they_are_expected() -> None:
    tracker = Tracker("bytetrack.yaml", NAMES, warmup=3)
    for index in range(3):
        tracker.update(walker(100.0 + 10.0 * index), FRAME)
    tracker.skip()
    [predicted] = tracker.predicted()
    assert predicted.label == "person"
    assert 120.0 < predicted.box[0] < 135.0  # on from the last detection; its speed is still settling


def test_a_track_unseen_for_longer_than_the_buffer_is_forgotten_counting_skipped_frames() -> None:
    tracker = Tracker("bytetrack.yaml", NAMES, warmup=3)
    for index in range(4):
        tracker.update(walker(100.0 + 10.0 * index), FRAME)
    tracker.update(np.zeros((0, 6), np.float32), FRAME)  # not found: lost
    assert [m.lost for m in tracker.motions()] == [True]
    for _ in range(40):  # bytetrack.yaml keeps lost tracks 30 frames
        tracker.skip()
    tracker.update(np.zeros((0, 6), np.float32), FRAME)
    assert tracker.motions() == []


def test_a_rider_and_the_motorcycle_under_them_keep_their_own_tracks_and_labels() -> None:
    """ByteTrack matches by overlap alone: with one tracker, the rider's box would take over the bike's track."""
    tracker = Tracker("bytetrack.yaml", {0: "person", 3: "motorcycle"}, warmup=3)
    seen: dict[int, set[str]] = {}
    for index in range(12):
        y = 300.0 + 25.0 * index
        bike = [500.0, y + 40.0, 600.0, y + 200.0, 0.8, 3.0]
        rider = [510.0, y, 590.0, y + 150.0, 0.85, 0.0]  # on the upper part of the bike
        # The bike alone at first, then the rider always and the bike in every other frame, as the
        # detector finds them on the street: a lone rider box overlaps the bike's track well enough.
        rows = [bike] if index < 4 else [bike, rider] if index % 2 else [rider]
        for obj in tracker.update(np.array(rows, np.float32), FRAME):
            seen.setdefault(obj.track_id, set()).add(obj.label)
    assert sorted(map(sorted, seen.values())) == [["motorcycle"], ["person"]]
