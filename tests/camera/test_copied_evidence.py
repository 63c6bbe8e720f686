"""Events from the real footage through the real detector: copied clips, their boxes, snapshots, plates.

The motorcycle footage has B-frames and a keyframe every 5 s: an event's clip is the file's own
packets from the keyframe at or before its pre-roll, and its boxes file places the track's box
on every frame of it. A copy of that footage in H.265, which browsers do not play, falls back to
clips encoded with the boxes drawn in. On the highway footage, plates are read from each car's
widest views at full resolution.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from sqlmodel import Session, select

from gatewatch.camera.analysis import analyse_file
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings, load_settings
from gatewatch.vision.detector import load_model
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.plate_reader import PlateReader
from gatewatch.vision.recorder import EvidenceRecorder
from gatewatch.vision.sources import Frame
from tests.shared_files import HIGHWAY, MODEL, MOTORCYCLES, SAMPLE_CONFIG
from tests.vision.test_copied_clips import demuxed

pytestmark = pytest.mark.slow

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
#: Line A of the hand count (tests/data/street_motorcycles_hand_count.json).
MOTORCYCLE_GATE = {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.9]}


@pytest.fixture(scope="module")
def model():
    return load_model(load_settings(SAMPLE_CONFIG).detector.model_copy(update={"model": str(MODEL)}))


def footage_settings(data_dir: Path, video: Path, gate: dict[str, Any], classes: list[str]) -> Settings:
    """The sample settings (detector, analysis, evidence) with one camera on ``video``."""
    sample = load_settings(SAMPLE_CONFIG).model_dump(exclude={"cameras", "data_dir", "footage_dir"})
    sample["detector"]["model"] = str(MODEL)
    camera = {"id": "gate-1", "name": "Gate 1", "source": str(video), "gate": gate, "classes": classes}
    return Settings.model_validate({**sample, "data_dir": data_dir, "cameras": [camera]})


def analysed(database_url: str, settings: Settings, video: Path, model) -> list[EntryEvent]:
    engine = make_engine(database_url)
    migrate(engine)
    analyse_file(engine, settings, settings.cameras[0], video, START, progress=False, model=model)
    with Session(engine) as session:
        return list(session.exec(select(EntryEvent).order_by(EntryEvent.id)).all())


def boxes_of(settings: Settings, event: EntryEvent) -> dict[str, Any]:
    data = (settings.data_dir / event.boxes_path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == event.boxes_sha256
    return json.loads(data)


def frame_times(clip: bytes) -> list[float]:
    with av.open(io.BytesIO(clip)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return [float(f.time) for f in container.decode(video=0)]


def test_motorcycle_events_get_the_footages_own_packets_their_boxes_and_full_size_snapshots(
    database_url: str, tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracked: dict[int, list[list[Any]]] = {}  # pts -> every box the tracker reported in that frame
    add = EvidenceRecorder.add

    def spy(recorder: EvidenceRecorder, frame: Frame, objects: list[TrackedObject], *args: Any, **kw: Any) -> Any:
        tracked[frame.pts] = [[o.track_id, o.label, [round(v, 1) for v in o.box]] for o in objects]
        return add(recorder, frame, objects, *args, **kw)

    monkeypatch.setattr(EvidenceRecorder, "add", spy)
    settings = footage_settings(tmp_path / "data", MOTORCYCLES, MOTORCYCLE_GATE, ["person", "motorcycle", "car"])
    events = analysed(database_url, settings, MOTORCYCLES, model)
    assert len(events) >= 5  # of the 16 entries counted by hand on line A
    source, time_base = demuxed(MOTORCYCLES)
    keyframes = [p.pts for p in source if p.keyframe]
    for event in events:
        assert event.evidence_error is None and event.clip_kind == "copy"
        clip_bytes = (settings.data_dir / event.clip_path).read_bytes()
        clip, _ = demuxed(clip_bytes)
        # The file's own packets, byte for byte, from one of its keyframes on.
        at = next(i for i, p in enumerate(source) if p.keyframe and p.data == clip[0].data)
        assert [p.data for p in clip] == [p.data for p in source[at : at + len(clip)]]
        first = source[at].pts
        document = boxes_of(settings, event)
        assert set(document) == {"version", "camera_id", "event_track_id", "frame_size", "clip_kind",
                                 "clip_start_seconds", "crossing_seconds", "gate", "frames"}
        assert (document["version"], document["camera_id"], document["event_track_id"]) == (1, "gate-1",
                                                                                            event.track_id)
        assert document["frame_size"] == [1280, 720] and document["clip_kind"] == "copy"
        assert document["gate"] == {**MOTORCYCLE_GATE, "margin": 0.02}  # the line counted against, dead band too
        assert json.loads(event.gate_line) == document["gate"]
        assert document["clip_start_seconds"] == pytest.approx(event.clip_start_seconds, abs=1e-3)
        # The clip starts at the last keyframe at or before the pre-roll point, 2 s before the crossing.
        pre_roll = first + round(document["clip_start_seconds"] / time_base)
        crossing = document["crossing_seconds"]
        assert document["clip_start_seconds"] == pytest.approx(max(0.0, crossing - 2.0), abs=0.002)
        assert first == max([k for k in keyframes if k <= pre_roll] or [keyframes[0]])
        # Every frame of the clip has its boxes, at the time the video shows that frame.
        times = frame_times(clip_bytes)
        assert [f["t"] for f in document["frames"]] == pytest.approx(times, abs=1e-3)
        assert times[-1] >= crossing + 2.0 - 0.05 or at + len(clip) == len(source)
        # Each frame holds every box the tracker reported in it: the track's and the others'.
        for shown in document["frames"]:
            pts = first + round(shown["t"] / time_base)
            assert [[b["track_id"], b["label"], b["box"]] for b in shown["boxes"]] == tracked[pts]
        with_track = [i for i, f in enumerate(document["frames"])
                      if event.track_id in {b["track_id"] for b in f["boxes"]}]
        crossing_frame = min(range(len(times)), key=lambda i: abs(times[i] - crossing))
        assert crossing_frame in with_track
        box = next(b for b in document["frames"][crossing_frame]["boxes"] if b["track_id"] == event.track_id)
        assert box["box"] == pytest.approx([event.box_x1, event.box_y1, event.box_x2, event.box_y2], abs=0.1)
        assert box["label"] == event.label
        # The snapshot is the camera's full picture.
        snapshot = cv2.imdecode(np.frombuffer((settings.data_dir / event.snapshot_path).read_bytes(), np.uint8),
                                cv2.IMREAD_COLOR)
        assert snapshot.shape == (720, 1280, 3)
    assert {e.label for e in events if e.label == "motorcycle"} and all(
        e.plate_status in ("read", "unreadable") for e in events if e.label == "motorcycle")
    engine = make_engine(database_url)
    assert verify_integrity(engine, settings).ok  # the boxes files are in the audit chain


def test_h265_footage_falls_back_to_clips_encoded_with_the_boxes_drawn_in(tmp_path: Path, model) -> None:
    codec = "libx265" if "libx265" in av.codecs_available else "mjpeg"
    video = tmp_path / ("motorcycles-h265.mp4" if codec == "libx265" else "motorcycles-mjpeg.avi")
    with av.open(str(MOTORCYCLES)) as source, av.open(str(video), "w") as out:
        stream = out.add_stream(codec, rate=30, options={"preset": "ultrafast", "x265-params": "log-level=error"}
                                if codec == "libx265" else {})
        stream.width, stream.height = 1280, 720
        stream.pix_fmt = "yuv420p" if codec == "libx265" else "yuvj420p"
        stream.time_base = Fraction(1, 30)
        for index, decoded in enumerate(source.decode(video=0)):
            frame = decoded.reformat(format=stream.pix_fmt)
            frame.pts, frame.time_base = index, Fraction(1, 30)
            for packet in stream.encode(frame):
                out.mux(packet)
        out.mux(stream.encode(None))
    settings = footage_settings(tmp_path / "data", video, MOTORCYCLE_GATE, ["person", "motorcycle", "car"])
    events = analysed(f"sqlite:///{tmp_path / 'gatewatch.db'}", settings, video, model)
    assert events
    for event in events:
        assert event.evidence_error is None and event.clip_kind == "encoded" and event.clip_start_seconds == 0.0
        times = frame_times((settings.data_dir / event.clip_path).read_bytes())  # H.264, that browsers play
        document = boxes_of(settings, event)
        assert document["clip_kind"] == "encoded" and document["frame_size"] == [1280, 720]
        assert [f["t"] for f in document["frames"]] == pytest.approx(times, abs=2e-4)
        assert any(event.track_id in {b["track_id"] for b in f["boxes"]} for f in document["frames"])


def test_plates_are_read_from_each_cars_widest_views_at_full_resolution(
    tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    views_read: list[list[tuple[int, ...]]] = []
    read_track = PlateReader.read_track

    def spy(reader: PlateReader, views):
        views_read.append([(view() if callable(view) else view).shape for view, _box in views])
        return read_track(reader, views)

    monkeypatch.setattr(PlateReader, "read_track", spy)
    sample = load_settings(SAMPLE_CONFIG).camera("vehicle-gate")
    settings = footage_settings(tmp_path / "data", HIGHWAY, sample.gate.model_dump(include={"line", "inside"}),
                                list(sample.classes))
    events = analysed(f"sqlite:///{tmp_path / 'gatewatch.db'}", settings, HIGHWAY, model)
    cars = [e for e in events if e.label == "car"]
    assert len(cars) >= 9
    assert all(e.clip_kind == "copy" and e.boxes_path for e in cars)
    # Each car was read: the plates here are a few pixels high, so none is readable (as before).
    assert {e.plate_status for e in cars} == {"unreadable"}
    assert len(views_read) == len(cars)
    for shapes in views_read:  # its widest views (plates.crops_per_track) and the snapshot, all full size
        assert 2 <= len(shapes) <= settings.plates.crops_per_track + 1
        assert set(shapes) == {(720, 1280, 3)}
