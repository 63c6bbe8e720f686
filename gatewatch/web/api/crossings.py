"""POST /api/v1/crossings: another system (an NVR, an ANPR camera) reports a crossing it detected.

Only a ``device`` user's API token may post, and a device may do nothing else, so a leaked
device token lets nobody read the site. The body may carry a snapshot of up to
``posted.MAX_SNAPSHOT_BYTES`` (8 MB decoded), so this endpoint alone accepts a body that large;
every other keeps the app's 1 MB limit. Checking and storing is ``gatewatch.camera.posted``'s:
the same store as the camera worker's events.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Response, request
from pydantic import BaseModel, Field, ValidationError

from gatewatch.camera.posted import MAX_SNAPSHOT_BYTES, CrossingInput, PostedCrossingError, store_posted
from gatewatch.models.enums import Role
from gatewatch.web import access
from gatewatch.web.api.blueprint import bp, error, json_body, json_response
from gatewatch.web.api.docs import Operation, documented
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.validation import FORM_ERROR

log = logging.getLogger(__name__)

#: The largest body this endpoint reads: the snapshot in base64 (4/3 of its size) and the rest.
MAX_BODY_BYTES = MAX_SNAPSHOT_BYTES * 4 // 3 + (1 << 20)


class CrossingOut(BaseModel):
    id: int = Field(description="the event's id")
    status: str = Field(description="exit, explained or flagged, as the cross-check found")
    flag: str | None = Field(description="why the entry was flagged, if it was")
    passage_id: int | None = Field(description="the passage the crossing belongs to: the id of its first event")


def _field_messages(problem: ValidationError) -> dict[str, str]:
    """The first message for each input at fault, in English: the reader is another system's developer."""
    messages: dict[str, str] = {}
    for details in problem.errors(include_url=False, include_input=False):
        field = str(details["loc"][0]) if details["loc"] else FORM_ERROR
        message = "unknown field" if details["type"] == "extra_forbidden" else details["msg"]
        messages.setdefault(field, message.removeprefix("Value error, "))
    return messages


@bp.post("/crossings")
@access.allow(Role.DEVICE)
@documented(
    Operation(
        "Store a crossing another system detected (device tokens only). 201 with the new event; the same "
        "source_id posted again for the camera answers 200 with the event stored then, storing nothing. "
        "occurred_at without an offset is site time. snapshot_jpeg: a JPEG in base64, at most "
        f"{MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB decoded (a larger body is refused, 413)",
        CrossingOut,
        status=201,
        body=CrossingInput,
        errors=(400, 422, 503),
        checked=("camera_id", "label", "plate", "box", "snapshot_jpeg", "occurred_at"),
    )
)
def post_crossing() -> Response:
    request.max_content_length = MAX_BODY_BYTES
    try:
        crossing = CrossingInput.parse(json_body(), settings())
    except ValidationError as problem:
        return error(422, "invalid crossing", _field_messages(problem))
    session = db()
    try:
        stored = store_posted(session, settings(), crossing, device=actor())
    except PostedCrossingError as problem:
        return error(422, "invalid crossing", {problem.field: str(problem)})
    except sa.exc.OperationalError:
        session.rollback()
        return error(503, "the database is busy; nothing was stored: send it again")
    except OSError as problem:
        log.error("snapshot of crossing %s of camera %s not written: %s", crossing.source_id, crossing.camera_id,
                  problem)
        return error(503, "the snapshot could not be written; nothing was stored: send it again")
    event = stored.event
    if stored.created:
        log.info("crossing %s of camera %s posted by %s: event %d", crossing.source_id, event.camera_id,
                 actor()[0], event.id)
    out = CrossingOut(id=event.id, status=event.status, flag=event.flag, passage_id=event.passage_id)
    return json_response(out, 201 if stored.created else 200)
