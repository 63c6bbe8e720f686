"""People who log in and the API tokens of machine clients.

Passwords are kept only as werkzeug hashes and tokens only as their SHA-256, so a copy of the
database lets nobody log in. A ``device`` (another system posting crossings) has no password at
all: it acts only through its API tokens, and a login as one is refused like a wrong password.

Guessing is slowed in the database (``LoginThrottle``), so every web worker and server and every
restart share the count: per address and per username, ``FREE_FAILURES`` wrong passwords are
free, then each further one makes the next attempt wait twice as long, from ``FIRST_DELAY`` up to
``ADDRESS_MAX_DELAY`` for an address and the much shorter ``USERNAME_MAX_DELAY`` for a username,
so a stranger cannot keep a user (the admin) out from elsewhere for long while the stranger's own
address soon waits a quarter of an hour. Unknown usernames are counted like real ones, so the
answers do not tell which usernames exist. A right password clears both counts.

``session_version`` ends a user's web sessions: a session is valid only with the version it was
started with, and logging out, a new password, deactivation and a change of role raise it.
Nothing here commits: the caller owns the transaction. Every change is audited.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from gatewatch.audit import trail
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import ApiToken, LoginThrottle, User
from gatewatch.models.types import utcnow

#: Wrong passwords from one address, or for one username, before attempts have to wait.
FREE_FAILURES = 5
#: The wait after the first failure beyond the free ones; each further failure doubles it.
FIRST_DELAY = timedelta(seconds=1)
#: The longest wait of an address: a guesser from one address gets 4 attempts an hour.
ADDRESS_MAX_DELAY = timedelta(minutes=15)
#: The longest wait of a username, short because anyone anywhere can make a username wait.
USERNAME_MAX_DELAY = timedelta(minutes=1)
#: Failures older than this are forgotten (and their rows deleted).
THROTTLE_MEMORY = timedelta(days=1)
#: The password ``gatewatch demo`` gives its users: accepted only from the computer itself.
DEMO_PASSWORD = "gatewatch-demo"
MIN_PASSWORD_LENGTH = 10
LOCALES = ("en", "id")
#: Every token starts with this, so a leaked one is easy to recognise in logs and code.
TOKEN_PREFIX = "gw_"
#: ``last_used_at`` is written at most this often, so reading the API does not write on every call.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")
_AUDITED_USER_FIELDS = ("username", "role", "full_name", "locale", "active")
#: A device's password hash: no werkzeug hash has this form, so no password ever matches it.
NO_PASSWORD = "!no password: a device acts through its API tokens"


@cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong name takes as long as a wrong password.

    Made on first use: hashing takes 0.1 s, which every command would otherwise pay at start.
    """
    return generate_password_hash("not a password of anyone")


class UserError(Exception):
    """A user or token change cannot be made; ``field`` names the input at fault, the message says why."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


class UserNotFound(UserError):
    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class LastAdmin(UserError):
    def __init__(self) -> None:
        super().__init__(None, "this is the last active admin: make another admin first")


class UsernameTaken(UserError):
    def __init__(self, username: str) -> None:
        super().__init__("username", f"the username {username!r} is taken")


class TokenRevoked(UserError):
    def __init__(self, token: ApiToken) -> None:
        super().__init__(None, f"API token #{token.id} ({token.name}) is already revoked")


class DeviceHasNoPassword(UserError):
    def __init__(self) -> None:
        super().__init__(None, "a device or metrics account has no password: it acts through its API tokens")


class RoleKindChange(UserError):
    def __init__(self) -> None:
        super().__init__(None, "a device or metrics account keeps its role, and a person's account cannot take "
                         "one of theirs: add a new user")


class LoginRefused(Exception):
    """The login failed: wrong username or password."""


class LoginThrottled(LoginRefused):
    """Too many failed logins from the address or for the username: no attempt before ``retry_at``.

    The same for a username that exists and one that does not.
    """

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"too many failed logins; try again after {retry_at.isoformat()}")
        self.retry_at = retry_at


class AccountInactive(LoginRefused):
    """The password was right, but an admin has deactivated the account."""


class DemoPasswordRemote(LoginRefused):
    """The password was right, but it is the demo password and the request came over the network."""


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise UserError(
            "username",
            "a username is 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("password", f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(
            "role", f"unknown role {role!r}; choose from {', '.join(r.value for r in Role)}"
        ) from None


def check_locale(locale: str | None) -> str | None:
    if locale is not None and locale not in LOCALES:
        raise UserError("locale", f"unknown language {locale!r}; choose from {', '.join(LOCALES)}")
    return locale


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"there is no user #{user_id}")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def _password_hash(role: Role, password: str | None) -> str:
    """A person's password hashed; for a device or a metrics scraper, ``NO_PASSWORD`` whatever is given."""
    if role not in HUMAN_ROLES:
        return NO_PASSWORD
    return generate_password_hash(check_password(password or ""))


