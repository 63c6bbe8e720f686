"""The fast analysis finds the crossings the reference analysis finds, on the real footage.

Slow: each footage file is analysed twice with the shared model, once whole-frame on every frame
(``analysis.mode: reference``) and once with the default shortcuts. Crossings are compared by
class and direction, and their frames may differ by a few: the tracks behind them do not matter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatewatch.settings import AnalysisSettings, load_settings
from gatewatch.vision.agreement import frame_shift
from gatewatch.vision.detector import YoloTracker, load_model
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MODEL, SAMPLE_CONFIG, STREET

pytestmark = pytest.mark.slow

#: Frames a crossing may move between the two modes and still be the same crossing.
TOLERANCE_FRAMES = 3


@pytest.fixture(scope="module")
def model():
    settings = load_settings(SAMPLE_CONFIG)
    return load_model(settings.detector.model_copy(update={"model": str(MODEL)}))


def crossings(camera_id: str, video: Path, analysis: AnalysisSettings, model) -> tuple[list, int]:
    """Crossings in ``video`` as the sample camera ``camera_id``, and the number of frames detected on."""
    settings = load_settings(SAMPLE_CONFIG)
    camera = settings.camera(camera_id)
    drafts: list[EventDraft] = []
    source = FileSource(video, datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    try:
        tracker = YoloTracker(settings.detector, camera.classes, model=model)
        stats = GatePipeline(camera, tracker, settings.evidence, analysis).run(source, drafts.append)
    finally:
        source.close()
    found = [(d.crossing.label, d.crossing.direction.value, d.crossing.frame_index) for d in drafts]
    return found, stats.analysed


@pytest.mark.parametrize(("camera_id", "video"), [("street-gate", STREET), ("vehicle-gate", HIGHWAY)])
def test_the_default_shortcuts_find_the_crossings_of_the_reference(camera_id: str, video: Path, model) -> None:
    reference, every_frame = crossings(camera_id, video, AnalysisSettings(mode="reference"), model)
    fast, detected_on = crossings(camera_id, video, load_settings(SAMPLE_CONFIG).analysis, model)
    assert reference, "the reference analysis found no crossing: nothing to compare"
    shift = frame_shift(reference, fast)
    assert shift is not None, f"reference {sorted(reference)} != fast {sorted(fast)}"
    assert shift <= TOLERANCE_FRAMES, f"reference {sorted(reference)}, fast {sorted(fast)}"
    assert detected_on < every_frame  # the shortcuts did skip frames
