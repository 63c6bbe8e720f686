"""The day at a glance: entries and exits per hour, flags by reason, who is still inside, and how
many people and vehicles the cross-check counts inside now (the count its capacity rule uses)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _

from gatewatch.crosscheck.service import explained_inside_at
from gatewatch.events import stats
from gatewatch.events.opening_day import OpeningDay, event_day
from gatewatch.events.queries import cameras_by_id
from gatewatch.web import access
from gatewatch.web.chart import hour_chart
from gatewatch.web.context import db, settings
from gatewatch.web.navigation import day_arg

bp = Blueprint("overview", __name__)


@bp.get("/overview")
@access.allow(access.EVERYONE)
def index() -> str:
    session = db()
    zone = settings().zone
    cameras = cameras_by_id(session)
    camera_id = request.args.get("camera") or None
    if camera_id not in cameras:
        camera_id = None
    day, opening = day_arg(), None
    if day is None:  # none asked for: today, or the latest day with events when today has none
        opening = event_day(session, zone, datetime.now(zone), camera_id)
        day = opening.day
    counts = stats.hourly_counts(session, day, zone, camera_id)
    return render_template(
        "overview.html",
        day=day,
        not_today=_not_today(opening),
        camera_id=camera_id,
        cameras=cameras,
        hours=counts,
        chart=hour_chart(counts),
        flags=stats.flag_counts(session, day, zone, camera_id),
        inside=stats.still_inside(session),
        present=explained_inside_at(session, settings(), datetime.now(zone)),
        presence_reset=settings().crosscheck.presence_reset.strftime("%H:%M"),
    )


def _not_today(opening: OpeningDay | None) -> str | None:
    """What the page says when it opens on another day because today has no events."""
    if opening is None or not opening.instead_of_today:
        return None
    return _("No events today; showing %(day)s, the latest day with events.", day=format_date(opening.day, "long"))
