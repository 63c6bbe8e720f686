"""A live camera compiles the model for its frames before its stream plays, not at its first frame."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from gatewatch.settings import load_settings
from gatewatch.vision.detector import YoloTracker, load_model
from gatewatch.vision.pipeline import GatePipeline, analysed_size
from gatewatch.vision.sources import FileSource
from tests.shared_files import MODEL, SAMPLE_CONFIG, STREET

START = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)


def _pipeline() -> tuple[GatePipeline, object]:
    settings = load_settings(SAMPLE_CONFIG)
    model = load_model(settings.detector.model_copy(update={"model": str(MODEL)}), shared=True)
    camera = settings.camera("street-gate")
    tracker = YoloTracker(settings.detector, camera.classes, model=model)
    return GatePipeline(camera, tracker, settings.evidence, settings.analysis), model


def test_warm_up_compiles_every_size_the_run_then_uses() -> None:
    pipeline, model = _pipeline()
    source = FileSource(STREET, START)
    try:
        assert analysed_size(source) == (1920, 1080)  # known from the opened stream, before any frame
        assert pipeline.warm_up(source)
        warmed = sorted(model.compiled_sizes)
        assert warmed  # the gate strip
        stop = threading.Event()
        seen = iter(range(1, 31))  # 30 frames: every window is detected on by then

        def count(_frame: object) -> None:
            if next(seen, None) is None:
                stop.set()

        stats = pipeline.run(source, lambda _draft: None, stop=stop, on_frame=count)
    finally:
        source.close()
    assert stats.analysed > 0
    assert sorted(model.compiled_sizes) == warmed  # the run compiled nothing more
