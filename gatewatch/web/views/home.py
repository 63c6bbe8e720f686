"""The start page of each role, and the language switch every user has."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gatewatch.accounts import users
from gatewatch.models.enums import Role
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.messages import user_error
from gatewatch.web.navigation import form_next
from gatewatch.web.transaction import commit_or_flash

bp = Blueprint("home", __name__)

ROLE_HOMES = {
    Role.OPERATOR: "events.queue",
    Role.GUARD: "visits.index",
    Role.AUDITOR: "overview.index",
    Role.ADMIN: "admin.users_page",
}


@bp.get("/")
@access.allow(access.EVERYONE)
def index() -> ResponseReturnValue:
    return redirect(url_for(ROLE_HOMES[current_user.role]))


@bp.post("/account/language")
@access.allow(access.EVERYONE)
def language() -> ResponseReturnValue:
    """Set one's own language: a preference, not a change to the records, so every role may."""
    username, role = actor()
    locale = request.form.get("locale", "")
    commit_or_flash(
        lambda session: users.update_user(
            session, current_user.id, locale=locale, actor=username, actor_role=role
        ),
        users.UserError,
        user_error,
    )
    return redirect(form_next())
