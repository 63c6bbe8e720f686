"""The ``alerts`` commands: the webhook dispatcher (``alerts run``) for sites whose camera
workers run elsewhere, and a look at the hooks and the delivery log from the server's shell.

``gatewatch worker --all`` runs the dispatcher already; more than one running is harmless
(one process sends each delivery).
"""

from __future__ import annotations

import signal
import threading

import click

from gatewatch.cli.app import App, echo_json, with_app


@click.group()
def alerts() -> None:
    """Alerts sent out of gatewatch: webhooks and their delivery log."""


@alerts.command("run")
@click.option("--poll", type=click.FloatRange(min=0.1, max=60), default=1.0, show_default=True,
              help="Seconds between rounds.")
@with_app
def alerts_run(app: App, poll: float) -> None:
    """Send the webhook alerts until SIGINT or SIGTERM."""
    from gatewatch.alerts.runner import run_dispatcher

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_dispatcher(app.engine, app.settings, stop, poll=poll)


@alerts.command("hooks")
@with_app
def alerts_hooks(app: App) -> None:
    """The webhooks as JSON (URLs' passwords masked; secrets never shown)."""
    from sqlmodel import Session

    from gatewatch.alerts import webhooks

    webhooks.seed_from_settings(app.engine, app.settings)
    with Session(app.engine) as session:
        echo_json([{"id": hook.id, "url": webhooks.masked_url(hook.url), "events": webhooks.events_of(hook),
                    "active": hook.active, "secret": "set", "updated_by": hook.updated_by}
                   for hook in webhooks.all_hooks(session)])


@alerts.command("log")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20, show_default=True)
@with_app
def alerts_log(app: App, limit: int) -> None:
    """The newest webhook deliveries with each attempt, as JSON."""
    from sqlmodel import Session

    from gatewatch.alerts import webhooks

    with Session(app.engine) as session:
        echo_json([{
            "delivery": logged.delivery.delivery_id, "event": logged.delivery.event, "url": logged.url,
            "status": logged.delivery.status, "attempts": [
                {"at": attempt.at.isoformat(), "status_code": attempt.status_code, "error": attempt.error,
                 "seconds": attempt.seconds} for attempt in logged.attempts],
            "created_at": logged.delivery.created_at.isoformat(),
        } for logged in webhooks.delivery_log(session, limit=limit)])
