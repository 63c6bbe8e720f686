"""Browser alerts: the flagged queue and the visitor log tell their user of a new flagged entry.

The pages poll ``GET /alerts/open.json?after=<event id>`` about once a second (static/alerts.js):
short polls, because the web app runs on gunicorn's sync workers and a request held open would
hold a worker. ``after`` is the newest event id when the page was drawn (``alert_setup``); the
answer lists the passages with a flagged member stored since, newest first, in the reader's
language, so the script only has to show them. A passage someone has decided on is no longer
flagged and drops out of the next answer, which is how a decision in one tab silences the
others. Nothing in an answer names a visitor or an NIK: the gate, the time, what crossed and why.

Who is alerted: the people who act on a flagged entry at once (operators, guards) and admins.
Auditors read the queue afterwards; an alarm on their screen would help nobody.

``POST /account/alert-sound`` is the user's own switch for the sound (``User.alert_sound``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from gatewatch.accounts import preferences, users
from gatewatch.events.new_flags import flagged_since, newest_event_id
from gatewatch.events.queries import Passage, cameras_by_id
from gatewatch.models.enums import Role
from gatewatch.models.filters import MAX_ID, FilterError
from gatewatch.models.tables import Camera, User
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.i18n import label, passage_summary, site_time
from gatewatch.web.messages import user_error
from gatewatch.web.navigation import form_next, int_arg
from gatewatch.web.transaction import commit_or_flash

bp = Blueprint("alerts", __name__)

#: Who the pages alert, and who may poll and switch the sound.
ALERTED = frozenset({Role.OPERATOR, Role.GUARD, Role.ADMIN})
#: The most passages one answer lists; ``more`` says when others wait too.
LIMIT = 10


@bp.get("/alerts/open.json")
@access.allow(ALERTED)
def poll() -> ResponseReturnValue:
    """The open alerts: passages with a flagged member newer than event ``after`` (default 0)."""
    try:
        after = int_arg("after", 0, 0, MAX_ID, strict=True)
    except FilterError as problem:
        return jsonify(error="invalid query parameter", fields={problem.field: str(problem)}), 400
    session = db()
    found = flagged_since(session, after, LIMIT)
    cameras = cameras_by_id(session) if found.passages else {}
    return jsonify(alerts=[_alert(passage, cameras) for passage in found.passages], more=found.more)


def _alert(passage: Passage, cameras: dict[str, Camera]) -> dict[str, Any]:
    lead = passage.lead
    camera = cameras.get(lead.camera_id)
    gate = camera.name if camera else lead.camera_id
    reason = passage.flag
    zone = settings().zone
    today = passage.occurred_at.astimezone(zone).date() == datetime.now(zone).date()
    when = site_time(passage.occurred_at, "%H:%M:%S %Z" if today else "%Y-%m-%d %H:%M:%S %Z")
    return {
        "key": passage.id,
        "event_id": lead.id,
        "camera_id": lead.camera_id,
        "camera": gate,
        "label": lead.label,
        "direction": lead.direction,
        "occurred_at": passage.occurred_at.isoformat(),
        "reason": reason,
        "title": _("Flagged entry at %(gate)s", gate=gate),
        "text": " · ".join(part for part in (when, passage_summary(passage.counts), label("reason", reason)) if part),
        "url": url_for("events.detail", event_id=lead.id),
    }


@bp.post("/account/alert-sound")
@access.allow(ALERTED)
def sound() -> ResponseReturnValue:
    """Turn one's own alert sound on (``sound=on``) or off (``sound=off``)."""
    choice = {"on": True, "off": False}.get(request.form.get("sound", ""))
    if choice is None:
        flash(_("Choose whether the alert sound is on or off."), "error")
        return redirect(form_next(), 303)
    username, role = actor()
    changed = commit_or_flash(
        lambda session: preferences.set_alert_sound(
            session, current_user.id, choice, actor=username, actor_role=role
        ),
        users.UserError,
        user_error,
    )
    if changed is not None:
        flash(_("Alert sound on.") if choice else _("Alert sound off."), "success")
    return redirect(form_next(), 303)


@bp.app_template_global()
def alert_setup() -> dict[str, Any]:
    """What a page's alert panel needs: the cursor (the newest event now) and the user's sound."""
    session = db()
    user = session.get(User, current_user.id)
    return {
        "after": newest_event_id(session),
        "sound": bool(user.alert_sound) if user else True,
        "poll": url_for("alerts.poll"),
    }