def create_user(
    session: Session,
    username: str,
    password: str | None,
    role: str,
    *,
    full_name: str = "",
    locale: str | None = None,
    actor: str,
    actor_role: str,
) -> User:
    """Add a user (audit ``user.created``; the hash is never written to the audit trail).

    A device gets no password (``password`` is not used): it acts through API tokens only.
    """
    check_username(username)
    checked_role = check_role(role)
    if find_user(session, username) is not None:
        raise UsernameTaken(username)
    user = User(
        username=username,
        password_hash=_password_hash(checked_role, password),
        role=checked_role.value,
        full_name=full_name.strip()[:200],
        locale=check_locale(locale),
    )
    session.add(user)
    session.flush()
    _audit_user(session, user, "user.created", None, actor=actor, actor_role=actor_role)
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
    locale: str | None = None,
    actor: str,
    actor_role: str,
) -> User:
    """Change a user's role, active flag or language (audit ``user.updated``).

    The last active admin can be neither demoted nor deactivated: nobody could undo it. A device
    stays a device and a person's account a person's: one has no password, the other no business
    posting crossings. A new role or a deactivation ends the user's web sessions.
    """
    user = get_user(session, user_id)
    changed = role is not None and check_role(role).value != user.role
    if changed and (check_role(role) not in HUMAN_ROLES or user.role not in HUMAN_ROLES):
        raise RoleKindChange()
    before = trail.row_values(user, _AUDITED_USER_FIELDS)
    stays_admin = (role is None or role == Role.ADMIN) and active is not False
    if user.role == Role.ADMIN and user.active and not stays_admin and _active_admins(session) <= 1:
        raise LastAdmin()
    if role is not None and check_role(role).value != user.role:
        user.role = check_role(role).value
        user.session_version += 1
    if active is not None and active != user.active:
        user.active = active
        user.session_version += 1
    if locale is not None:
        user.locale = check_locale(locale)
    if trail.row_values(user, _AUDITED_USER_FIELDS) != before:
        session.flush()
        _audit_user(session, user, "user.updated", before, actor=actor, actor_role=actor_role)
    return user


