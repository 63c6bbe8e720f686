"""Analysing a stored video file as one camera: the whole flow from file to stored, checked events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tqdm import tqdm

from gatewatch.camera.footage import file_source_key, sync_camera
from gatewatch.camera.recording import StoredEvent
from gatewatch.camera.store import EventStore, EventWriter
from gatewatch.settings import CameraSettings, GateSettings, Settings
from gatewatch.vision.detector import YoloTracker
from gatewatch.vision.paired import pair
from gatewatch.vision.pipeline import GatePipeline
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import FileSource, FrameSource, SourceError

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


def open_file(video: Path, start: datetime, settings: Settings, detect_video: Path | None = None) -> FrameSource:
    """``video`` as a source; with ``detect_video``, that file analysed with ``video``'s evidence."""
    threads = settings.analysis.decode_threads
    source = FileSource(video, start, threads=threads)
    if detect_video is None:
        return source
    try:
        detect = FileSource(detect_video, start, threads=threads)
    except SourceError as exc:
        source.close()
        raise SourceError(f"detect stream: {exc}") from None
    return pair(source, detect, settings.evidence.clip_mode)


def make_pipeline(settings: Settings, camera: CameraSettings, model: Any = None,
                  lines: Callable[[], GateSettings] | None = None) -> GatePipeline:
    """The analysis of a file as ``camera``: detector, tracker and gate logic, as ``settings`` say.

    ``analyse_file`` and a replay (``gatewatch.camera.replay``) both build it here, so a replay with the
    same settings finds the same crossings. ``lines``: the gate line in force, asked before each
    frame (a worker's ``gate_lines.LineWatch``). Raises DetectorError for a model that cannot be loaded.
    """
    tracker = YoloTracker(settings.detector, camera.classes, model=model)
    return GatePipeline(camera, tracker, settings.evidence, settings.analysis, settings.plates, lines)


def analyse_file(
    engine: sa.Engine,
    settings: Settings,
    camera: CameraSettings,
    video: Path,
    start: datetime,
    *,
    progress: bool = True,
    model: Any = None,
    detect_video: Path | None = None,
) -> AnalysisResult:
    """Detect, track, count and store the crossings in ``video``; events already stored are kept.

    With ``detect_video`` (the same footage as a smaller stream) that file is analysed, while
    clips, snapshots and plates come from ``video``, matched by time from each file's start.
    Raises SourceError for a file that cannot be opened, DetectorError for a model that cannot be
    loaded, and AnalysisBrokenOff when the file is damaged part-way.
    """
    source = open_file(video, start, settings, detect_video)
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
