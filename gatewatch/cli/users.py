"""The ``users`` (``add``, ``list``) and ``tokens`` (``issue``, ``list``, ``revoke``) commands: who
logs in to the web app, and the API tokens of machine clients.

A ``device`` user (an NVR or ANPR camera posting crossings) and a ``metrics`` user (a Prometheus
server reading /metrics) are added without a password, which they never have: they act through
the API token ``tokens issue`` then gives them.

They migrate the database before they run, like every command, so they work on an empty one.
"""

from __future__ import annotations

import sys

import click
from sqlmodel import Session, select

from gatewatch.accounts import users as user_accounts
from gatewatch.cli.app import CLI_ROLE, App, UsageError, cli_actor, with_app
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import User


def _read_password() -> str:
    """Prompted twice at a terminal; otherwise the first line of standard input (for scripts)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def users() -> None:
    """People who log in to the web app."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="device: another system posting crossings; metrics: a Prometheus server reading /metrics. "
                   "Both act through an API token only (no password).")
@click.option("--full-name", default="", help="Shown on pages instead of the username.")
@click.option(
    "--locale", type=click.Choice(list(user_accounts.LOCALES)), help="Language (default: the site's)."
)
@with_app
def users_add(app: App, username: str, role: str, full_name: str, locale: str | None) -> None:
    """Add a user; the password is prompted for, or read from standard input (a device or metrics user has none)."""
    password = None if role not in HUMAN_ROLES else _read_password()
    with app.change(user_accounts.UserError) as session:
        user = user_accounts.create_user(
            session,
            username,
            password,
            role,
            full_name=full_name,
            locale=locale,
            actor=cli_actor(),
            actor_role=CLI_ROLE,
        )
    click.echo(f"user {user.username} ({user.role}) created")
    if user.role not in HUMAN_ROLES:
        click.echo(f"it has no password; give it an API token: gatewatch tokens issue {user.username} --name CLIENT")


@users.command("list")
@with_app
def users_list(app: App) -> None:
    """List the users."""
    with Session(app.engine) as session:
        rows = session.exec(select(User).order_by(User.username)).all()
    click.echo(f"{'id':>4}  {'username':<24} {'role':<9} {'state':<8} name")
    for user in rows:
        click.echo(
            f"{user.id:>4}  {user.username:<24} {user.role:<9} {'active' if user.active else 'inactive':<8} "
            f"{user.full_name}"
        )


@click.group()
def tokens() -> None:
    """API tokens for machine clients."""


@tokens.command("issue")
@click.argument("username")
@click.option("--name", required=True, help="Which client uses the token.")
@with_app
def tokens_issue(app: App, username: str, name: str) -> None:
    """Issue a token acting as USERNAME and print it, once: only its SHA-256 is kept."""
    with app.change(user_accounts.UserError) as session:
        user = user_accounts.find_user(session, username)
        if user is None:
            raise UsageError(f"there is no user {username!r}")
        row, token = user_accounts.issue_token(
            session, user.id, name, actor=cli_actor(), actor_role=CLI_ROLE
        )
    click.echo(f"token #{row.id} for {username} ({name}); store it now, it is not shown again:", err=True)
    click.echo(token)


@tokens.command("list")
@with_app
def tokens_list(app: App) -> None:
    """List the tokens (never the tokens themselves)."""
    with Session(app.engine) as session:
        rows = user_accounts.list_tokens(session)
    click.echo(f"{'id':>4}  {'user':<20} {'state':<8} name")
    for token, username in rows:
        click.echo(
            f"{token.id:>4}  {username:<20} {'revoked' if token.revoked_at else 'active':<8} {token.name}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_app
def tokens_revoke(app: App, token_id: int) -> None:
    """Revoke a token by its id: clients using it get 401 from now on."""
    with app.change(user_accounts.UserError) as session:
        row = user_accounts.revoke_token(session, token_id, actor=cli_actor(), actor_role=CLI_ROLE)
    click.echo(f"token #{row.id} ({row.name}) revoked")
