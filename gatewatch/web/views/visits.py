"""The visitor log: register a visitor on one screen, see today's visits, check them out, search."""

from __future__ import annotations

from datetime import date, datetime
from typing import get_args

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gatewatch import visits
from gatewatch.event_queries import cameras_by_id
from gatewatch.models.tables import Role, Visit
from gatewatch.visits import VehicleType
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import visit_error
from gatewatch.web.navigation import form_next
from gatewatch.web.registration import Registration, explained_by, register
from gatewatch.web.transaction import commit_or_flash

bp = Blueprint("visits", __name__)

VEHICLE_TYPES = get_args(VehicleType)
LIST_LIMIT = 200
#: ``datetime-local`` inputs take this form.
INPUT_TIME = "%Y-%m-%dT%H:%M"


def _day_arg() -> date | None:
    text = request.args.get("date", "")
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _page(form: dict[str, str], registration: Registration | None = None) -> str:
    session = db()
    zone = settings().zone
    search, plate = request.args.get("q", "").strip(), request.args.get("plate", "").strip()
    day = _day_arg() or (None if search or plate else datetime.now(zone).date())
    listed = visits.list_visits(
        session, on_date=day, zone=zone, search=search or None, plate=plate or None, limit=LIST_LIMIT
    )
    return render_template(
        "visits.html",
        form=form,
        errors=registration.errors if registration else {},
        visits=listed,
        day=day,
        search=search,
        plate=plate,
        cameras=cameras_by_id(session).values(),
        vehicle_types=VEHICLE_TYPES,
        registered=registration.visit if registration else None,
        explained=registration.explained if registration else [],
    )


def _blank_form() -> dict[str, str]:
    return {"party_size": "1", "check_in_at": datetime.now(settings().zone).strftime(INPUT_TIME)}


@bp.get("/visits")
@access.allow(access.EVERYONE)
def index() -> str:
    registration = None
    registered_id = request.args.get("registered", "")
    if registered_id.isdigit() and (visit := db().get(Visit, int(registered_id))) is not None:
        registration = Registration(visit, explained_by(visit.id))
    return _page(_blank_form(), registration)


@bp.post("/visits")
@access.allow(Role.GUARD)
def create() -> ResponseReturnValue:
    registration = register(request.form, form_fields_only=True)
    if registration.visit is None:
        return _page(request.form.to_dict(), registration), 422
    return redirect(url_for("visits.index", registered=registration.visit.id), 303)


@bp.post("/visits/<int:visit_id>/check-out")
@access.allow(Role.GUARD)
def check_out(visit_id: int) -> ResponseReturnValue:
    username, role = actor()

    def explain(error: visits.VisitLogError) -> str:
        return visit_error(error, db().get(Visit, visit_id))

    visit = commit_or_flash(
        lambda session: visits.check_out(session, visit_id, actor=username, role=role),
        visits.VisitLogError,
        explain,
    )
    if visit is not None:
        flash(_("%(name)s checked out.", name=visit.visitor_name), "success")
    return redirect(form_next(url_for("visits.index")), 303)
