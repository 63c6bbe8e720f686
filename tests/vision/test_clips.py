"""Overlapping clips encoded once: every event still gets a whole clip of its own that plays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from gatewatch.models.enums import Direction
from gatewatch.settings import EvidenceSettings
from gatewatch.vision.clips import ClipEncoder
from gatewatch.vision.evidence import BOX_COLOUR, clip_mp4
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.recorder import ClipFrame, EventDraft, EvidenceRecorder, ScaledPicture
from gatewatch.vision.sources import ArrayPicture, Frame

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SETTINGS = EvidenceSettings(pre_seconds=1.0, post_seconds=1.0, clip_fps=15.0, clip_max_width=320)
BOXES = {7: (100.0, 100.0, 180.0, 300.0), 8: (400.0, 120.0, 480.0, 320.0)}  # frame pixels (640 x 360)


def clip_frame(index: int, image: np.ndarray, boxes: dict[int, tuple[float, float, float, float]]) -> ClipFrame:
    """A clip frame showing ``image`` (BGR, already at the clip's size), as the recorder keeps it."""
    return ClipFrame(index, ScaledPicture(ArrayPicture(image), (image.shape[1], image.shape[0])), boxes)


def encoded(draft: EventDraft) -> EventDraft:
    """``draft`` with its clip frames encoded as the pipeline's clip encoder encodes them."""
    encoder = ClipEncoder(EvidenceSettings())
    for clip_frame in draft.clip:
        encoder.encode(clip_frame, [draft])
    encoder.finish(draft)
    encoder.close()
    return draft


def frame(index: int) -> Frame:
    return Frame(index, T0 + timedelta(seconds=index / 30), ArrayPicture(np.full((360, 640, 3), 80, np.uint8)))


def crossing(track_id: int, index: int) -> Crossing:
    return Crossing(track_id, "person", Direction.ENTRY, index, T0, 0.8, BOXES[track_id])


def record(crossings: dict[int, int], frames: int, encoder: ClipEncoder | None) -> list[EventDraft]:
    """Frames 0..frames-1 with both people in view; ``crossings``: frame index -> track id."""
    recorder = EvidenceRecorder(SETTINGS, 30.0, 640, 360, clips=encoder)
    people = [TrackedObject(t, "person", 0.8, box) for t, box in BOXES.items()]
    drafts = []
    for index in range(frames):
        at = [crossing(crossings[index], index)] if index in crossings else []
        drafts += recorder.add(frame(index), people, at)
    drafts += recorder.flush()
    if encoder is not None:
        encoder.close()
    return drafts


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return [f.to_ndarray(format="bgr24") for f in container.decode(stream)]


def amber(image: np.ndarray, box: tuple[float, ...]) -> bool:
    """Whether the left edge of ``box`` (in clip pixels, half the frame's) is drawn."""
    x, y = round(box[0] / 2), round((box[1] + box[3]) / 4)
    return bool(np.abs(image[y, x].astype(int) - BOX_COLOUR).max() <= 60)


def test_overlapping_clips_each_play_whole_with_their_own_track_boxed(tmp_path: Path) -> None:
    # Two people cross 10 frames apart; their clips (1 s either side) share most frames.
    drafts = record({45: 7, 55: 8}, 120, ClipEncoder(SETTINGS))
    assert [d.crossing.track_id for d in drafts] == [7, 8]
    unshared = record({45: 7, 55: 8}, 120, None)  # the same clips, frame by frame
    for draft, alone in zip(drafts, unshared, strict=True):
        assert [c.index for c in draft.clip] == [c.index for c in alone.clip]
        assert draft.clip[0].index == draft.crossing.frame_index - 31 and draft.clip[-1].index <= draft.due_index
        path = tmp_path / f"{draft.crossing.track_id}.mp4"
        path.write_bytes(clip_mp4(draft.encoded.result()))
        images = decoded(path)
        assert len(images) == len(draft.clip)  # starts at a keyframe: every frame decodes
        own = BOXES[draft.crossing.track_id]
        assert all(amber(image, own) for image in images)
    # Where the clips overlap, each frame shows both tracks that cross in it.
    assert amber(decoded(tmp_path / "7.mp4")[-1], BOXES[8]) and not amber(decoded(tmp_path / "8.mp4")[-1], BOXES[7])


def test_a_clip_that_cannot_be_encoded_is_an_error_for_its_event_only() -> None:
    class Broken(ArrayPicture):
        def i420(self, size: tuple[int, int]) -> np.ndarray:
            raise ValueError("decoder handed over a damaged picture")

    encoder = ClipEncoder(SETTINGS)
    recorder = EvidenceRecorder(SETTINGS, 30.0, 640, 360, clips=encoder)
    person = [TrackedObject(7, "person", 0.8, BOXES[7])]
    drafts = []
    for index in range(60):
        picture = Broken(np.zeros((360, 640, 3), np.uint8)) if index == 20 else frame(index).picture
        drafts += recorder.add(Frame(index, T0, picture), person, [crossing(7, index)] if index == 30 else [])
    drafts += recorder.flush()
    encoder.close()
    [draft] = drafts
    assert draft.snapshot is not None  # the rest of the evidence is there
    with pytest.raises(OSError, match="could not be encoded: decoder handed over a damaged picture"):
        draft.encoded.result()
