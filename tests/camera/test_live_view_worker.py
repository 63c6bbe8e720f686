"""A camera worker publishes its live view as it analyses: the worker itself (``run_camera``, the
real model) on the real motorcycle footage as a file camera, SQLite in a temporary folder."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from gatewatch.camera.worker import run_camera
from gatewatch.models.db import make_engine, migrate
from gatewatch.vision.live_view import LiveView, live_paths
from tests.camera.test_copied_evidence import MOTORCYCLE_GATE, MOTORCYCLES, footage_settings


def test_a_worker_leaves_its_latest_frame_with_the_motorcycles_boxes_and_its_gate_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sidecars: list[dict[str, Any]] = []
    publish = LiveView.publish

    def kept(live: LiveView, *args: Any) -> bool:
        done = publish(live, *args)
        sidecars.append(json.loads(live.sidecar_path.read_text()))
        return done

    monkeypatch.setattr(LiveView, "publish", kept)
    settings = footage_settings(tmp_path / "data", MOTORCYCLES, MOTORCYCLE_GATE, ["person", "motorcycle"])
    settings = settings.model_copy(update={"live_view": settings.live_view.model_copy(
        update={"interval_seconds": 0.2})})  # a file is analysed faster than it plays: more pictures
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    run_camera(engine, settings, settings.cameras[0], threading.Event())
    engine.dispose()

    picture_path, sidecar_path = live_paths(settings.data_dir, "gate-1")
    picture = cv2.imdecode(np.frombuffer(picture_path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 640, 3)  # 1280x720 footage, 640 wide
    assert json.loads(sidecar_path.read_text()) == sidecars[-1]
    assert len(sidecars) >= 2
    motorcycles = [b for s in sidecars for b in s["boxes"] if b["label"] == "motorcycle"]
    assert motorcycles, "no motorcycle box in any published picture"
    for sidecar in sidecars:
        assert sidecar["camera_id"] == "gate-1" and sidecar["frame_size"] == [640, 360]
        assert sidecar["gate"] == {**MOTORCYCLE_GATE, "margin": settings.cameras[0].gate.margin}
        for box in sidecar["boxes"]:
            x1, y1, x2, y2 = box["box"]
            assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 and isinstance(box["track_id"], int)
    # Boxes a motorcycle's size (half a percent to 4 % of this picture), not the whole picture nor a speck.
    areas = [(b["box"][2] - b["box"][0]) * (b["box"][3] - b["box"][1]) for b in motorcycles]
    assert all(0.002 < area < 0.2 for area in areas), areas
