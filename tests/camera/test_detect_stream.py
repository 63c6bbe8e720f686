"""A camera analysed on its detect stream: the same crossings, evidence from the main stream.

The main stream is the motorcycle footage with a keyframe every second, as cameras send it; its
detect stream is the same footage scaled to 640x360, both made here with PyAV. Analysed on the
detect stream, the file gives the crossings the main stream gives (within what was measured,
below), its clips are the main stream's packets byte for byte, its snapshots and boxes are in the
main stream's pixels, and the main stream is decoded only around events.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlmodel import Session, select

from gatewatch.camera.analysis import analyse_file
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings, load_settings
from gatewatch.vision import paired
from gatewatch.vision.detector import load_model
from tests.camera.test_copied_evidence import MOTORCYCLE_GATE, MOTORCYCLES, START, footage_settings
from tests.detect_stream import scaled_copy
from tests.shared_files import MODEL, SAMPLE_CONFIG
from tests.vision.test_copied_clips import demuxed

pytestmark = pytest.mark.slow

MAIN_SIZE = (1280, 720)
#: Measured: main 7 crossings (person 2, motorcycle 4, car 1); detect 640x360 within one of each class.
TOLERANCE = 1


@pytest.fixture(scope="module")
def model():
    return load_model(load_settings(SAMPLE_CONFIG).detector.model_copy(update={"model": str(MODEL)}))


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("streams")
    main = scaled_copy(MOTORCYCLES, folder / "main.mp4", MAIN_SIZE, crf=20, keyframe_seconds=1.0)
    return main, scaled_copy(main, folder / "detect.mp4", (640, 360), crf=20, keyframe_seconds=2.0)


def _analysed(tmp_path: Path, name: str, main: Path, detect: Path | None, model) -> tuple[Settings, list[EntryEvent]]:
    settings = footage_settings(tmp_path / name, main, MOTORCYCLE_GATE, ["person", "motorcycle", "car"])
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    migrate(engine)
    analyse_file(engine, settings, settings.cameras[0], main, START, progress=False, model=model,
                 detect_video=detect)
    with Session(engine) as session:
        return settings, list(session.exec(select(EntryEvent).order_by(EntryEvent.id)).all())


def test_a_detect_stream_gives_the_main_streams_crossings_and_its_evidence(
    tmp_path: Path, streams: tuple[Path, Path], model, monkeypatch: pytest.MonkeyPatch
) -> None:
    main, detect = streams
    sources: list[paired.PairedSource] = []
    init = paired.PairedSource.__init__

    def spy(self: paired.PairedSource, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        sources.append(self)

    monkeypatch.setattr(paired.PairedSource, "__init__", spy)
    _, alone = _analysed(tmp_path, "main", main, None, model)
    settings, events = _analysed(tmp_path, "paired", main, detect, model)
    assert not sources[:-1] and len(sources) == 1

    expected = Counter((e.label, e.direction) for e in alone)
    found = Counter((e.label, e.direction) for e in events)
    assert len(events) >= 5
    assert all(abs(found[k] - expected[k]) <= TOLERANCE for k in expected | found), (expected, found)

    packets, _ = demuxed(main)
    for event in events:
        assert event.evidence_error is None and event.clip_kind == "copy"
        clip, _ = demuxed((settings.data_dir / event.clip_path).read_bytes())
        at = next(i for i, p in enumerate(packets) if p.keyframe and p.data == clip[0].data)
        assert [p.data for p in clip] == [p.data for p in packets[at: at + len(clip)]]  # the MAIN stream's bytes
        snapshot = cv2.imdecode(np.frombuffer((settings.data_dir / event.snapshot_path).read_bytes(), np.uint8),
                                cv2.IMREAD_COLOR)
        assert (snapshot.shape[1], snapshot.shape[0]) == MAIN_SIZE
        data = (settings.data_dir / event.boxes_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == event.boxes_sha256
        document = json.loads(data)
        assert document["frame_size"] == list(MAIN_SIZE)
        own = [b["box"] for f in document["frames"] for b in f["boxes"] if b["track_id"] == event.track_id]
        # In main pixels, scaled once (a predicted box may run off the picture a little).
        assert own and all(-MAIN_SIZE[0] / 4 <= v <= MAIN_SIZE[0] * 1.25 for box in own for v in box[::2])
    # Boxes in main pixels: some lie beyond the detect stream's 640x360.
    assert max(b["box"][2] for e in events for f in json.loads((settings.data_dir / e.boxes_path).read_bytes())
               ["frames"] for b in f["boxes"]) > 640
    # The main stream was decoded only for the pictures read (snapshots, plate views), each from
    # the keyframe before it: at most a keyframe interval (30 frames) each. This clip has an
    # event a second; measured: 119 of 226 frames for 7 pictures (one motorcycle fewer than the main stream gave).
    source = sources[0]
    assert source.decoded_pictures >= len(events)
    assert 0 < source.decoded_frames <= 30 * source.decoded_pictures, source.decoded_frames
    assert source.decoded_frames < 0.6 * len(packets), (source.decoded_frames, source.decoded_pictures)
