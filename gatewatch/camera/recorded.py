"""What a camera's continuous recording covers, and the segments of a period an auditor replays.

Read from the database only (``RecordingSegment``, ``RecordingGap``), so the web app can offer
and check a period without the video libraries. A camera's recordings cover the time from its
first kept segment to its last; within it, a hole between two segments is a gap, told with the
reason the recorder gave (the stream was down, the disk was full) or as deleted by retention.

A replayed period is at most ``MAX_PERIOD`` long: a replay decodes every frame and runs the model
on it, and an hour of a 30 fps camera (108,000 frames) is already tens of minutes of the site's
CPU, during which no other replay runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.models.tables import RecordingGap, RecordingSegment

#: The longest period a replay of recorded time may cover.
MAX_PERIOD = timedelta(hours=1)
#: Segments further apart than this leave a gap; closer, they are one recording.
GAP_AFTER = timedelta(seconds=1)
#: Gaps listed on the page per camera, the latest ones.
GAPS_SHOWN = 20


class PeriodError(ValueError):
    """A period that cannot be replayed; the message says why, ``code`` says it for a page to word
    (order, length, none, before, after, gap), ``end`` whether its end is what is wrong."""

    def __init__(self, message: str, code: str, *, end: bool = False) -> None:
        super().__init__(message)
        self.code, self.end = code, end


@dataclass(frozen=True)
class Gap:
    started_at: datetime
    ended_at: datetime
    reason: str


@dataclass(frozen=True)
class Coverage:
    """The time a camera's kept segments cover, and the gaps in it (the latest ``GAPS_SHOWN``)."""

    camera_id: str
    started_at: datetime
    ended_at: datetime
    segments: int
    gaps: list[Gap] = field(default_factory=list)
    gap_count: int = 0


def _kept(camera_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(RecordingSegment.camera_id == camera_id, RecordingSegment.path.is_not(None))


def _reason(session: Session, camera_id: str, start: datetime, end: datetime) -> str:
    """Why there is no recording from ``start`` to ``end``: the recorder's gaps, else retention, else unknown."""
    reasons = session.exec(select(RecordingGap.reason).where(
        RecordingGap.camera_id == camera_id, RecordingGap.started_at < end,
        sa.or_(RecordingGap.ended_at.is_(None), RecordingGap.ended_at > start),
    ).order_by(RecordingGap.started_at)).all()
    if reasons:
        return "; ".join(dict.fromkeys(reasons))
    deleted = session.exec(select(sa.func.count()).select_from(RecordingSegment).where(  # begun within the hole
        RecordingSegment.camera_id == camera_id, RecordingSegment.path.is_(None),
        RecordingSegment.started_at >= start - GAP_AFTER, RecordingSegment.started_at < end,
    )).one()
    return "deleted by retention" if deleted else "no recording"


def coverage(session: Session, camera_id: str) -> Coverage | None:
    """What the camera's kept segments cover; None when it has none.

    The database finds the holes (a segment starting after every earlier one ended), so a month
    of minute segments is not read row by row; those shorter than ``GAP_AFTER`` are no gaps.
    """
    first, last, count = session.execute(
        sa.select(sa.func.min(RecordingSegment.started_at), sa.func.max(RecordingSegment.ended_at),
                  sa.func.count()).where(_kept(camera_id))
    ).one()
    if not count:
        return None
    reached = sa.func.max(RecordingSegment.ended_at).over(order_by=(RecordingSegment.started_at, RecordingSegment.id),
                                                          rows=(None, -1))
    spans = sa.select(RecordingSegment.started_at.label("started"), reached.label("reached")).where(
        _kept(camera_id)).subquery()
    holes = [(reached, started) for started, reached in session.execute(
        sa.select(spans.c.started, spans.c.reached).where(spans.c.started > spans.c.reached)
        .order_by(spans.c.started)).all() if started - reached > GAP_AFTER]
    gaps = [Gap(start, end, _reason(session, camera_id, start, end)) for start, end in holes[-GAPS_SHOWN:]]
    return Coverage(camera_id, first, last, count, gaps, len(holes))


def recorded_cameras(session: Session, camera_ids: Sequence[str]) -> dict[str, Coverage | None]:
    """Each of ``camera_ids`` (those set to record) and any other camera with kept segments: its coverage."""
    with_segments = session.exec(select(RecordingSegment.camera_id).where(RecordingSegment.path.is_not(None))
                                 .distinct()).all()
    ids = list(dict.fromkeys([*camera_ids, *sorted(with_segments)]))
    return {camera_id: coverage(session, camera_id) for camera_id in ids}


def check_period(session: Session, camera_id: str, start: datetime, end: datetime) -> list[RecordingSegment]:
    """The kept segments overlapping ``start``..``end``, in order, once the period is one that can be replayed.

    Raises PeriodError when it ends before it starts, is longer than ``MAX_PERIOD``, reaches
    outside the camera's recordings, or falls wholly in a gap.
    """
    if end <= start:
        raise PeriodError("the period ends before it starts", "order", end=True)
    if end - start > MAX_PERIOD:
        raise PeriodError(f"the period is longer than {_span(MAX_PERIOD)}: replay at most that much at a time", "length", end=True)
    covered = coverage(session, camera_id)
    if covered is None:
        raise PeriodError(f"camera {camera_id} has no recordings", "none")
    if start < covered.started_at:
        raise PeriodError("the period starts before the camera's recordings", "before")
    if end > covered.ended_at:
        raise PeriodError("the period ends after the camera's recordings", "after", end=True)
    segments = segments_of(session, camera_id, start, end)
    if not segments:
        raise PeriodError("the camera recorded nothing in that period: it falls in a gap", "gap")
    return segments


def segments_of(session: Session, camera_id: str, start: datetime, end: datetime, *,
                deleted: bool = False) -> list[RecordingSegment]:
    """The camera's segments overlapping ``start``..``end`` in time order: kept ones, or all with ``deleted``."""
    query = select(RecordingSegment).where(
        RecordingSegment.camera_id == camera_id, RecordingSegment.started_at <= end,
        RecordingSegment.ended_at >= start,
    )
    if not deleted:
        query = query.where(RecordingSegment.path.is_not(None))
    return list(session.exec(query.order_by(RecordingSegment.started_at, RecordingSegment.id)).all())


def expected_frames(segments: Sequence[RecordingSegment], start: datetime, end: datetime) -> int:
    """About how many frames the segments hold from ``start`` to ``end``, for progress."""
    total = 0.0
    for segment in segments:
        length = (segment.ended_at - segment.started_at).total_seconds()
        inside = (min(end, segment.ended_at) - max(start, segment.started_at)).total_seconds()
        total += segment.frames * (max(0.0, inside) / length if length > 0 else 1.0)
    return round(total)


def segment_name(segment: RecordingSegment) -> str:
    """How a message names a segment: its number and file."""
    return f"recording segment #{segment.id} ({segment.path or 'deleted'})"


def _span(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
