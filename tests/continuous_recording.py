"""Continuous recording made from real footage for the database tests: segments recorded and stored as
a recording camera's worker records and stores them (``SegmentRecorder`` into ``SegmentLog``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.segments import SegmentLog, segment_path
from gatewatch.models.tables import RecordingSegment
from gatewatch.settings import Settings
from gatewatch.vision.segments import SegmentRecorder
from gatewatch.vision.sources import FileSource
from tests.shared_files import MOTORCYCLES


def record_footage(engine: sa.Engine, settings: Settings, start: datetime, video: Path = MOTORCYCLES,
                   segment_seconds: float = 2.0, on_stored: Callable[[], None] | None = None
                   ) -> list[RecordingSegment]:
    """Record ``video`` as the first camera's stream from ``start``; the segments stored, in time order.

    ``on_stored`` is called after each segment is stored, as the worker's quota check is."""
    camera_id = settings.cameras[0].id
    log = SegmentLog(engine, settings.data_dir, camera_id, on_stored=on_stored)
    source = FileSource(video, start)
    recorder = SegmentRecorder(source.stream, partial(segment_path, settings.data_dir, camera_id), segment_seconds,
                               log.segment, log.gap, start=start)
    source.listen(recorder)
    for _ in source.frames():
        pass
    recorder.close()
    source.close()
    log.close()
    with Session(engine) as session:
        return list(session.exec(select(RecordingSegment).where(
            RecordingSegment.started_at >= start, RecordingSegment.started_at < start + timedelta(minutes=1),
        ).order_by(RecordingSegment.started_at)).all())
