"""Live status of the gate cameras, as their workers last reported it.

An external camera has no worker (another system posts its crossings), so it is shown as such,
never as disconnected. A status note is shown redacted: workers mask a source URL's password as
they write the note, but a note from an older worker may still hold one, and every role reads this.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template

from gatewatch.events.queries import cameras_by_id
from gatewatch.models.types import utcnow
from gatewatch.settings import EXTERNAL_SOURCE
from gatewatch.vision.redaction import redact_optional
from gatewatch.web import access
from gatewatch.web.context import db

bp = Blueprint("cameras", __name__)

#: A connected camera whose last frame is older than this is shown as stalled.
STALE_AFTER = timedelta(seconds=30)


@bp.get("/cameras")
@access.allow(access.EVERYONE)
def index() -> str:
    return render_template(
        "cameras.html", cameras=list(cameras_by_id(db()).values()), now=utcnow(), stale_after=STALE_AFTER,
        external_source=EXTERNAL_SOURCE, redact=redact_optional,
    )
