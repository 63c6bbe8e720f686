"""Logging in and out, who the current user is, and API tokens for machine clients.

A browser logs in with a password and carries a session cookie; a machine client sends
``Authorization: Bearer <token>`` to /api/v1 and nothing else (tokens open no page). A device
(another system posting crossings) is only ever a token client: its session is never accepted,
even one signed with the right key, so no cookie can make it act on a page. Guessing
is slowed twice: per account (``users.verify_login`` locks it after repeated failures) and per
address (``LOGIN_RATE``, counting only failed attempts). The address limit is kept in memory,
per process: behind gunicorn each worker counts for itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from gatewatch.accounts import users
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import User
from gatewatch.web import access
from gatewatch.web.context import db, settings
from gatewatch.web.navigation import safe_next

#: Failed logins allowed from one address.
LOGIN_RATE = "20 per 10 minutes"

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class Account(UserMixin):
    """The logged-in user as a request sees it, read from the database on every request.

    Reading it anew means a deactivation or a change of role takes effect at the next click.
    """

    id: int
    username: str
    role: Role
    full_name: str
    locale: str | None

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.username, Role(user.role), user.full_name, user.locale)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


def actor() -> tuple[str, str]:
    """Who acts, for the audit trail: (username, role)."""
    return current_user.username, current_user.role.value


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _load_session_user(user_id: str) -> Account | None:
    if access.is_api_request() and _bearer_token() is not None:
        return None  # a request that names a token is judged by the token alone
    user = db().get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or user.role not in HUMAN_ROLES:
        return None
    return Account.of(user)


def _load_token_user(_request: object) -> Account | None:
    token = _bearer_token()
    if token is None or not access.is_api_request():
        return None
    session = db()
    user = users.user_for_token(session, token)
    try:
        session.commit()  # keeps last_used_at
    except sa.exc.OperationalError:  # the database is busy (a long import): the time of use can wait
        session.rollback()
    if user is None:
        return None
    g.token_auth = True
    return Account.of(user)


def authenticated_by_token() -> bool:
    return bool(g.get("token_auth"))


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(_load_session_user)
    manager.request_loader(_load_token_user)
    manager.session_protection = "basic"
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    limiter.limit(LOGIN_RATE, methods=["POST"], deduct_when=lambda response: response.status_code != 302)(bp)
    app.register_error_handler(429, _too_many_attempts)


@bp.route("/login", methods=["GET", "POST"])
@access.public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip().lower()
    session = db()
    try:
        user = users.verify_login(session, username, request.form.get("password", ""))
    except users.LoginRefused as refused:
        session.commit()  # the failure count and its audit record
        return render_template("login.html", username=username, error=_login_message(refused)), 401
    session.commit()
    login_user(Account.of(user))
    flask_session.permanent = True  # ends after SESSION_LIFETIME (a shift), not only when the browser closes
    return redirect(safe_next(request.args.get("next")))


def _login_message(refused: users.LoginRefused) -> str:
    if refused.locked_until is not None:
        until = refused.locked_until.astimezone(settings().zone).strftime("%H:%M")
        return _("Too many wrong passwords: this account is locked until %(time)s.", time=until)
    if isinstance(refused, users.AccountInactive):
        return _("This account is deactivated. Ask an administrator.")
    return _("Wrong username or password.")


def _too_many_attempts(_error: Exception) -> tuple[str, int]:
    return render_template(
        "login.html", error=_("Too many failed logins from this device. Wait a few minutes.")
    ), 429


@bp.route("/logout", methods=["POST"])
@access.allow(access.EVERYONE)
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
