"""Recording segments made from real footage for the replay tests, by continuous recording's own parts.

The footage's packets go through the ``SegmentRecorder`` as a recording camera's worker hands
them over (no decoding, no encoding: segments cut at keyframes), and ``store_segments`` stores
them through the ``SegmentLog``, rows and audit records, as the worker does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import av
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.segments import SegmentLog, segment_path
from gatewatch.models.tables import RecordingSegment
from gatewatch.vision.segments import ClosedSegment, MissedTime, SegmentRecorder


def record(video: Path, start: datetime, path_for: Callable[[datetime], Path], *,
           segment_seconds: float = 2.0) -> list[ClosedSegment]:
    """``video``'s packets recorded in segments, its first frame taken at ``start``; the segments closed."""
    closed: list[ClosedSegment] = []
    missed: list[MissedTime] = []
    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        recorder = SegmentRecorder(stream, path_for, segment_seconds, closed.append, missed.append, start=start)
        for packet in source.demux(stream):
            if packet.size:
                recorder(packet)
        recorder.close()
    assert not missed, missed
    return closed


def record_camera(engine: sa.Engine, data_dir: Path, camera_id: str, video: Path, start: datetime,
                  ) -> list[RecordingSegment]:
    """``video`` recorded as camera ``camera_id``'s stream and stored as its worker stores segments."""
    segments = record(video, start, lambda at: segment_path(data_dir, camera_id, at))
    log = SegmentLog(engine, data_dir, camera_id)
    for segment in segments:
        log.segment(segment)
    log.close()
    with Session(engine) as session:
        return list(session.exec(select(RecordingSegment).where(RecordingSegment.camera_id == camera_id)
                                 .order_by(RecordingSegment.started_at)).all())
