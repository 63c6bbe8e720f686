"""The ``authorisations`` commands: standing authorisations (``add``, ``list``, ``end``), for an admin
at the server without the web UI.

A wrong value is named by the option that carried it (``--member 2: ...``), exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlmodel import Session

from gatewatch.cli.app import CLI_ROLE, App, UsageError, actor_option, echo_json, with_app
from gatewatch.models.tables import Authorisation
from gatewatch.visitors.authorisations import (
    AuthorisationError,
    AuthorisationInput,
    UnknownCamera,
    add_authorisation,
    clock_text,
    end_authorisation,
    in_force,
    list_authorisations,
    members_of,
    parse_member,
    plates_of,
    weekdays_of,
)

#: The option that carries each field of AuthorisationInput.
OPTIONS = {
    "holder": "--holder",
    "organisation": "--organisation",
    "purpose": "--purpose",
    "members": "--member",
    "max_persons": "--persons",
    "max_vehicles": "--vehicles",
    "plates": "--plate",
    "camera_id": "--camera",
    "valid_from": "--from",
    "valid_until": "--until",
    "weekdays": "--weekdays",
    "start_time": "--hours",
    "end_time": "--hours",
}
_REPEATED = ("members", "plates")


@click.group()
def authorisations() -> None:
    """Standing authorisations: staff on duty, scheduled deliveries."""


def _option_error(error: ErrorDetails) -> str:
    """One validation error named by its option: ``--member 2: a NIK is exactly 16 digits ...``."""
    loc = error["loc"]
    field = str(loc[0]) if loc else ""
    where = OPTIONS.get(field, field or "authorisation")
    if field in _REPEATED and len(loc) > 1 and isinstance(loc[1], int):
        where += f" {loc[1] + 1}"  # the n-th time the option was given
    if field == "weekdays":
        return f"{where}: weekdays are numbers 1 (Monday) to 7 (Sunday), such as 1-5 or 1,3,5"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def _hours(text: str | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    start, separator, end = text.partition("-")
    if not separator:
        raise UsageError(f"--hours: {text!r} is not HH:MM-HH:MM, such as 08:00-16:00 or 22:00-06:00")
    return start, end


def _members(texts: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        return [parse_member(text) for text in texts]
    except ValueError as exc:
        raise UsageError(f"--member: {exc}") from None


def _input(app: App, values: dict[str, Any]) -> AuthorisationInput:
    start, end = _hours(values.pop("hours"))
    data = {
        **values,
        "members": _members(values["members"]),
        "plates": list(values["plates"]),
        "start_time": start,
        "end_time": end,
    }
    try:
        return AuthorisationInput.parse({k: v for k, v in data.items() if v is not None}, app.settings.zone)
    except ValidationError as exc:
        raise UsageError("; ".join(dict.fromkeys(_option_error(e) for e in exc.errors()))) from None


@authorisations.command("add")
@click.option("--holder", required=True, help="Who it is for: a unit, a person, a carrier.")
@click.option("--persons", "max_persons", type=int, required=True, help="People it lets in at once.")
@click.option("--vehicles", "max_vehicles", type=int, default=0, show_default=True,
              help="Vehicles it lets in at once.")
@click.option("--plate", "plates", multiple=True, help="A plate it names, e.g. 'BG 1234 AB' (repeat for more).")
@click.option("--member", "members", multiple=True, help="NAME:NIK of a person it names (repeat for more).")
@click.option("--camera", "camera_id", help="Camera id of the gate (default: any gate).")
@click.option("--from", "valid_from", required=True, help="First day, YYYY-MM-DD (site date).")
@click.option("--until", "valid_until", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option("--weekdays", help="ISO weekdays: 1-5 (Monday to Friday), 1,3,5 ... (default: every day).")
@click.option("--hours", help="HH:MM-HH:MM site time, 22:00-06:00 spans midnight (default: all day).")
@click.option("--organisation", default="")
@click.option("--purpose", default="")
@actor_option
@with_app
def authorisations_add(app: App, actor: str, **values: Any) -> None:
    """Add a standing authorisation; entries it explains are resolved."""
    data = _input(app, values)
    try:
        with app.change(AuthorisationError) as session:
            added = add_authorisation(session, data, actor=actor, role=CLI_ROLE, settings=app.settings)
            number, text = added.id, _summary(added)
    except UnknownCamera as exc:
        raise UsageError(f"--camera: {exc}") from None
    click.echo(f"authorisation #{number} added: {text}")


@authorisations.command("list")
@click.option("--active", is_flag=True, help="Only those in force now.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list, members' NIKs included.")
@with_app
def authorisations_list(app: App, active: bool, as_json: bool) -> None:
    """Every standing authorisation, the latest first."""
    now, zone = datetime.now(UTC), app.settings.zone
    with Session(app.engine) as session:
        rows = list_authorisations(session, active_at=now if active else None, zone=zone)
    if as_json:
        echo_json([{**_plain(row), "active_now": in_force(row, now, zone)} for row in rows])
        return
    click.echo(f"{'id':>4}  {'holder':<24} {'persons':>7} {'vehicles':>8}  {'gate':<12} {'from':<10}  "
               f"{'until':<10}  {'weekdays':<13} {'hours':<11}  state")
    for row in rows:
        state = f"ended {app.local(row.ended_at)}" if row.ended_at else (
            "active" if in_force(row, now, zone) else "-")
        click.echo(f"{row.id:>4}  {row.holder[:24]:<24} {row.max_persons:>7} {row.max_vehicles:>8}  "
                   f"{row.camera_id or 'any':<12} {row.valid_from}  {row.valid_until}  "
                   f"{row.weekdays:<13} {_hours_text(row):<11}  {state}")


@authorisations.command("end")
@click.argument("authorisation_id", type=int)
@actor_option
@with_app
def authorisations_end(app: App, authorisation_id: int, actor: str) -> None:
    """End an authorisation now; it is kept, and no longer explains entries."""
    with app.change(AuthorisationError) as session:
        ended = end_authorisation(session, authorisation_id, actor=actor, role=CLI_ROLE, settings=app.settings)
        holder, at = ended.holder, ended.ended_at
    click.echo(f"authorisation #{authorisation_id} ({holder}) ended {app.local(at)}")


def _hours_text(row: Authorisation) -> str:
    if row.start_time is None or row.end_time is None:
        return "all day"
    return f"{row.start_time:%H:%M}-{row.end_time:%H:%M}"


def _summary(row: Authorisation) -> str:
    return (f"{row.holder}, {row.max_persons} persons, {row.max_vehicles} vehicles, "
            f"{row.valid_from} to {row.valid_until}, weekdays {row.weekdays}, {_hours_text(row)}, "
            f"gate {row.camera_id or 'any'}")


def _plain(row: Authorisation) -> dict[str, Any]:
    values = row.model_dump()
    values.update(members=members_of(row), plates=plates_of(row), weekdays=list(weekdays_of(row)))
    values.update(start_time=clock_text(row.start_time), end_time=clock_text(row.end_time))
    return values
