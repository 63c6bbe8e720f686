"""Visitors' NIKs on pages: in full for guards and admins, masked for everyone else, and the
auditor's reveal of one visit's NIK with a reason.

Templates ask ``shown_nik(nik)`` (a template global set here) for a NIK as the reader may see it,
and include ``_reveal_nik.html`` beside it for the reveal form, so no page decides on its own who
sees what (``visitors.nik_display``). The reveal POSTs its reason and the answer shows the NIK once,
never in a URL; ``visitors.reveal`` records it in the audit trail (``visit.revealed``), like
``POST /api/v1/visits/{id}/reveal``. The members of a standing authorisation are revealed alike
(``authorisation.revealed``, ``_reveal_members.html``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from gatewatch.models.enums import Role
from gatewatch.models.tables import Authorisation, Visit
from gatewatch.visitors import reveal as visit_reveal
from gatewatch.visitors.authorisations import members_of
from gatewatch.visitors.nik_display import nik_for, sees_full_nik
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings

bp = Blueprint("nik", __name__)
#: Who may reveal a masked NIK: auditors. Guards and admins see NIKs in full already.
REVEALERS = frozenset({Role.AUDITOR})


def reader_role() -> Role | None:
    """The role of whoever reads the page or the API answer; None when nobody is logged in."""
    return current_user.role if current_user.is_authenticated else None


def shown_nik(nik: str | None) -> str:
    """A NIK as the reader may see it: whole for guards and admins, masked for the others."""
    return nik_for(nik, reader_role())


def reader_sees_full_nik() -> bool:
    return sees_full_nik(reader_role())


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"shown_nik": shown_nik, "sees_full_nik": reader_sees_full_nik}


def reveal_error(problem: visit_reveal.RevealReasonRequired) -> str:
    """Why a reveal was refused, in the reader's language."""
    if isinstance(problem, visit_reveal.RevealReasonTooLong):
        return _("Give a reason of at most %(count)d characters.", count=visit_reveal.MAX_REASON_LENGTH)
    return _("Give the reason why the full NIK must be seen.")


@bp.route("/visits/<int:visit_id>/reveal", methods=["GET", "POST"])
@access.allow(REVEALERS)
def reveal(visit_id: int) -> ResponseReturnValue:
    """Show one visit's NIK in full, once, to an auditor who gave a reason; audited. A GET (the
    language switch on the answer) shows the visit in the visitor log, its NIK masked."""
    session = db()
    visit = session.get(Visit, visit_id)
    if visit is None:
        abort(404)
    if request.method == "GET":
        day = visit.check_in_at.astimezone(settings().zone).strftime("%Y-%m-%d")
        return redirect(url_for("visits.index", date=day, _anchor=f"visit-{visit_id}"), 303)
    reason = request.form.get("reason", "")
    username, role = actor()
    try:
        visit_reveal.reveal_nik(session, visit_id, reason, actor=username, role=role)
    except visit_reveal.RevealReasonRequired as problem:
        return render_template("visit_reveal.html", visit=visit, full_nik=None, reason=reason,
                               error=reveal_error(problem)), 422
    session.commit()
    return render_template("visit_reveal.html", visit=visit, full_nik=visit.id_number, reason=reason, error=None)


@bp.route("/authorisations/<int:authorisation_id>/reveal", methods=["GET", "POST"])
@access.allow(REVEALERS)
def reveal_members(authorisation_id: int) -> ResponseReturnValue:
    """Show the NIKs of one authorisation's members in full, once, to an auditor who gave a reason;
    audited. A GET (the language switch on the answer) goes back to the authorisations."""
    session = db()
    authorisation = session.get(Authorisation, authorisation_id)
    if authorisation is None:
        abort(404)
    if request.method == "GET":
        return redirect(url_for("authorisations.index", _anchor=f"authorisation-{authorisation_id}"), 303)
    reason = request.form.get("reason", "")
    username, role = actor()
    try:
        visit_reveal.reveal_members(session, authorisation_id, reason, actor=username, role=role)
    except visit_reveal.RevealReasonRequired as problem:
        return render_template("members_reveal.html", authorisation=authorisation, reason=reason,
                               members=members_of(authorisation, masked=True), revealed=False,
                               error=reveal_error(problem)), 422
    session.commit()
    return render_template("members_reveal.html", authorisation=authorisation, reason=reason,
                           members=members_of(authorisation), revealed=True, error=None)
