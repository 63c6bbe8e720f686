"""The event store's core: a crossing and its evidence as bytes, stored without the video libraries."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from gatewatch.camera.backoff import backoff_delay
from gatewatch.camera.footage import sync_camera
from gatewatch.camera.recording import EventRecorder, Evidence, EvidenceFile, PlateReading
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine
from gatewatch.models.enums import Direction
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from gatewatch.vision.gate import Crossing
from tests.camera.test_store import WHEN
from tests.shared_files import ROOT

HEAVY = ("cv2", "av", "torch", "ultralytics", "openvino", "onnxruntime", "rapidocr_onnxruntime")
CROSSING = Crossing(3, "car", Direction.ENTRY, 120, WHEN, 0.91234, (10.0, 20.0, 110.0, 220.0))


@pytest.fixture
def recorder(database_url: str, settings: Settings) -> EventRecorder:
    engine = make_engine(database_url)
    sync_camera(engine, settings.cameras[0])
    return EventRecorder(engine, settings, settings.cameras[0].id, "post:abc")


def test_the_core_loads_no_video_library() -> None:
    probe = "import json, sys, gatewatch.camera.recording; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_a_crossing_is_stored_with_the_evidence_bytes_as_given(recorder: EventRecorder, settings: Settings) -> None:
    snapshot, clip, crop = b"\xff\xd8 a snapshot", b"an mp4", b"\xff\xd8 a plate"
    evidence = [EvidenceFile("snapshot", snapshot), EvidenceFile("clip", clip), PlateReading("B 1234 XY", 0.87654, crop)]
    stored = recorder.record(CROSSING, evidence)
    assert stored.created
    event = stored.event
    for path, sha, data in ((event.snapshot_path, event.snapshot_sha256, snapshot),
                            (event.clip_path, event.clip_sha256, clip),
                            (event.plate_crop_path, event.plate_crop_sha256, crop)):
        assert (settings.data_dir / path).read_bytes() == data and sha == hashlib.sha256(data).hexdigest()
        assert (settings.data_dir / path).stat().st_mode & 0o777 == 0o644  # the web app may run as another user
    assert event.snapshot_path == "evidence/gate-1/2026-11-20/post-abc-f0000120-t3.jpg"
    assert event.plate_crop_path.endswith("-t3-plate.jpg") and event.clip_path.endswith("-t3.mp4")
    assert (event.plate_text, event.plate_confidence, event.plate_status) == ("B 1234 XY", 0.8765, "read")
    assert verify_integrity(recorder.engine, settings).ok


def test_a_rider_keeps_the_two_wheeler_it_rides(recorder: EventRecorder, settings: Settings) -> None:
    bike = Crossing(8, "motorcycle", Direction.ENTRY, 120, WHEN, 0.9, (40.0, 120.0, 160.0, 230.0))
    rider = Crossing(9, "person", Direction.ENTRY, 121, WHEN, 0.8, (70.0, 60.0, 130.0, 220.0), rides_track_id=8)
    recorder.record(bike, [])
    stored = recorder.record(rider, [])
    assert stored.event.rides_track_id == 8
    with Session(recorder.engine) as session:
        rows = {e.track_id: e.rides_track_id for e in session.exec(select(EntryEvent)).all()}
    assert rows == {8: None, 9: 8}
    assert verify_integrity(recorder.engine, settings).ok
    # The audit chain fixes it: changed behind the application's back, the check says so.
    with Session(recorder.engine) as session:
        session.get(EntryEvent, stored.event.id).rides_track_id = 7
        session.commit()
    [issue] = verify_integrity(recorder.engine, settings).event_issues.items
    assert (issue.field, issue.expected, issue.actual) == ("rides_track_id", 8, 7)


def test_evidence_is_asked_for_only_when_the_occurrence_is_new(recorder: EventRecorder) -> None:
    asked = []

    def evidence() -> Iterator[Evidence]:
        asked.append(True)
        yield PlateReading(None)

    first = recorder.record(CROSSING, evidence())
    again = recorder.record(CROSSING, evidence())
    assert first.created and not again.created and again.event.id == first.event.id
    assert asked == [True]
    assert first.event.plate_status == "unreadable"


def test_evidence_that_fails_on_the_way_keeps_what_came_before_and_the_event(recorder: EventRecorder) -> None:
    def evidence() -> Iterator[Evidence]:
        yield EvidenceFile("snapshot", b"a snapshot")
        raise OSError("the clip could not be encoded: no frames")

    stored = recorder.record(CROSSING, evidence())
    with Session(recorder.engine) as session:
        [event] = session.exec(select(EntryEvent)).all()
    assert event.id == stored.event.id and event.snapshot_path is not None and event.clip_path is None
    assert event.evidence_error == "evidence could not be written: the clip could not be encoded: no frames"


def test_backoff_steps_through_its_waits_then_repeats_the_last() -> None:
    steps = (1.0, 2.0, 5.0)
    assert [backoff_delay(steps, attempts) for attempts in range(1, 6)] == [1.0, 2.0, 5.0, 5.0, 5.0]
