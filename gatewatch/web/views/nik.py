"""Visitors' NIKs on pages: in full for guards and admins, masked for everyone else, and the
auditor's reveal of one visit's NIK with a reason.

Templates ask ``shown_nik(nik)`` (a template global set here) for a NIK as the reader may see it,
and include ``_reveal_nik.html`` beside it for the reveal form, so no page decides on its own who
sees what (``visitors.nik_display``). The reveal POSTs its reason and the answer shows the NIK once,
never in a URL; ``visitors.reveal`` records it in the audit trail (``visit.revealed``), like
``POST /api/v1/visits/{id}/reveal``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from gatewatch.models.enums import Role
from gatewatch.models.tables import Visit
from gatewatch.visitors import reveal as visit_reveal
from gatewatch.visitors.nik_display import nik_for, sees_full_nik
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db

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


@bp.post("/visits/<int:visit_id>/reveal")
@access.allow(REVEALERS)
def reveal(visit_id: int) -> ResponseReturnValue:
    """Show one visit's NIK in full, once, to an auditor who gave a reason; audited."""
    session = db()
    visit = session.get(Visit, visit_id)
    if visit is None:
        abort(404)
    reason = request.form.get("reason", "")
    username, role = actor()
    try:
        visit_reveal.reveal_nik(session, visit_id, reason, actor=username, role=role)
    except visit_reveal.RevealReasonRequired as problem:
        return render_template("visit_reveal.html", visit=visit, full_nik=None, reason=reason,
                               error=reveal_error(problem)), 422
    session.commit()
    return render_template("visit_reveal.html", visit=visit, full_nik=visit.id_number, reason=reason, error=None)
