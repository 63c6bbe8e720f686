"""The day at a glance: entries and exits per hour, flags by reason, who is still inside, and how
many people and vehicles the cross-check counts inside now (the count its capacity rule uses)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from gatewatch.crosscheck.service import explained_inside_at
from gatewatch.events import stats
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
    day = day_arg() or datetime.now(zone).date()
    cameras = cameras_by_id(session)
    camera_id = request.args.get("camera") or None
    if camera_id not in cameras:
        camera_id = None
    counts = stats.hourly_counts(session, day, zone, camera_id)
    return render_template(
        "overview.html",
        day=day,
        camera_id=camera_id,
        cameras=cameras,
        hours=counts,
        chart=hour_chart(counts),
        flags=stats.flag_counts(session, day, zone, camera_id),
        inside=stats.still_inside(session),
        present=explained_inside_at(session, settings(), datetime.now(zone)),
        presence_reset=settings().crosscheck.presence_reset.strftime("%H:%M"),
    )
