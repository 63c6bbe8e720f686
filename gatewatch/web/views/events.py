"""The flagged queue (a row per passage), an event's page, and the decisions people take on it.

A decision that moves an entry's status applies to every open member of its passage; the page
says so. The link form offers only the visits whose cover holds the passage's entries, the
same ones ``reviews.decide`` accepts.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from gatewatch.camera.gate_lines import counted_line
from gatewatch.events import reviews
from gatewatch.events.queries import (
    STATUS_FILTERS,
    EventFilter,
    cameras_by_id,
    find_passages,
    passage_members,
)
from gatewatch.events.reviews import DECISIONS, Decision
from gatewatch.models.enums import FlagReason, Role
from gatewatch.models.filters import FilterError
from gatewatch.models.tables import Authorisation, Camera, EntryEvent, Visit
from gatewatch.settings import VEHICLE_CLASSES
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import configured_camera, db, settings
from gatewatch.web.i18n import cover_refusal, label
from gatewatch.web.messages import review_error
from gatewatch.web.navigation import form_next, int_arg
from gatewatch.web.transaction import commit_or_flash

bp = Blueprint("events", __name__)

PAGE_SIZE = 50


@bp.get("/events")
@access.allow(access.EVERYONE)
def queue() -> tuple[str, int]:
    session = db()
    try:
        event_filter, error = EventFilter.parse(request.args), None
    except FilterError as problem:
        event_filter, error = EventFilter(), problem.field
    page = find_passages(session, event_filter, settings().zone, page=int_arg("page", 1), size=PAGE_SIZE)
    html = render_template(
        "queue.html",
        page=page,
        cameras=cameras_by_id(session),
        reasons=list(FlagReason),
        statuses=STATUS_FILTERS,
        filter_error=error,
    )
    return html, 400 if error else 200


@bp.get("/events/<int:event_id>")
@access.allow(access.EVERYONE)
def detail(event_id: int) -> str:
    session = db()
    event = session.get(EntryEvent, event_id)
    if event is None:
        abort(404)
    decisions = reviews.available_decisions(event, current_user.role)
    members = passage_members(session, event)
    linkable = reviews.shared_with(event, members, Decision.LINK) if Decision.LINK in decisions else []
    return render_template(
        "event.html",
        event=event,
        camera=session.get(Camera, event.camera_id),
        visit=session.get(Visit, event.visit_id) if event.visit_id else None,
        authorisation=session.get(Authorisation, event.authorisation_id) if event.authorisation_id else None,
        history=reviews.history(session, event_id),
        decisions=decisions,
        others=[member for member in members if member.id != event.id],
        sharing=len(reviews.shared_with(event, members, Decision.CONFIRM)),
        candidates=reviews.link_candidates(session, linkable, settings()),
        is_vehicle=event.label in VEHICLE_CLASSES,
        line=counted_line(session, event, configured_camera(event.camera_id)),
    )


def decision_error(error: reviews.ReviewError, status: str) -> str:
    """Why a decision was refused, in the reader's language."""
    if isinstance(error, reviews.VisitDoesNotCover):
        return cover_refusal(error)
    return review_error(error, status)


@bp.post("/events/<int:event_id>/plate")
@access.allow(Role.GUARD)
def correct_plate(event_id: int) -> ResponseReturnValue:
    """A guard's reading of the plate replaces the reader's, and the entry is checked again."""
    username, role = actor()
    text = request.form.get("plate", "")
    corrected = commit_or_flash(
        lambda session: reviews.correct_plate(session, event_id, text, actor=username, role=role,
                                              settings=settings()),
        reviews.ReviewError,
        review_error,
    )
    if corrected is not None:
        flash(_("Plate saved: %(plate)s.", plate=corrected.plate_text), "success")
    return redirect(url_for("events.detail", event_id=event_id), 303)


def _visit_id(text: str) -> int | None:
    """The visit chosen in the form; None (refused as "choose a visit") for anything but an id."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _saved(decision: Decision, count: int) -> str:
    if count == 1:
        return _("Saved: %(decision)s.", decision=label("decision", decision))
    return ngettext(
        "Saved: %(decision)s, for the %(num)d crossing of this passage.",
        "Saved: %(decision)s, for the %(num)d crossings of this passage.",
        count,
        decision=label("decision", decision),
    )


def _decision_view(decision: Decision) -> Callable[[int], ResponseReturnValue]:
    def decide(event_id: int) -> ResponseReturnValue:
        username, role = actor()
        form = request.form
        visit_text = form.get("visit_id", "")

        def explain(error: reviews.ReviewError) -> str:
            event = db().get(EntryEvent, event_id)
            if event is None:
                abort(404)
            return decision_error(error, event.status)

        taken = commit_or_flash(
            lambda session: reviews.decide(
                session,
                event_id,
                decision,
                actor=username,
                role=role,
                note=form.get("note", ""),
                visit_id=_visit_id(visit_text),
                settings=settings(),
            ),
            reviews.ReviewError,
            explain,
        )
        here = url_for("events.detail", event_id=event_id)
        if taken is None:
            return redirect(here, 303)
        flash(_saved(decision, len(taken)), "success")
        return redirect(form_next(here), 303)

    decide.__name__ = f"decide_{decision.value}"
    return access.allow(DECISIONS[decision].roles)(decide)


for _decision in Decision:
    bp.add_url_rule(
        f"/events/<int:event_id>/{_decision.slug}", view_func=_decision_view(_decision), methods=["POST"]
    )
