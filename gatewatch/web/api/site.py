"""The site under /api/v1: health, this API's OpenAPI document, cameras and the day's figures.

A camera's status note is answered redacted: a note stored by an older worker may still quote the
source URL with its password, and every role may read the camera status. Its share of the box is
worked out as for the cameras page (``web.camera_load``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, jsonify, request

from gatewatch.events import stats
from gatewatch.events.queries import cameras_by_id
from gatewatch.models.tables import Camera
from gatewatch.models.types import utcnow
from gatewatch.vision.redaction import redact_optional
from gatewatch.web import access
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import CAMERA, DAY, bp, day_arg, json_response
from gatewatch.web.api.docs import Operation, documented
from gatewatch.web.api.openapi import document
from gatewatch.web.camera_load import box_shares
from gatewatch.web.context import db, settings


@bp.get("/health")
@access.public
@documented(
    Operation(
        "Whether the service and its database answer; public, says nothing else",
        schemas.HealthOut,
        errors=(503,),
    )
)
def health() -> Response:
    try:
        db().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return json_response(schemas.HealthOut(status="unavailable", database="unreachable"), 503)
    return json_response(schemas.HealthOut(status="ok", database="ok"))


@bp.get("/openapi.json")
@access.public
@documented(Operation("This document", schemas.DocumentOut))
def openapi() -> Response:
    return jsonify(document())


@bp.get("/cameras")
@access.allow(access.EVERYONE)
@documented(Operation("The cameras and their live status", schemas.CameraListOut))
def cameras() -> Response:
    rows = list(cameras_by_id(db()).values())
    shares = box_shares(rows, utcnow())
    return json_response(schemas.CameraListOut(items=[_camera_out(c, shares.get(c.id)) for c in rows]))


def _camera_out(camera: Camera, box_share: float | None) -> schemas.CameraOut:
    out = schemas.CameraOut.model_validate(camera)
    share = None if box_share is None else round(box_share, 4)
    return out.model_copy(update={"status_note": redact_optional(out.status_note), "box_share": share})


@bp.get("/stats")
@access.allow(access.EVERYONE)
@documented(
    Operation(
        "Entries and exits per hour and flags by reason for a day",
        schemas.StatsOut,
        query=(DAY, CAMERA),
        errors=(400,),
    )
)
def day_stats() -> Response:
    session = db()
    day, zone = day_arg(), settings().zone
    camera_id = request.args.get("camera") or None
    return json_response(
        schemas.StatsOut(
            date=day,
            camera_id=camera_id,
            hours=[
                schemas.HourOut.model_validate(h) for h in stats.hourly_counts(session, day, zone, camera_id)
            ],
            flags={reason.value: n for reason, n in stats.flag_counts(session, day, zone, camera_id).items()},
            inside=stats.count_inside(session),
        )
    )
