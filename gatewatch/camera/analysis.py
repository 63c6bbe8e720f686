"""Analysing a stored video file as one camera: the whole flow from file to stored, checked events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tqdm import tqdm

from gatewatch.camera.footage import file_source_key, sync_camera
from gatewatch.camera.recording import StoredEvent
from gatewatch.camera.store import EventStore, EventWriter
from gatewatch.settings import CameraSettings, Settings
from gatewatch.vision.detector import YoloTracker
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import FileSource, SourceError

log = logging.getLogger(__name__)


class AnalysisBrokenOff(Exception):
    """The file broke off part-way; the events found before were stored."""

    def __init__(self, error: SourceError, stored: list[StoredEvent]) -> None:
        super().__init__(f"{error} ({sum(s.created for s in stored)} events found before it were stored)")
        self.stored = stored


@dataclass(frozen=True)
class AnalysisResult:
    stats: RunStats
    stored: list[StoredEvent]

    @property
    def created(self) -> int:
        return sum(s.created for s in self.stored)


def make_pipeline(settings: Settings, camera: CameraSettings, model: Any = None) -> GatePipeline:
    """The analysis of a file as ``camera``: detector, tracker and gate logic, as ``settings`` say.

    ``analyse_file`` and a replay (``gatewatch.camera.replay``) both build it here, so a replay with the
    same settings finds the same crossings. Raises DetectorError for a model that cannot be loaded.
    """
    tracker = YoloTracker(settings.detector, camera.classes, model=model)
    return GatePipeline(camera, tracker, settings.evidence, settings.analysis, settings.plates)


def analyse_file(
    engine: sa.Engine,
    settings: Settings,
    camera: CameraSettings,
    video: Path,
    start: datetime,
    *,
    progress: bool = True,
    model: Any = None,
) -> AnalysisResult:
    """Detect, track, count and store the crossings in ``video``; events already stored are kept.

    Raises SourceError for a file that cannot be opened, DetectorError for a model that cannot be
    loaded, and AnalysisBrokenOff when the file is damaged part-way.
    """
    source = FileSource(video, start, threads=settings.analysis.decode_threads)
    try:
        pipeline = make_pipeline(settings, camera, model)
        sync_camera(engine, camera)
        stats = RunStats()
        writer = EventWriter(EventStore(engine, settings, camera, file_source_key(video)), times=stats.stages)
        with tqdm(total=source.total_frames, unit="frame", desc=video.name, leave=False,
                  disable=None if progress else True) as bar:
            try:
                pipeline.run(source, writer.submit, on_frame=lambda _frame: bar.update(), stats=stats)
            except SourceError as exc:
                raise AnalysisBrokenOff(exc, writer.close()) from None
        stored = writer.close()
        log.info("%s: %s", camera.id, stats.describe(source.fps))
        return AnalysisResult(stats, stored)
    finally:
        source.close()
