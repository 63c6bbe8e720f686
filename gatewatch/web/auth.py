"""Logging in and out, who the current user is, and API tokens for machine clients.

A browser logs in with a password and carries a session cookie; a machine client sends
``Authorization: Bearer <token>`` to /api/v1 and nothing else (tokens open no page). A device
(another system posting crossings) is only ever a token client: its session is never accepted,
even one signed with the right key, so no cookie can make it act on a page.

A session names the user's ``session_version`` and the moment of the login. It stops working
when the version is raised (logging out, a new password, deactivation, a new role: every session
of that user ends, copies of the cookie included), after ``SESSION_LIFETIME`` without a request
(the cookie's age, web/app.py) and at the latest ``ABSOLUTE_SESSION_LIFETIME`` after the login,
however busy it was. Logging in starts a new session: nothing set before it is kept.

Guessing is slowed in the database, per address and per username (``users.verify_login``), so
all workers, servers and restarts count together. A user who still has the demo password logs in
only from the computer gatewatch runs on. API tokens are not sessions: they last until revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from gatewatch.accounts import users
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import User
from gatewatch.models.types import utcnow
from gatewatch.web import access
from gatewatch.web.context import db, settings
from gatewatch.web.navigation import safe_next

#: The longest a session lasts after its login, however busy (a shift and its handover).
ABSOLUTE_SESSION_LIFETIME = timedelta(hours=14)
#: The session key holding the moment of the login (seconds since the epoch).
_LOGIN_AT = "login_at"

bp = Blueprint("auth", __name__)


def clock() -> datetime:
    """Now; a function so tests can move it."""
    return utcnow()


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
    session_version: int = 0

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.username, Role(user.role), user.full_name, user.locale, user.session_version)

    def get_id(self) -> str:
        """What the session keeps: ``<id>:<session_version>``, so raising the version ends it."""
        return f"{self.id}:{self.session_version}"

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


def _load_session_user(session_id: str) -> Account | None:
    if access.is_api_request() and _bearer_token() is not None:
        return None  # a request that names a token is judged by the token alone
    user_id, _sep, version = session_id.partition(":")
    user = db().get(User, int(user_id)) if user_id.isdigit() and version.isdigit() else None
    if (
        user is None
        or not user.active
        or user.role not in HUMAN_ROLES
        or user.session_version != int(version)
        or not _within_lifetime()
    ):
        flask_session.clear()  # ended: nothing of it is kept, nor sent again
        return None
    return Account.of(user)


def _within_lifetime() -> bool:
    login_at = flask_session.get(_LOGIN_AT)
    if not isinstance(login_at, int | float):
        return False
    age = clock().timestamp() - login_at
    limit: timedelta = current_app.config["ABSOLUTE_SESSION_LIFETIME"]
    return 0 <= age <= limit.total_seconds() + 60  # a minute of leeway for workers' clocks


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
    app.config.setdefault("ABSOLUTE_SESSION_LIFETIME", ABSOLUTE_SESSION_LIFETIME)


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
        user = users.verify_login(
            session,
            username,
            request.form.get("password", ""),
            address=request.remote_addr or "",
            now=clock(),
        )
    except users.LoginRefused as refused:
        session.commit()  # the count of failures and its audit record
        status = 429 if isinstance(refused, users.LoginThrottled) else 401
        response = current_app.make_response(
            (render_template("login.html", username=username, error=_login_message(refused)), status)
        )
        if isinstance(refused, users.LoginThrottled):
            response.headers["Retry-After"] = str(
                max(1, int((refused.retry_at - clock()).total_seconds()) + 1)
            )
        return response
    session.commit()
    start_session(Account.of(user))
    return redirect(safe_next(request.args.get("next")))


def start_session(account: Account) -> None:
    """A new session for ``account``: nothing of the one before is kept (a new CSRF token too)."""
    flask_session.clear()
    login_user(account)
    flask_session[_LOGIN_AT] = int(clock().timestamp())
    flask_session.permanent = True  # ends after SESSION_LIFETIME idle, not only when the browser closes


def _login_message(refused: users.LoginRefused) -> str:
    if isinstance(refused, users.LoginThrottled):
        until = refused.retry_at.astimezone(settings().zone).strftime("%H:%M:%S")
        return _("Too many failed logins. Try again after %(time)s.", time=until)
    if isinstance(refused, users.DemoPasswordRemote):
        return _(
            "This account still has the demo password, which works only on the computer gatewatch runs on. "
            "Log in there and set a password of your own."
        )
    if isinstance(refused, users.AccountInactive):
        return _("This account is deactivated. Ask an administrator.")
    return _("Wrong username or password.")


@bp.route("/logout", methods=["POST"])
@access.allow(access.EVERYONE)
def logout() -> ResponseReturnValue:
    session = db()
    users.end_sessions(session, current_user.id)  # copies of the cookie stop working too
    session.commit()
    logout_user()
    flask_session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
