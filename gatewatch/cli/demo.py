"""The ``demo`` command and its data: two sample gate cameras fed by the shared footage, against a
sample visitor log, then the web UI on the result.

``samples/visits.csv`` is written against the start times below, so some entries are
explained by a registration and others are flagged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from sqlmodel import select

from gatewatch.accounts import users as user_accounts
from gatewatch.camera.footage import sync_camera
from gatewatch.cli.analysis import print_summary, run_analysis, video_errors
from gatewatch.cli.app import CLI_ROLE, App, UsageError, cli_actor
from gatewatch.cli.events import newest_events, print_events
from gatewatch.cli.serve import run_dev_server
from gatewatch.events.queries import OPEN, EventFilter
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Visit
from gatewatch.visitors.visits import import_csv

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DEMO_CONFIG = SAMPLES / "gatewatch.yaml"
DEMO_VISITS = SAMPLES / "visits.csv"

#: Wall-clock time of each sample camera's first frame (WIB, the site's zone).
DEMO_STARTS = {
    "street-gate": datetime.fromisoformat("2026-11-20T09:00:00+07:00"),
    "vehicle-gate": datetime.fromisoformat("2026-11-20T09:05:00+07:00"),
}

#: Demo logins, one per role; the password is printed when the demo serves the UI. It is
#: accepted only from the computer itself (``users.verify_login``), however the app is served.
DEMO_PASSWORD = user_accounts.DEMO_PASSWORD
DEMO_USERS = (
    ("operator", "operator", "Operator CCTV (demo)"),
    ("guard", "guard", "Petugas jaga (demo)"),
    ("auditor", "auditor", "Auditor (demo)"),
    ("admin", "admin", "Administrator (demo)"),
)


@click.command()
@click.option("--serve/--no-serve", default=True, help="Serve the web UI on the demo data afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def demo(serve: bool, host: str, port: int) -> None:
    """Analyse the shared footage as two sample gates against the sample visitor log."""
    app = App(str(DEMO_CONFIG), None)
    missing = [c.source for c in app.settings.cameras if not Path(c.source).exists()]
    if missing or not Path(app.settings.detector.model).exists():
        raise UsageError(f"the demo needs the model and footage from ../shared (missing: "
                         f"{', '.join(missing) or app.settings.detector.model}); run it with `make demo`")
    for camera in app.settings.cameras:
        sync_camera(app.engine, camera)
    with session_scope(app.engine) as session:
        if session.exec(select(Visit)).first() is None:
            count = import_csv(session, DEMO_VISITS, actor=cli_actor(), role=CLI_ROLE, settings=app.settings)
            click.echo(f"visitor log: {count} visits imported from {DEMO_VISITS.name}")
    from gatewatch.vision.detector import load_model

    with video_errors():
        model = load_model(app.settings.detector)
    for camera in app.settings.cameras:
        video = Path(camera.source)
        print_summary(video, camera, run_analysis(app, camera, video, DEMO_STARTS[camera.id], model=model))
    flagged = newest_events(app, EventFilter(status=OPEN))
    click.echo(f"\nflagged entries waiting for a person ({len(flagged)}):")
    print_events(app, flagged)
    if serve:
        _serve_demo(app, host, port)


def _serve_demo(app: App, host: str, port: int) -> None:
    with session_scope(app.engine) as session:
        for username, role, full_name in DEMO_USERS:
            if user_accounts.find_user(session, username) is None:
                user_accounts.create_user(session, username, DEMO_PASSWORD, role, full_name=full_name,
                                          actor=cli_actor(), actor_role=CLI_ROLE)
    click.echo(f"\nweb UI: http://{host}:{port}/  (Ctrl+C stops it)")
    click.echo(f"demo logins, password {DEMO_PASSWORD}: " + ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS))
    click.echo("the demo password works only from this computer; set real passwords before serving the network")
    run_dev_server(app, host, port)
