"""A gate line moved while a camera runs is counted against from the next frame, tracks kept.

The vehicle footage (cars entering across the sample vehicle gate) is analysed twice with the
real model: once as configured, once with the inside side turned round half-way through, as an
admin saving a line on the page does to a running worker. The second half's entries must come
out as exits, each naming the line it was counted against, and the first half must not change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatewatch.models.enums import Direction
from gatewatch.settings import GateSettings, load_settings
from gatewatch.vision.detector import YoloTracker, load_model
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.recorder import EventDraft
from gatewatch.vision.sources import FileSource
from tests.shared_files import HIGHWAY, MODEL, SAMPLE_CONFIG

pytestmark = pytest.mark.slow

#: The frame from which the moved line is in force (the footage has 330).
MOVED_AT = 165


def crossings(model: object, lines: object = None) -> list[EventDraft]:
    settings = load_settings(SAMPLE_CONFIG)
    camera = settings.camera("vehicle-gate")
    drafts: list[EventDraft] = []
    source = FileSource(HIGHWAY, datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    try:
        tracker = YoloTracker(settings.detector, camera.classes, model=model)
        GatePipeline(camera, tracker, settings.evidence, settings.analysis, lines=lines).run(source, drafts.append)
    finally:
        source.close()
    return drafts


def test_a_line_moved_mid_stream_counts_from_the_next_frame_and_events_name_it() -> None:
    configured = load_settings(SAMPLE_CONFIG).camera("vehicle-gate").gate
    turned = configured.placed({"inside": [0.5, 0.1]})  # the same line, inside now above it
    frame = iter(range(10**6))

    def lines() -> GateSettings:  # asked once before each frame, as a worker's LineWatch is
        return configured if next(frame) < MOVED_AT else turned

    settings = load_settings(SAMPLE_CONFIG)
    model = load_model(settings.detector.model_copy(update={"model": str(MODEL)}))
    as_configured, moved = crossings(model), crossings(model, lines)
    before = [d for d in as_configured if d.crossing.frame_index < MOVED_AT]
    after = [d for d in as_configured if d.crossing.frame_index >= MOVED_AT]
    assert before and after, "the footage must have entries on both sides of the move"
    assert all(d.crossing.direction is Direction.ENTRY for d in as_configured)

    moved_before = [d for d in moved if d.crossing.frame_index < MOVED_AT]
    moved_after = [d for d in moved if d.crossing.frame_index >= MOVED_AT]
    assert [(d.crossing.track_id, d.crossing.frame_index) for d in moved_before] == \
        [(d.crossing.track_id, d.crossing.frame_index) for d in before]
    assert all(d.crossing.gate == configured for d in moved_before)
    # Cars already past the line when it turned are on its new outside: they count nothing.
    # Those crossing it afterwards are exits of the turned line, at the same frames, same tracks.
    assert moved_after, "no crossing was counted against the moved line"
    assert all(d.crossing.direction is Direction.EXIT and d.crossing.gate == turned for d in moved_after)
    expected = {(d.crossing.track_id, d.crossing.frame_index) for d in after}
    assert {(d.crossing.track_id, d.crossing.frame_index) for d in moved_after} <= expected
    assert len(moved_after) >= len(after) - 1
