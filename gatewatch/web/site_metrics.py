"""The figures ``/metrics`` serves, read from the database at each scrape.

Each camera worker writes its figures into its camera's status row with every status window
(frames/s, lag, dropped frames, detector runs, load, degraded: ``camera.worker.CameraStatus``), so
the web app answers from the rows without touching video, and every gunicorn worker and every web
server answers the same: nothing is counted in a process, where it would drift between them.

A row whose worker stopped without saying so (killed, the box lost power) still holds the last
figures it wrote. A camera is therefore *running* only when its row says connected and its last
frame is within ``camera_load.RECENT``, as for its share of the box; a camera that is not running
reports no frames, no lag, no load and no overload. The counts since the worker started (dropped
frames, detector runs) are reported as the row holds them: they start again from 0 when a worker
starts, which a Prometheus counter takes as a reset.

Pure: a session and the time in, plain figures out; ``web.metrics`` words them for Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.models.enums import OPEN_STATUSES
from gatewatch.models.tables import Camera, EntryEvent, WebhookDelivery
from gatewatch.web.camera_load import RECENT

#: The ``reason`` of an event that was never flagged (Prometheus treats an empty label as none).
NO_REASON = "none"
#: The status of an outbox delivery not yet delivered nor given up (``WebhookDelivery.status``).
PENDING = "pending"


@dataclass(frozen=True)
class CameraFigures:
    """One camera as its worker last reported it; the live figures are zero or None unless ``running``."""

    camera_id: str
    name: str
    running: bool  # connected, with a frame within ``RECENT``
    frames_per_second: float
    lag_seconds: float | None  # None: not running, or an older worker that does not report it
    analysis_load: float | None
    degraded: bool
    tampered: bool
    reconnects: int
    dropped_frames: int | None  # since the worker started; None until a worker reports it
    detections: int | None
    last_frame_at: datetime | None


@dataclass(frozen=True)
class EventCount:
    """How many stored events of a camera stand at ``status``, flagged for ``reason``."""

    camera_id: str
    status: str
    reason: str  # a FlagReason value, or NO_REASON
    count: int


@dataclass(frozen=True)
class SiteFigures:
    cameras: list[CameraFigures]
    events: list[EventCount]
    queue_length: int  # events waiting for a person (OPEN_STATUSES)
    queue_oldest: datetime | None  # when the longest-waiting of them occurred
    outbox_depth: int  # webhook deliveries pending
    outbox_oldest: datetime | None  # when the oldest pending delivery was made


def site_figures(session: Session, now: datetime, recent: timedelta = RECENT) -> SiteFigures:
    """Everything ``/metrics`` reports, as it stands at ``now``: five small queries."""
    queue_length, queue_oldest = _count_and_oldest(
        session, EntryEvent.occurred_at, EntryEvent.status.in_([s.value for s in OPEN_STATUSES]))
    outbox_depth, outbox_oldest = _count_and_oldest(
        session, WebhookDelivery.created_at, WebhookDelivery.status == PENDING)
    return SiteFigures(
        cameras=camera_figures(session, now, recent),
        events=event_counts(session),
        queue_length=queue_length,
        queue_oldest=queue_oldest,
        outbox_depth=outbox_depth,
        outbox_oldest=outbox_oldest,
    )


def camera_figures(session: Session, now: datetime, recent: timedelta = RECENT) -> list[CameraFigures]:
    """Every camera's figures, in id order."""
    return [_figures(camera, _running(camera, now, recent))
            for camera in session.exec(select(Camera).order_by(Camera.id)).all()]


def _running(camera: Camera, now: datetime, recent: timedelta) -> bool:
    return camera.connected and camera.last_frame_at is not None and now - camera.last_frame_at <= recent


def _figures(camera: Camera, running: bool) -> CameraFigures:
    return CameraFigures(
        camera_id=camera.id,
        name=camera.name,
        running=running,
        frames_per_second=(camera.frames_per_second or 0.0) if running else 0.0,
        lag_seconds=camera.lag_seconds if running else None,
        analysis_load=camera.analysis_load if running else None,
        degraded=camera.degraded and running,
        tampered=camera.tampered,
        reconnects=camera.reconnects,
        dropped_frames=camera.dropped_frames,
        detections=camera.detections,
        last_frame_at=camera.last_frame_at,
    )


def event_counts(session: Session) -> list[EventCount]:
    """Stored events by camera, status and flag reason: only the combinations that occur."""
    rows = session.execute(
        sa.select(EntryEvent.camera_id, EntryEvent.status, EntryEvent.flag, sa.func.count())
        .group_by(EntryEvent.camera_id, EntryEvent.status, EntryEvent.flag)
        .order_by(EntryEvent.camera_id, EntryEvent.status, EntryEvent.flag)
    )
    return [EventCount(camera_id, status, flag or NO_REASON, count) for camera_id, status, flag, count in rows]


def _count_and_oldest(session: Session, moment: sa.ColumnElement[datetime],
                      where: sa.ColumnElement[bool]) -> tuple[int, datetime | None]:
    """How many rows match ``where``, and the earliest ``moment`` among them."""
    count, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(moment)).where(where)).one()
    return count, oldest
