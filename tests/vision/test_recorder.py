"""Evidence around a crossing: clip frames at the clip rate, dropped frames held, measured snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from gatewatch.models.enums import Direction
from gatewatch.settings import EvidenceSettings
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.recorder import EvidenceRecorder
from gatewatch.vision.sources import ArrayPicture, Frame

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SETTINGS = EvidenceSettings(pre_seconds=1.0, post_seconds=1.0, clip_fps=15.0, clip_max_width=320)


def frame(index: int) -> Frame:
    return Frame(index, T0 + timedelta(seconds=index / 30), ArrayPicture(np.full((360, 640, 3), index, np.uint8)))


def person(confidence: float) -> TrackedObject:
    return TrackedObject(7, "person", confidence, (100.0, 100.0, 180.0, 300.0))


def crossing(index: int) -> Crossing:
    return Crossing(7, "person", Direction.ENTRY, index, T0, 0.8, (100.0, 100.0, 180.0, 300.0))


def record(recorder: EvidenceRecorder, indexes: list[int], cross_at: int) -> list:
    drafts = []
    for index in indexes:
        # Frame 40's object was predicted, not detected: never the snapshot, however confident.
        confidence = {12: 0.9, 40: 0.95}.get(index, 0.5)
        drafts += recorder.add(frame(index), [person(confidence)], [crossing(index)] if index == cross_at else [],
                               measured=index != 40)
    return drafts + recorder.flush()


def test_a_clip_keeps_every_other_frame_at_30_fps_scaled_and_boxed() -> None:
    [draft] = record(EvidenceRecorder(SETTINGS, 30.0, 640, 360), list(range(90)), cross_at=45)
    assert draft.fps == 15.0
    assert [c.index for c in draft.clip] == list(range(14, 76, 2))  # one second either side
    first = draft.clip[0]
    assert first.size == (320, 180) and first.image.shape == (180, 320, 3)
    assert first.boxes == {7: (50.0, 50.0, 90.0, 150.0)}
    assert abs(int(first.image[90, 160, 0]) - 14) <= 2  # the picture of frame 14, through YUV and back


def test_the_snapshot_is_the_most_confident_measured_view() -> None:
    recorder = EvidenceRecorder(SETTINGS, 30.0, 640, 360)
    [draft] = record(recorder, list(range(90)), cross_at=45)
    assert draft.snapshot_frame_index == 12
    assert draft.snapshot is not None and draft.snapshot.shape == (360, 640, 3)


def test_frames_a_live_source_dropped_are_held_so_the_clip_keeps_its_length() -> None:
    indexes = [*range(30), *range(40, 90)]  # ten frames lost
    [draft] = record(EvidenceRecorder(SETTINGS, 30.0, 640, 360), indexes, cross_at=45)
    shown = [c.index for c in draft.clip]
    assert len(shown) == len(range(14, 76, 2))
    assert shown.count(28) == 6  # 28 held through 30..38
