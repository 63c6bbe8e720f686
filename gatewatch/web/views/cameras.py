"""Live status of the gate cameras, as their workers last reported it.

An external camera has no worker (another system posts its crossings), so it is shown as such,
never as disconnected. A status note is shown redacted: workers mask a source URL's password as
they write the note, but a note from an older worker may still hold one, and every role reads this.

Each camera's clip kind is the one of its latest event with a clip: the camera's own packets
(copied) where a browser plays its stream, else encoded with the boxes burned in. The worker
chooses it from the stream itself, so the page shows what its events actually got.

A camera analysed on a detect stream (``detect_source``) is checked against the smallest object
it must find (``analysis.min_object_pixels``, in the main stream's pixels): the worker reports
both streams' sizes, and the page warns when the detect stream makes such an object smaller than
the detector needs, or when that setting is not set at all.

Each running camera shows its share of the box (``web.camera_load``) beside its load in CPU
seconds per second, and a badge while overload degrades its analysis.

A camera whose worker found it covered, blurred or moved (``camera.tamper_watch``) shows a
*Tampered* badge and the worker's note of what changed, until its picture is right again.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from sqlmodel import Session, select

from gatewatch.events.queries import cameras_by_id
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.settings import EXTERNAL_SOURCE
from gatewatch.vision.redaction import redact_optional
from gatewatch.vision.region import DetectStreamCheck, check_detect_stream
from gatewatch.web import access
from gatewatch.web.camera_load import box_shares
from gatewatch.web.context import db, settings

bp = Blueprint("cameras", __name__)

#: A connected camera whose last frame is older than this is shown as stalled.
STALE_AFTER = timedelta(seconds=30)


@bp.get("/cameras")
@access.allow(access.EVERYONE)
def index() -> str:
    cameras, now = list(cameras_by_id(db()).values()), utcnow()
    return render_template(
        "cameras.html", cameras=cameras, now=now, stale_after=STALE_AFTER, shares=box_shares(cameras, now),
        external_source=EXTERNAL_SOURCE, redact=redact_optional, clip_kinds=clip_kinds(db(), cameras),
        detect_checks=detect_checks(cameras), min_object_pixels=settings().analysis.min_object_pixels,
        image_size=settings().detector.image_size,
    )


def detect_checks(cameras: list[Camera]) -> dict[str, DetectStreamCheck]:
    """Camera id -> the check of its detect stream, for cameras a worker reported one for."""
    minimum = settings().analysis.min_object_pixels
    checks = {c.id: check_detect_stream(minimum, c.frame_height, c.detect_height) for c in cameras}
    return {camera_id: check for camera_id, check in checks.items() if check.problem is not None}


def clip_kinds(session: Session, cameras: list[Camera]) -> dict[str, str]:
    """Camera id -> the ClipKind of its latest event with a clip; cameras with none are left out."""
    kinds = {}
    for camera in cameras:
        if camera.source == EXTERNAL_SOURCE:
            continue
        kind = session.exec(
            select(EntryEvent.clip_kind)
            .where(EntryEvent.camera_id == camera.id, EntryEvent.clip_kind.is_not(None))  # type: ignore[union-attr]
            .order_by(EntryEvent.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).first()
        if kind is not None:
            kinds[camera.id] = kind
    return kinds
