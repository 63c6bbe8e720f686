"""The visitor log: register a visitor on one screen, see today's visits, check them out, search,
import a CSV file of visits and follow the import."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import get_args

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from gatewatch.events.opening_day import OpeningDay, visit_day
from gatewatch.events.queries import cameras_by_id
from gatewatch.models.enums import Role
from gatewatch.models.filters import FilterError, parse_day
from gatewatch.models.tables import Visit
from gatewatch.visitors import imports as visit_imports
from gatewatch.visitors import visits
from gatewatch.visitors.authorisations import active_authorisations
from gatewatch.visitors.imports import MEGABYTE, ImportState, UploadProblem, UploadRefused
from gatewatch.visitors.nik_display import looks_like_nik
from gatewatch.visitors.visits import CSV_COLUMNS, CSV_REQUIRED, VehicleType
from gatewatch.web import access, csrf
from gatewatch.web.auth import actor
from gatewatch.web.context import db, engine, settings
from gatewatch.web.messages import visit_error
from gatewatch.web.navigation import day_arg, form_next
from gatewatch.web.registration import Registration, explained_by, register
from gatewatch.web.transaction import commit_or_flash
from gatewatch.web.views.nik import reader_sees_full_nik

bp = Blueprint("visits", __name__)

VEHICLE_TYPES = get_args(VehicleType)
LIST_LIMIT = 200
#: ``datetime-local`` inputs take this form.
INPUT_TIME = "%Y-%m-%dT%H:%M"
REQUIRED_COLUMNS = ", ".join(CSV_REQUIRED)
OPTIONAL_COLUMNS = ", ".join(name for name in CSV_COLUMNS if name not in CSV_REQUIRED)
#: What a multipart body may carry besides the file: the CSRF token, the parts' headers.
FORM_OVERHEAD_BYTES = 64 * 1024


def _page(
    form: dict[str, str], registration: Registration | None = None, import_error: str | None = None,
    criteria: Mapping[str, str] | None = None,
) -> str:
    session = db()
    zone = settings().zone
    query = request.args if criteria is None else criteria  # the search form POSTs its criteria
    search, plate = query.get("q", "").strip(), query.get("plate", "").strip()
    nik_in_url = criteria is None and looks_like_nik(search)  # a NIK is never searched from an address
    search = "" if nik_in_url else search
    day, opening = day_arg() if criteria is None else _posted_day(criteria), None
    if day is None and not (search or plate):  # today's, or the latest day's when nobody came today
        opening = visit_day(session, zone, datetime.now(zone))
        day = opening.day
    listed = visits.list_visits(
        session, on_date=day, zone=zone, search=search or None, plate=plate or None, limit=LIST_LIMIT,
        whole_nik=not reader_sees_full_nik(),
    )
    return render_template(
        "visits.html",
        form=form,
        errors=registration.errors if registration else {},
        busy=registration.busy if registration else False,
        visits=listed,
        day=day,
        not_today=_not_today(opening),
        search=search,
        plate=plate,
        nik_in_url=nik_in_url,
        cameras=cameras_by_id(session).values(),
        vehicle_types=VEHICLE_TYPES,
        registered=registration.visit if registration else None,
        explained=registration.explained if registration else [],
        import_error=import_error,
        required_columns=REQUIRED_COLUMNS,
        optional_columns=OPTIONAL_COLUMNS,
        import_max_mb=settings().visits_import_max_mb,
        authorised_now=active_authorisations(session, datetime.now(UTC), zone),
    )


def _not_today(opening: OpeningDay | None) -> str | None:
    """What the page says when it lists another day's visits because nobody checked in today."""
    if opening is None or not opening.instead_of_today:
        return None
    return _("No visits today; showing %(day)s, the latest day with visits.", day=format_date(opening.day, "long"))


def _posted_day(criteria: Mapping[str, str]) -> date | None:
    try:
        return parse_day(criteria.get("date") or None, "date")
    except FilterError:
        return None


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


@bp.route("/visits/search", methods=["GET", "POST"])
@access.allow(access.EVERYONE)
def search() -> ResponseReturnValue:
    """The visitor log searched by its form, which POSTs: a NIK typed in never reaches a URL or a log.
    A GET (the language switch on the results) goes back to the visitor log."""
    if request.method == "GET":
        return redirect(url_for("visits.index"), 303)
    return _page(_blank_form(), criteria=request.form)


@bp.post("/visits")
@access.allow(Role.GUARD)
def create() -> ResponseReturnValue:
    registration = register(request.form, form_fields_only=True)
    if registration.visit is None:
        return _page(request.form.to_dict(), registration), 503 if registration.busy else 422
    return redirect(url_for("visits.index", registered=registration.visit.id), 303)


