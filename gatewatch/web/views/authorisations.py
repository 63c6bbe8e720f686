"""Standing authorisations on a page: everyone reads who may come in without a visit, when and
through which gate; admins add them and end them.

The validation messages and the saving step are shared with the JSON API
(``web/api/authorisations.py``), so a page and a client hear the same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gatewatch.events.queries import cameras_by_id
from gatewatch.models.enums import Role
from gatewatch.models.tables import Authorisation
from gatewatch.visitors import authorisations
from gatewatch.visitors.authorisations import AuthorisationInput
from gatewatch.visitors.nik_display import sees_full_nik
from gatewatch.visitors.visits import VisitLogError
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import plate_hint
from gatewatch.web.transaction import commit_or_flash
from gatewatch.web.validation import FORM_ERROR, _message

bp = Blueprint("authorisations", __name__)

WEEKDAY_NAMES = {
    1: _l("Mon"),
    2: _l("Tue"),
    3: _l("Wed"),
    4: _l("Thu"),
    5: _l("Fri"),
    6: _l("Sat"),
    7: _l("Sun"),
}
#: The form's single-value inputs; plates, members and weekdays are read apart.
FORM_FIELDS = (
    "holder", "organisation", "purpose", "max_persons", "max_vehicles", "camera_id",
    "valid_from", "valid_until", "start_time", "end_time",
)
_LIST_SPLIT = re.compile(r"[,;\n]")


# --- shared with the API ---------------------------------------------------------------------


def _field_message(details: ErrorDetails) -> str:
    """One validation error in the user's language; the field is the innermost name (id_number ...)."""
    names = [str(part) for part in details["loc"] if isinstance(part, str)]
    kind = details["type"]
    messages = {
        "clock": _("Enter a time like 08:00."),
        "hours_pair": _("Give both the start and the end time, or neither for all day."),
        "hours_equal": _("The end time must differ from the start time."),
        "covers_nothing": _("Allow at least one person or one vehicle."),
        "until_before_from": _("The last day cannot be before the first day."),
    }
    if kind in messages:
        return messages[kind]
    if names and names[0] == "weekdays" and kind not in ("missing",):
        return _("Choose at least one weekday, 1 (Monday) to 7 (Sunday).")
    if names and names[0] == "plates" and kind == "value_error":
        return plate_hint()
    if kind.startswith("date"):
        return _("Enter a date like 2026-11-20.")
    return _message(names[-1] if names else FORM_ERROR, details)


def field_messages(error: ValidationError, *, nested: bool) -> dict[str, str]:
    """The first message for each input at fault: ``members.1.id_number`` when ``nested``, else ``members``."""
    messages: dict[str, str] = {}
    for details in error.errors():
        parts = [str(part) for part in details["loc"]] or [FORM_ERROR]
        messages.setdefault(".".join(parts) if nested else parts[0], _field_message(details))
    return messages


def authorisation_error(error: VisitLogError) -> str:
    """Why an authorisation could not be saved or ended."""
    if isinstance(error, authorisations.AuthorisationNotFound):
        return _("There is no such authorisation.")
    if isinstance(error, authorisations.AlreadyEnded):
        return _("This authorisation has already been ended.")
    if isinstance(error, authorisations.UnknownCamera):
        return _("There is no such gate.")
    return str(error)


@dataclass
class Saved:
    authorisation: Authorisation | None = None
    errors: dict[str, str] = field(default_factory=dict)


def save(data: Mapping[str, Any], *, nested: bool) -> Saved:
    """Validate ``data`` as an AuthorisationInput and add it (committed), or return the field errors."""
    try:
        authorisation_input = AuthorisationInput.parse(data, settings().zone)
    except ValidationError as error:
        return Saved(errors=field_messages(error, nested=nested))
    session = db()
    username, role = actor()
    try:
        added = authorisations.add_authorisation(
            session, authorisation_input, actor=username, role=role, settings=settings()
        )
    except authorisations.UnknownCamera as error:
        session.rollback()
        return Saved(errors={"camera_id": authorisation_error(error)})
    session.commit()
    return Saved(added)


def reveals_nik() -> bool:
    """Whether the user may read members' NIKs in full: guards and admins (``nik_display``)."""
    return bool(current_user.is_authenticated and sees_full_nik(current_user.role))


# --- the page --------------------------------------------------------------------------------


def _form_data(form: Mapping[str, str], lists: Mapping[str, list[str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted form as AuthorisationInput data, and errors of what could not even be read."""
    data: dict[str, Any] = {name: form[name] for name in FORM_FIELDS if form.get(name, "").strip()}
    data["plates"] = [plate.strip() for plate in _LIST_SPLIT.split(form.get("plates", "")) if plate.strip()]
    data["weekdays"] = lists.get("weekdays", [])
    members, errors = [], {}
    for number, line in enumerate(form.get("members", "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            members.append(authorisations.parse_member(line))
        except ValueError:
            errors["members"] = _("Line %(line)d: write the name, a colon, then the NIK.", line=number)
    data["members"] = members
    return data, errors


def _blank_form() -> dict[str, Any]:
    today = datetime.now(settings().zone).date().isoformat()
    return {"max_persons": "1", "max_vehicles": "0", "valid_from": today, "valid_until": today,
            "weekdays": [str(day) for day in WEEKDAY_NAMES]}


def _page(form: Mapping[str, Any], errors: Mapping[str, str] | None = None) -> str:
    session = db()
    now = datetime.now(UTC)
    rows = authorisations.list_authorisations(session)
    return render_template(
        "authorisations.html",
        rows=rows,
        active={row.id for row in rows if authorisations.in_force(row, now, settings().zone)},
        members={row.id: authorisations.members_of(row, masked=not reveals_nik()) for row in rows},
        plates={row.id: authorisations.plates_of(row) for row in rows},
        cameras=cameras_by_id(session),
        weekday_names=WEEKDAY_NAMES,
        weekdays_of=authorisations.weekdays_of,
        form=form,
        errors=errors or {},
    )


@bp.get("/authorisations")
@access.allow(access.EVERYONE)
def index() -> str:
    return _page(_blank_form())


@bp.post("/authorisations")
@access.allow(Role.ADMIN)
def create() -> ResponseReturnValue:
    data, errors = _form_data(request.form, request.form.to_dict(flat=False))
    saved = Saved(errors=errors) if errors else save(data, nested=False)
    if saved.authorisation is None:
        form = {**request.form.to_dict(), "weekdays": request.form.getlist("weekdays")}
        return _page(form, saved.errors), 422
    flash(_("Authorisation for %(holder)s added.", holder=saved.authorisation.holder), "success")
    return redirect(url_for("authorisations.index"), 303)


@bp.post("/authorisations/<int:authorisation_id>/end")
@access.allow(Role.ADMIN)
def end(authorisation_id: int) -> ResponseReturnValue:
    username, role = actor()
    ended = commit_or_flash(
        lambda session: authorisations.end_authorisation(
            session, authorisation_id, actor=username, role=role, settings=settings()
        ),
        VisitLogError,
        authorisation_error,
    )
    if ended is not None:
        flash(_("Authorisation for %(holder)s ended.", holder=ended.holder), "success")
    return redirect(url_for("authorisations.index"), 303)