def _active_admins(session: Session) -> int:
    query = select(sa.func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return session.exec(query).one()


def set_password(session: Session, user_id: int, password: str, *, actor: str, actor_role: str) -> User:
    """Give a user a new password and end their web sessions (audit ``user.password_set``, without the hash).

    The username's count of failed logins is cleared, so the user can log in at once.
    """
    user = get_user(session, user_id)
    if user.role not in HUMAN_ROLES:
        raise DeviceHasNoPassword()
    user.password_hash = generate_password_hash(check_password(password))
    user.session_version += 1
    _clear_throttle(session, [username_scope(user.username)])
    session.flush()
    trail.record(
        session, actor=actor, role=actor_role, action="user.password_set", entity="user", entity_id=user.id
    )
    return user


def _audit_user(
    session: Session,
    user: User,
    action: str,
    before: dict[str, object] | None,
    *,
    actor: str,
    actor_role: str,
) -> None:
    trail.record(
        session,
        actor=actor,
        role=actor_role,
        action=action,
        entity="user",
        entity_id=user.id,
        before=before,
        after=trail.row_values(user, _AUDITED_USER_FIELDS),
    )


def end_sessions(session: Session, user_id: int) -> None:
    """End every web session of the user (logging out ends the copies of a session cookie too)."""
    session.execute(
        sa.update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )


def verify_login(
    session: Session, username: str, password: str, *, address: str | None = None, now: datetime | None = None
) -> User:
    """The active user with this name and password, or LoginRefused.

    ``address``: the client's IP address, for a login over the network (the web passes it, ""
    when unknown); None for a caller on this computer (the command line).

    The message does not tell an unknown name from a wrong password, nor a device (which never
    logs in) from an unknown name. While the address or the username waits after repeated
    failures (see the module), every attempt is refused with LoginThrottled, unknown names alike,
    without looking at the password. A wrong password is counted for both and audited
    (``user.login_failed``) when the name exists; the caller commits after LoginRefused too, or
    the count is lost. The demo password is accepted only from a loopback address.
    """
    moment = now or utcnow()
    scopes = [username_scope(username)]
    if address is not None:
        scopes.append(address_scope(address))
    retry_at = throttled_until(session, scopes, now=moment)
    if retry_at is not None:
        raise LoginThrottled(retry_at)
    user = find_user(session, username)
    if user is None or user.role not in HUMAN_ROLES:
        check_password_hash(_dummy_hash(), password)
        _record_failure(session, scopes, now=moment)
        raise LoginRefused("wrong username or password")
    if not check_password_hash(user.password_hash, password):
        _record_failure(session, scopes, now=moment)
        trail.record(
            session,
            actor=username,
            role=user.role,
            action="user.login_failed",
            entity="user",
            entity_id=user.id,
        )
        raise LoginRefused("wrong username or password")
    if address is not None and password == DEMO_PASSWORD and not is_loopback(address):
        raise DemoPasswordRemote("the demo password is accepted only from this computer")
    if not user.active:
        raise AccountInactive("this account is deactivated")
    _clear_throttle(session, scopes)
    user.last_login_at = moment
    trail.record(
        session, actor=username, role=user.role, action="user.login", entity="user", entity_id=user.id
    )
    return user


# --- login throttle ----------------------------------------------------------------------------


def username_scope(username: str) -> str:
    return f"user:{username[:200]}"


def address_scope(address: str) -> str:
    """``addr:<ip>``; an IPv6 address counts as its /64, which one client usually holds whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"addr:{address[:200]}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return f"addr:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"addr:{ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip}"


def is_loopback(address: str) -> bool:
    """Whether ``address`` is this computer (127.0.0.0/8, ::1, or 127.x mapped into IPv6)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def throttle_delay(scope: str, failures: int) -> timedelta:
    """How long the next attempt of ``scope`` waits after ``failures`` failures in a row."""
    beyond = failures - FREE_FAILURES
    if beyond <= 0:
        return timedelta(0)
    cap = ADDRESS_MAX_DELAY if scope.startswith("addr:") else USERNAME_MAX_DELAY
    return min(FIRST_DELAY * 2 ** min(beyond - 1, 20), cap)


def throttled_until(session: Session, scopes: list[str], *, now: datetime | None = None) -> datetime | None:
    """The latest moment one of ``scopes`` must wait for, or None if none has to wait."""
    moment = now or utcnow()
    waits = session.exec(
        select(LoginThrottle.blocked_until).where(
            LoginThrottle.scope.in_(scopes), LoginThrottle.blocked_until > moment
        )
    ).all()
    return max(waits, default=None)


def _record_failure(session: Session, scopes: list[str], *, now: datetime) -> None:
    """Count a failure for each scope, in one statement each so workers failing at once both count."""
    forgotten = now - THROTTLE_MEMORY
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.last_failure_at < forgotten))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    for scope in scopes:
        statement = insert(table).values(scope=scope, failures=1, last_failure_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.scope],
            set_={"failures": table.c.failures + 1, "last_failure_at": now},
        ).returning(table.c.failures)
        failures = session.execute(statement).scalar_one()
        delay = throttle_delay(scope, failures)
        if delay:
            session.execute(sa.update(table).where(table.c.scope == scope).values(blocked_until=now + delay))


def _clear_throttle(session: Session, scopes: list[str]) -> None:
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.scope.in_(scopes)))


# --- API tokens --------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user_id: int, name: str, *, actor: str, actor_role: str
) -> tuple[ApiToken, str]:
    """A new token for ``user_id``; returns the row and the token itself, which is not kept anywhere."""
    user = get_user(session, user_id)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise UserError("name", "a token needs a name of 1-100 characters, saying which client uses it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_sha256=token_digest(token))
    session.add(row)
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=actor_role,
        action="token.issued",
        entity="apitoken",
        entity_id=row.id,
        after={"user": user.username, "name": name},
    )
    return row, token


def revoke_token(session: Session, token_id: int, *, actor: str, actor_role: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UserNotFound(f"there is no API token #{token_id}")
    if row.revoked_at is not None:
        raise TokenRevoked(row)
    row.revoked_at = utcnow()
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=actor_role,
        action="token.revoked",
        entity="apitoken",
        entity_id=row.id,
        before={"revoked_at": None},
        after={"revoked_at": row.revoked_at},
    )
    return row


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a valid, unrevoked token acts as, or None; may update ``last_used_at``."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    moment = now or utcnow()
    if row.last_used_at is None or moment - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = moment
    return user


def list_tokens(session: Session) -> list[tuple[ApiToken, str]]:
    """Every token with its user's name, newest first."""
    rows = session.exec(
        select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    ).all()
    return [(token, username) for token, username in rows]
