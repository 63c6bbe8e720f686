"""The ``events`` commands (``events list``), and the event table the demo prints too."""

from __future__ import annotations

from collections.abc import Sequence

import click
from sqlmodel import Session, select

from gatewatch.cli.app import App, with_app
from gatewatch.events.queries import ANY, OPEN, EventFilter
from gatewatch.models.tables import EntryEvent


def newest_events(app: App, where: EventFilter, limit: int | None = None) -> Sequence[EntryEvent]:
    """The events matching ``where``, newest first."""
    query = (select(EntryEvent).where(*where.conditions(app.settings.zone))
             .order_by(EntryEvent.occurred_at.desc(), EntryEvent.id.desc()).limit(limit))
    with Session(app.engine) as session:
        return session.exec(query).all()


def print_events(app: App, rows: Sequence[EntryEvent]) -> None:
    click.echo(f"{'id':>6}  {'time':<19}  {'camera':<14} {'class':<10} {'dir':<5} {'status':<12} flag")
    for e in rows:
        click.echo(f"{e.id:>6}  {app.local(e.occurred_at):<19}  {e.camera_id:<14} {e.label:<10} "
                   f"{e.direction:<5} {e.status:<12} {e.flag or ''}")


@click.group()
def events() -> None:
    """Stored entry and exit events."""


@events.command("list")
@click.option("--flagged", is_flag=True, help="Only entries waiting for a person.")
@click.option("--camera", "camera_id", help="Only this camera.")
@click.option("--limit", default=50, show_default=True)
@with_app
def events_list(app: App, flagged: bool, camera_id: str | None, limit: int) -> None:
    """List events, newest first."""
    print_events(app, newest_events(app, EventFilter(camera_id=camera_id, status=OPEN if flagged else ANY), limit))
