"""The ``evidence`` commands: ``evidence hold`` keeps an event's evidence from retention until
``evidence release``; both are audited under the name given by ``--by``."""

from __future__ import annotations

import click

from gatewatch.cli.app import CLI_ROLE, App, actor_option, with_app


@click.group()
def evidence() -> None:
    """Legal holds on an event's evidence: kept from retention until released."""


@evidence.command("hold")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the evidence must be kept (a case, a request); audited.")
@actor_option
@with_app
def evidence_hold(app: App, event_id: int, reason: str, actor: str) -> None:
    """Keep EVENT_ID's evidence (and the recordings and visit around it) until it is released."""
    from gatewatch.evidence.holds import HoldError, place_hold

    with app.change(HoldError) as session:
        hold = place_hold(session, event_id, reason, actor=actor, role=CLI_ROLE)
    click.echo(f"event #{event_id} held by {hold.held_by} at {app.local(hold.held_at)}: {hold.reason}")


@evidence.command("release")
@click.argument("event_id", type=click.IntRange(min=1))
@click.option("--reason", default="", help="Why the hold ends (optional); audited.")
@actor_option
@with_app
def evidence_release(app: App, event_id: int, reason: str, actor: str) -> None:
    """Release EVENT_ID's hold: the next `retention apply` treats its evidence like any other."""
    from gatewatch.evidence.holds import HoldError, release_holds

    with app.change(HoldError) as session:
        released = release_holds(session, event_id, actor=actor, role=CLI_ROLE, reason=reason)
    held_for = "; ".join(hold.reason for hold in released)
    click.echo(f"event #{event_id} released by {actor} (it was held for: {held_for}); "
               "its evidence now follows evidence.retention_days")
