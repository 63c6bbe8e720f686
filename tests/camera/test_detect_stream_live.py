"""A live camera with a detect stream: two RTSP streams of one scene, analysed on the small one.

GStreamer's RTSP server of the tests serves one stream per process: the camera's main stream
(the highway footage, 1280x720, as stored) and its detect stream (the same footage at 640x360,
made here) come from two servers, as from a camera's two stream URLs. Each server starts its
footage when the worker connects, a fraction of a second apart: the streams are aligned by
arrival time, as a camera's would be. The recording is of the main stream. When the detect
stream's server dies, the camera's status says it was the detect stream, and the worker
reconnects the pair.
"""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlmodel import Session, select

from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import RecordingSegment
from gatewatch.vision.paired import PairedSource
from gatewatch.vision.sources import Frame
from tests.camera.test_rtsp_stream import (
    RtspServer,
    Worker,
    _camera,
    _events_after,
    _missing_server,
    _settings,
)
from tests.detect_stream import scaled_copy
from tests.shared_files import HIGHWAY

pytestmark = pytest.mark.slow


def _looped(video: Path, out: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "2", "-i", str(video), "-c", "copy", str(out)],
                   check=True, timeout=60)
    return out


@pytest.mark.timeout(150)
def test_a_live_camera_is_analysed_on_its_detect_stream_with_evidence_from_its_main_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs: list[tuple[float, float]] = []  # (detect pts seconds, the main pts seconds it was matched to)
    aligned = PairedSource._aligned

    def spy(source: PairedSource, frame: Frame) -> Frame:
        matched = aligned(source, frame)
        if frame.pts is not None and matched.pts is not None:
            pairs.append((float(frame.pts * source.detect.stream.time_base),
                          float(matched.pts * source.stream.time_base)))
        return matched

    monkeypatch.setattr(PairedSource, "_aligned", spy)
    if missing := _missing_server():
        pytest.skip(f"the RTSP server needs Debian's {missing}")
    small = scaled_copy(HIGHWAY, tmp_path / "detect.mp4")
    main_server = RtspServer(_looped(HIGHWAY, tmp_path / "main.mkv"), tmp_path / "main.log")
    detect_server = RtspServer(_looped(small, tmp_path / "detect.mkv"), tmp_path / "detect.log")
    main_server.start()
    detect_server.start()
    settings = _settings(tmp_path, main_server.url)
    camera = settings.cameras[0].model_copy(update={"detect_source": detect_server.url, "record": True})
    recording = settings.recording.model_copy(update={"segment_seconds": 2.0})
    settings = settings.model_copy(update={"cameras": [camera], "recording": recording})
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    started = datetime.now(UTC)
    worker = Worker(engine, settings)
    try:
        events = worker.wait_for("events", lambda s: len(e := _events_after(started)(s)) >= 2 and e, timeout=60)
        row = worker.wait_for("stream sizes", lambda s: (c := _camera(s)).detect_width and c, timeout=10)
        assert (row.frame_width, row.frame_height, row.detect_width, row.detect_height) == (1280, 720, 640, 360)
        detect_server.kill()
        def failed(session: Session) -> str | None:
            row = _camera(session)
            return None if row.connected else row.status_note

        note = worker.wait_for("detect stream failure", failed, timeout=20)
        assert note.startswith("detect stream: ") and detect_server.url in note
    finally:
        worker.finish()
        main_server.kill()
        detect_server.kill()
    # Both servers play the footage from its start when the worker connects: the main stream's
    # time matched to a detect frame is the detect frame's, offset by when each began to play.
    offsets = [(m - pairs[0][1]) - (d - pairs[0][0]) for d, m in pairs[len(pairs) // 4:]]  # past the start-up
    offsets.sort()
    spread = offsets[int(len(offsets) * 0.95)] - offsets[int(len(offsets) * 0.05)]
    print(f"\nlive alignment over {len(offsets)} frames: median {offsets[len(offsets) // 2] * 1000:+.0f} ms, "
          f"5-95% spread {spread * 1000:.0f} ms")
    assert spread < 0.1  # steady: within a few frames
    with Session(engine) as session:
        segments = session.exec(select(RecordingSegment)).all()
        assert segments  # recorded from the MAIN stream
        for segment in segments:
            with av.open(str(settings.data_dir / segment.path)) as recorded:
                context = recorded.streams.video[0].codec_context
                assert (context.width, context.height) == (1280, 720)
        for event in events:
            event = session.merge(event)
            assert event.evidence_error is None and event.clip_kind == "copy"
            snapshot = cv2.imdecode(np.frombuffer((settings.data_dir / event.snapshot_path).read_bytes(), np.uint8),
                                    cv2.IMREAD_COLOR)
            assert snapshot.shape[:2] == (720, 1280)  # the main stream's pixels
            with av.open(io.BytesIO((settings.data_dir / event.clip_path).read_bytes())) as clip:
                stream = clip.streams.video[0]
                assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
                assert sum(1 for _ in clip.decode(stream)) >= 30