@bp.post("/visits/<int:visit_id>/check-out")
@access.allow(Role.GUARD)
def check_out(visit_id: int) -> ResponseReturnValue:
    username, role = actor()

    def explain(error: visits.VisitLogError) -> str:
        return visit_error(error, db().get(Visit, visit_id))

    visit = commit_or_flash(
        lambda session: visits.check_out(session, visit_id, actor=username, role=role,
                                         at=_left_at(request.form.get("at", ""))),
        visits.VisitLogError,
        explain,
    )
    if visit is not None:
        flash(_("%(name)s checked out.", name=visit.visitor_name), "success")
    return redirect(form_next(url_for("visits.index")), 303)


def _left_at(text: str) -> datetime | None:
    """The time of day a guard typed for a check-out recorded late, as the last such moment at the
    site (today's, or yesterday's if that is still to come); None when left blank: now."""
    if not text.strip():
        return None
    try:
        clock = time.fromisoformat(text.strip())
    except ValueError:
        raise visits.InvalidCheckOutTime(f"{text!r} is not a time of day") from None
    zone = settings().zone
    now = datetime.now(zone)
    moment = datetime.combine(now.date(), clock, tzinfo=zone)
    return moment - timedelta(days=1) if moment > now else moment


# --- CSV import ------------------------------------------------------------------------------


#: The status answering each kind of refused upload.
UPLOAD_STATUS = {
    UploadProblem.EMPTY: 400,
    UploadProblem.TOO_LARGE: 413,
    UploadProblem.BINARY: 415,
    UploadProblem.NOT_UTF8: 415,
}


def _upload_message(problem: UploadProblem, line: int | None) -> str:
    if problem == UploadProblem.EMPTY:
        return _("The file is empty.")
    if problem == UploadProblem.TOO_LARGE:
        return _(
            "The file is larger than %(size)d MB, the most one import takes: split it.",
            size=settings().visits_import_max_mb,
        )
    if problem == UploadProblem.BINARY:
        found = _("This is not a CSV file: it holds binary data, as an .xlsx file does.")
    else:
        found = _("The file is not UTF-8 text (from line %(line)d).", line=line or 1)
    return f"{found} {_('In the spreadsheet choose Save as, CSV UTF-8, and upload that file.')}"


def _upload_refused(problem: UploadProblem, line: int | None = None) -> ResponseReturnValue:
    """The visitor log saying why the upload is not imported, with a 4xx status."""
    return _page(_blank_form(), import_error=_upload_message(problem, line)), UPLOAD_STATUS[problem]


@bp.post("/visits/imports")
@access.allow(Role.GUARD)
@csrf.protection.exempt  # checked below, once the upload's own size limit is set
def start_import() -> ResponseReturnValue:
    """Accept a CSV file of visits and import it in the background; its status page follows it."""
    request.max_content_length = settings().visits_import_max_mb * MEGABYTE + FORM_OVERHEAD_BYTES
    try:
        csrf.protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _upload_refused(UploadProblem.TOO_LARGE)
    if upload is None or not upload.filename:
        return _page(_blank_form(), import_error=_("Choose a CSV file to import.")), 400
    username, role = actor()
    try:
        import_id = visit_imports.start_import(
            engine(), settings(), upload.stream, upload.filename, actor=username, role=role
        )
    except UploadRefused as refused:
        return _upload_refused(refused.problem, refused.line)
    return redirect(url_for("visits.import_status", import_id=import_id), 303)


def _import_state(import_id: int) -> ImportState:
    state = visit_imports.import_state(db(), settings(), import_id)
    if state is None:
        abort(404)
    return state


def _progress_text(state: ImportState) -> str:
    """How far the import has read, such as "12,500 of 100,000 rows (12 %)"."""
    done = format_decimal(state.rows_read)
    if state.percent is None:
        return ngettext("%(count)s row read", "%(count)s rows read", state.rows_read, count=done)
    total = state.rows_total or 0
    return ngettext(
        "%(done)s of %(total)s row (%(percent)d %%)",
        "%(done)s of %(total)s rows (%(percent)d %%)",
        total,
        done=done,
        total=format_decimal(total),
        percent=state.percent,
    )


@bp.get("/visits/imports/<int:import_id>")
@access.allow(access.EVERYONE)
def import_status(import_id: int) -> str:
    state = _import_state(import_id)
    return render_template(
        "visit_import.html",
        job=state,
        progress_text=_progress_text(state),
    )


@bp.get("/visits/imports/<int:import_id>.json")
@access.allow(access.EVERYONE)
def import_progress(import_id: int) -> Response:
    """Where the import stands: its status page refreshes when this changes (app.js's data-poll)."""
    state = _import_state(import_id)
    return jsonify(
        status=state.status,
        finished=state.finished,
        rows_read=state.rows_read,
        rows_total=state.rows_total,
        percent=state.percent,
        stored=state.stored,
        errors=[dataclasses.asdict(error) for error in state.errors],
    )
