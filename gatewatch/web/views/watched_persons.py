"""The persons watch list under /admin/watchlist/persons: NIKs of people who must not enter.

Admins add and remove entries, each with a reason; auditors read the list, with the NIKs masked
(``nik_display.nik_for``): only admins see them whole here. Guards and operators never read the
list: they meet it as a warning when a visit is registered for a listed NIK, and as the
``watchlist`` flag on the entries that visit would explain. NIKs travel in form bodies only,
never in a URL.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gatewatch.models.enums import Role
from gatewatch.models.tables import Visit, WatchlistPerson
from gatewatch.visitors import watched_persons
from gatewatch.visitors.nik_display import masked_nik, nik_for
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.transaction import commit_or_flash
from gatewatch.web.validation import FORM_ERROR, _nik

bp = Blueprint("watched_persons", __name__, url_prefix="/admin/watchlist/persons")

READERS = (Role.ADMIN, Role.AUDITOR)


def watched_person_error(error: watched_persons.WatchlistError, nik: str = "") -> str:
    """Why a NIK could not be put on, or taken off, the persons watch list, in the reader's language."""
    if isinstance(error, watched_persons.PersonAlreadyListed):
        return _("This NIK is already on the persons watch list.")
    if isinstance(error, watched_persons.EntryNotFound):
        return _("This person is not on the watch list (any more).")
    if isinstance(error, watched_persons.InvalidReason):
        return _("Give a reason of at most %(count)d characters.", count=watched_persons.MAX_REASON_LENGTH)
    if error.field == "nik":
        return _nik(nik) if nik.strip() else _("Required.")
    return str(error)


@bp.app_template_global()
def watched_entries(visit: Visit | None) -> Sequence[WatchlistPerson]:
    """The persons watch-list entries of a visit's NIK, for the guard's warning (``_watchlist_warning.html``)."""
    return watched_persons.entries_for(db(), visit.id_number) if visit is not None else []


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    _username, role = actor()
    entries = [(entry, nik_for(entry.nik, role)) for entry in watched_persons.active_persons(db())]
    return render_template("admin_watched_persons.html", entries=entries, form=form or {}, errors=errors or {},
                           max_reason=watched_persons.MAX_REASON_LENGTH)


@bp.get("")
@access.allow(READERS)
def page() -> str:
    return _page()


@bp.post("")
@access.allow(Role.ADMIN)
def add() -> ResponseReturnValue:
    session = db()
    username, role = actor()
    form = {name: request.form.get(name, "") for name in ("nik", "reason")}
    try:
        entry = watched_persons.add_person(session, form["nik"], form["reason"], actor=username, role=role,
                                           settings=settings())
    except watched_persons.WatchlistError as error:
        session.rollback()
        return _page(form, {error.field or FORM_ERROR: watched_person_error(error, form["nik"])}), 422
    session.commit()
    flash(_("%(nik)s is on the persons watch list.", nik=masked_nik(entry.nik)), "success")
    return redirect(url_for("watched_persons.page"), 303)


@bp.post("/<int:entry_id>/remove")
@access.allow(Role.ADMIN)
def remove(entry_id: int) -> ResponseReturnValue:
    username, role = actor()
    removed = commit_or_flash(
        lambda session: watched_persons.remove_person(session, entry_id, actor=username, role=role,
                                                      settings=settings()),
        watched_persons.WatchlistError,
        watched_person_error,
    )
    if removed is not None:
        flash(_("%(nik)s is off the persons watch list.", nik=masked_nik(removed.nik)), "success")
    return redirect(url_for("watched_persons.page"), 303)
