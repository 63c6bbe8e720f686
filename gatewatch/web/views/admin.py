"""Administration: users (create, change role, deactivate, new password), API tokens and the
plates watch list.

A device (another system posting crossings) is created like a person but without a password; it
keeps the device role and acts through the API tokens issued here.

Auditors may read these pages too; only admins change anything.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlmodel import select

from gatewatch.accounts import users
from gatewatch.crosscheck import watchlist
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import User
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import user_error, watchlist_error
from gatewatch.web.transaction import commit_or_flash
from gatewatch.web.validation import FORM_ERROR

bp = Blueprint("admin", __name__, url_prefix="/admin")

READERS = (Role.ADMIN, Role.AUDITOR)


def _users_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    rows = db().exec(select(User).order_by(User.username)).all()
    return render_template(
        "admin_users.html", users=rows, roles=list(Role), human_roles=list(HUMAN_ROLES), device=Role.DEVICE,
        form=form or {}, errors=errors or {},
    )


@bp.get("/users")
@access.allow(READERS)
def users_page() -> str:
    return _users_page()


@bp.post("/users")
@access.allow(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    session = db()
    username, role = actor()
    form = request.form
    try:
        created = users.create_user(
            session,
            form.get("username", "").strip().lower(),
            None if form.get("role") == Role.DEVICE else form.get("password", ""),
            form.get("role", ""),
            full_name=form.get("full_name", ""),
            locale=form.get("locale") or None,
            actor=username,
            actor_role=role,
        )
    except users.UserError as error:
        session.rollback()
        values = {k: v for k, v in form.items() if k != "password"}
        return _users_page(values, {error.field or FORM_ERROR: user_error(error)}), 422
    session.commit()
    flash(_("User %(name)s created.", name=created.username), "success")
    return redirect(url_for("admin.users_page"), 303)


def _saved(changed: User | None) -> ResponseReturnValue:
    if changed is not None:
        flash(_("User %(name)s saved.", name=changed.username), "success")
    return redirect(url_for("admin.users_page"), 303)


@bp.post("/users/<int:user_id>")
@access.allow(Role.ADMIN)
def update_user(user_id: int) -> ResponseReturnValue:
    username, role = actor()
    form = request.form
    active = form.get("active") == "1" if "active" in form else None
    return _saved(
        commit_or_flash(
            lambda session: users.update_user(
                session,
                user_id,
                role=form.get("role") or None,
                active=active,
                actor=username,
                actor_role=role,
            ),
            users.UserError,
            user_error,
        )
    )


@bp.post("/users/<int:user_id>/password")
@access.allow(Role.ADMIN)
def set_password(user_id: int) -> ResponseReturnValue:
    username, role = actor()
    password = request.form.get("password", "")
    return _saved(
        commit_or_flash(
            lambda session: users.set_password(session, user_id, password, actor=username, actor_role=role),
            users.UserError,
            user_error,
        )
    )


def _tokens_page(issued: str | None = None, errors: dict[str, str] | None = None) -> str:
    session = db()
    return render_template(
        "admin_tokens.html",
        tokens=users.list_tokens(session),
        issued=issued,
        users=session.exec(select(User).where(User.active).order_by(User.username)).all(),
        errors=errors or {},
    )


@bp.get("/tokens")
@access.allow(READERS)
def tokens_page() -> str:
    return _tokens_page()


@bp.post("/tokens")
@access.allow(Role.ADMIN)
def issue_token() -> Response | tuple[str, int]:
    """Shows the new token in this response only: it is stored nowhere, not even in the session."""
    session = db()
    username, role = actor()
    user_text = request.form.get("user_id", "")
    try:
        _row, token = users.issue_token(
            session,
            int(user_text) if user_text.isdigit() else 0,
            request.form.get("name", ""),
            actor=username,
            actor_role=role,
        )
    except users.UserError as error:
        session.rollback()
        return _tokens_page(errors={error.field or "user_id": user_error(error)}), 422
    session.commit()
    response = Response(_tokens_page(issued=token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@access.allow(Role.ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    username, role = actor()
    revoked = commit_or_flash(
        lambda session: users.revoke_token(session, token_id, actor=username, actor_role=role),
        users.UserError,
        user_error,
    )
    if revoked is not None:
        flash(_("Token revoked."), "success")
    return redirect(url_for("admin.tokens_page"), 303)


def _watchlist_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> str:
    return render_template("admin_watchlist.html", entries=watchlist.active_entries(db()), form=form or {},
                           errors=errors or {}, max_reason=watchlist.MAX_REASON_LENGTH)


@bp.get("/watchlist")
@access.allow(READERS)
def watchlist_page() -> str:
    return _watchlist_page()


@bp.post("/watchlist")
@access.allow(Role.ADMIN)
def add_watchlist_plate() -> ResponseReturnValue:
    session = db()
    username, role = actor()
    form = {name: request.form.get(name, "") for name in ("plate", "reason")}
    try:
        entry = watchlist.add_plate(session, form["plate"], form["reason"], actor=username, role=role,
                                    settings=settings())
    except watchlist.WatchlistError as error:
        session.rollback()
        return _watchlist_page(form, {error.field or FORM_ERROR: watchlist_error(error)}), 422
    session.commit()
    flash(_("%(plate)s is on the watch list.", plate=entry.plate), "success")
    return redirect(url_for("admin.watchlist_page"), 303)


@bp.post("/watchlist/<int:entry_id>/remove")
@access.allow(Role.ADMIN)
def remove_watchlist_plate(entry_id: int) -> ResponseReturnValue:
    username, role = actor()
    removed = commit_or_flash(
        lambda session: watchlist.remove_plate(session, entry_id, actor=username, role=role, settings=settings()),
        watchlist.WatchlistError,
        watchlist_error,
    )
    if removed is not None:
        flash(_("%(plate)s is off the watch list.", plate=removed.plate), "success")
    return redirect(url_for("admin.watchlist_page"), 303)
