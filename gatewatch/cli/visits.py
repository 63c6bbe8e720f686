"""The ``visits`` commands: the guards' visitor log (``add``, ``import``, ``checkout``, ``list``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlmodel import Session

from gatewatch.cli.app import CLI_ROLE, App, InputError, UsageError, actor_option, with_app
from gatewatch.cli.subject import visits_subject
from gatewatch.models.db import session_scope
from gatewatch.visitors.visits import (
    CsvImportError,
    VisitInput,
    VisitLogError,
    check_out,
    import_csv,
    list_visits,
    register_visit,
)


@click.group()
def visits() -> None:
    """The guards' visitor log."""


def _field_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'visit'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors())


@visits.command("add")
@click.option("--name", "visitor_name", required=True, help="Visitor's full name.")
@click.option("--nik", "id_number", required=True, help="NIK, the 16-digit Indonesian ID number.")
@click.option("--organisation", default="")
@click.option("--purpose", default="")
@click.option("--host", default="", help="Whom the visitor comes to see.")
@click.option("--plate", "vehicle_plate", help="Vehicle plate, e.g. 'BG 1234 AB'.")
@click.option("--vehicle-type", help="bicycle, car, motorcycle, bus, truck or van.")
@click.option("--party", "party_size", default=1, show_default=True, help="Persons, driver included.")
@click.option("--check-in", "check_in_at", help="ISO 8601 (default: now).")
@click.option("--expected-out", "expected_check_out_at", help="ISO 8601.")
@click.option("--gate", "camera_id", help="Camera id of the gate (default: any gate).")
@actor_option
@with_app
def visits_add(app: App, actor: str, **fields: Any) -> None:
    """Register a visitor; entries it explains are resolved."""
    fields["check_in_at"] = fields["check_in_at"] or datetime.now(UTC).isoformat()
    data = {name: value for name, value in fields.items() if value is not None}
    try:
        visit_input = VisitInput.parse(data, app.settings.zone)
    except ValidationError as exc:
        raise UsageError(_field_errors(exc)) from None
    with app.change(VisitLogError) as session:
        visit = register_visit(session, visit_input, actor=actor, role=CLI_ROLE, settings=app.settings)
    click.echo(f"visit #{visit.id} registered: {visit.visitor_name}, checked in {app.local(visit.check_in_at)}")


@visits.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path))
@actor_option
@with_app
def visits_import(app: App, csv_file: Path, actor: str) -> None:
    """Import a visitor log CSV: every row, or none when any row is malformed."""
    from tqdm import tqdm

    if not csv_file.is_file():
        raise InputError(f"{csv_file} does not exist or is not a file")
    with tqdm(unit="row", desc=csv_file.name, leave=False, disable=None) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        try:
            with session_scope(app.engine) as session:
                count = import_csv(session, csv_file, actor=actor, role=CLI_ROLE, settings=app.settings,
                                   progress=progress)
        except CsvImportError as exc:
            lines = [f"{csv_file}: nothing imported; fix these rows and import the file again:"]
            lines += [f"  line {e.line}: {e.field + ': ' if e.field else ''}{e.message}" for e in exc.errors]
            if not exc.complete:
                lines.append("  (reading stopped there; there may be more)")
            raise InputError("\n".join(lines)) from None
        except VisitLogError as exc:
            raise InputError(f"{csv_file}: {exc}") from None
    click.echo(f"{count} visits imported from {csv_file}")


@visits.command("checkout")
@click.argument("visit_id", type=int)
@actor_option
@with_app
def visits_checkout(app: App, visit_id: int, actor: str) -> None:
    """Check a visitor out now."""
    with app.change(VisitLogError) as session:
        visit = check_out(session, visit_id, actor=actor, role=CLI_ROLE)
    click.echo(f"visit #{visit.id} ({visit.visitor_name}) checked out {app.local(visit.checked_out_at)}")


@visits.command("list")
@click.option("--date", "on_date", type=click.DateTime(["%Y-%m-%d"]), help="Visits checked in that day.")
@click.option("--search", help="Part of a name, NIK, organisation, host or purpose.")
@click.option("--plate", help="Part of a vehicle plate.")
@click.option("--open", "open_only", is_flag=True, help="Only visitors not yet checked out.")
@click.option("--limit", default=100, show_default=True)
@with_app
def visits_list(app: App, on_date: datetime | None, search: str | None, plate: str | None, open_only: bool,
                limit: int) -> None:
    """The visitor log, newest first."""
    with Session(app.engine) as session:
        rows = list_visits(session, on_date=on_date.date() if on_date else None, zone=app.settings.zone,
                           search=search, plate=plate, open_only=open_only, limit=limit)
    click.echo(f"{'id':>5}  {'checked in':<19}  {'name':<24} {'NIK':<16}  {'organisation':<26} "
               f"{'plate':<11} {'party':>5}  checked out")
    for v in rows:
        out = app.local(v.checked_out_at) if v.checked_out_at else "-"
        click.echo(f"{v.id:>5}  {app.local(v.check_in_at):<19}  {v.visitor_name[:24]:<24} {v.id_number:<16}  "
                   f"{v.organisation[:26]:<26} {v.vehicle_plate or '-':<11} {v.party_size:>5}  {out}")


visits.add_command(visits_subject)  # everything held about one NIK (cli/subject.py)
