"""What every command shares: the ``App`` (settings and the migrated database made on first use, a
transaction whose refusal ends the command), the options ``--config``, ``--db``, ``--by`` and
``--line``/``--inside``, who acts at the command line for the audit trail (``cli_actor``,
``CLI_ROLE``), and the errors with their exit codes.

Exit codes: 0 done, 1 bad input data (a video, a CSV, a failed check), 2 a wrong command line or
configuration.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property, wraps
from typing import Any

import click
import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.camera.footage import sync_configured_cameras
from gatewatch.camera.gate_lines import camera_in_force
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.settings import CameraSettings, ConfigError, Settings, load_settings, override_gate

#: Exit codes: 1 for bad input data (a video, a CSV), 2 for a wrong command or configuration.
EXIT_INPUT, EXIT_USAGE = 1, 2


class InputError(click.ClickException):
    exit_code = EXIT_INPUT


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


class App:
    """What a command needs, made on first use: settings, then the migrated database."""

    def __init__(self, config: str | None, database_url: str | None) -> None:
        self.config_path = config
        self.database_url = database_url

    @cached_property
    def settings(self) -> Settings:
        try:
            settings = load_settings(self.config_path)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if self.database_url:
            settings = settings.model_copy(update={"database_url": self.database_url})
        return settings

    @cached_property
    def engine(self) -> sa.Engine:
        engine = make_engine(self.settings.effective_database_url)
        migrate(engine, self.settings.timezone)
        sync_configured_cameras(engine, self.settings.cameras)  # every gate known from the first command
        return engine

    @contextmanager
    def change(self, refused: type[Exception]) -> Iterator[Session]:
        """One transaction; a change refused with ``refused`` ends the command with its message."""
        try:
            with session_scope(self.engine) as session:
                yield session
        except refused as error:
            raise UsageError(str(error)) from None

    def camera(self, camera_id: str) -> CameraSettings:
        try:
            return self.settings.camera(camera_id)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.settings.zone).strftime("%Y-%m-%d %H:%M:%S")

    def parse_time(self, text: str, option: str) -> datetime:
        """ISO 8601; without an offset the time is read in the site's time zone."""
        try:
            return self.settings.site_time(text)
        except ValueError:
            raise UsageError(f"{option}: {text!r} is not an ISO 8601 time such as 2026-11-20T09:00:00+07:00") from None


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --config and --db to a command and hands it an ``App``."""

    @click.option("--config", "config", type=click.Path(dir_okay=False), envvar="GATEWATCH_CONFIG",
                  help="YAML configuration (default: $GATEWATCH_CONFIG).")
    @click.option("--db", "database_url", help="Database URL, overriding the configuration.")
    @wraps(command)
    def wrapper(config: str | None, database_url: str | None, **kwargs: Any) -> Any:
        return command(App(config, database_url), **kwargs)

    return wrapper


#: The audit trail's role for every change made at the command line, by whoever runs it on the server.
CLI_ROLE = "cli"


def cli_actor(user: str | None = None) -> str:
    """Who acts at the command line, for the audit trail: ``cli:`` and the operating-system user."""
    return f"cli:{user or getpass.getuser()}"


def actor_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``--by`` (default: ``cli_actor()``), handed to the command as ``actor``."""
    return click.option("--by", "actor", default=cli_actor, show_default=cli_actor("<user>"),
                        help="Who does this, for the audit trail.")(command)


def echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def fail(message: str) -> None:
    """A check failed: say so on stderr and leave with the bad-input exit code."""
    click.echo(message, err=True)
    raise SystemExit(EXIT_INPUT)


def gate_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``--line`` and ``--inside``, a gate instead of the camera's; ``gate_override`` applies them."""
    line = click.option("--line", help="Gate line x1,y1,x2,y2 in 0..1, instead of the camera's line in force.")
    inside = click.option("--inside", help="A point x,y in 0..1 on the inside of --line.")
    return line(inside(command))


def gate_override(app: App, camera: CameraSettings, line: str | None, inside: str | None) -> CameraSettings:
    """``camera`` with the gate given by --line and --inside (a what-if for this run), checked like the
    configuration; without them, with the line in force (saved on the page, else configured)."""
    if line is None and inside is None:
        return camera_in_force(app.engine, camera)
    if line is None or inside is None:
        raise UsageError("--line and --inside go together")

    try:
        return override_gate(camera, line, inside, ("--line", "--inside"))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
