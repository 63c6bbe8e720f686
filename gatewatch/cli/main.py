"""The ``gatewatch`` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlmodel import Session, select
from tqdm import tqdm

from gatewatch.accounts import users as user_accounts
from gatewatch.camera.analysis import AnalysisBrokenOff, AnalysisResult, analyse_file
from gatewatch.camera.footage import sync_camera
from gatewatch.camera.supervisor import Supervisor
from gatewatch.camera.worker import run_camera
from gatewatch.cli.accounts import serve, tokens, users
from gatewatch.cli.app import App, InputError, UsageError, actor_option, gate_override, with_app
from gatewatch.cli.demo import DEMO_CONFIG, DEMO_PASSWORD, DEMO_STARTS, DEMO_USERS, DEMO_VISITS
from gatewatch.cli.evidence import audit, export, replay, replay_run, retention
from gatewatch.models.db import session_scope
from gatewatch.models.enums import OPEN_STATUSES
from gatewatch.models.tables import EntryEvent, Visit
from gatewatch.settings import CameraSettings
from gatewatch.vision.detector import DetectorError, load_model
from gatewatch.vision.sources import SourceError
from gatewatch.visitors.visits import (
    CsvImportError,
    VisitInput,
    VisitLogError,
    check_out,
    import_csv,
    list_visits,
    register_visit,
)
from gatewatch.web.app import create_app


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """gatewatch: gate camera analysis checked against the visitor log."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# --- analysis ---------------------------------------------------------------------------------


def _event_json(event: EntryEvent) -> str:
    return json.dumps({
        "camera": event.camera_id,
        "track_id": event.track_id,
        "label": event.label,
        "direction": event.direction,
        "time": event.occurred_at.isoformat(),
        "frame": event.frame_index,
        "confidence": event.confidence,
        "flag": event.flag,
    })


def run_analysis(app: App, camera: CameraSettings, video: Path, start: datetime, model: Any = None) -> AnalysisResult:
    """``analyse_file`` with its errors turned into messages and exit codes."""
    try:
        return analyse_file(app.engine, app.settings, camera, video, start, model=model)
    except (SourceError, AnalysisBrokenOff) as exc:
        raise InputError(str(exc)) from None
    except DetectorError as exc:
        raise UsageError(str(exc)) from None


def _print_summary(app: App, video: Path, camera: CameraSettings, result: AnalysisResult) -> None:
    stats, stored = result.stats, result.stored
    click.echo(f"{video.name} as {camera.id}: {stats.frames} frames in {stats.seconds:.1f} s "
               f"({stats.frames_per_second:.1f} frames/s)")
    labels = sorted({label for label, _ in stats.crossings})
    click.echo(f"  {'class':<12}{'entries':>8}{'exits':>8}")
    for label in labels:
        click.echo(f"  {label:<12}{stats.crossings[(label, 'entry')]:>8}{stats.crossings[(label, 'exit')]:>8}")
    flags = Counter(s.event.flag for s in stored if s.event.flag)
    click.echo("  flagged: " + (", ".join(f"{reason} {n}" for reason, n in sorted(flags.items())) or "none"))
    new = sum(s.created for s in stored)
    click.echo(f"  stored: {new} new events, {len(stored) - new} already stored by an earlier run")


@main.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", required=True, help="Configured camera the footage comes from.")
@click.option("--start", help="Wall-clock time of the first frame, ISO 8601 (default: now).")
@click.option("--line", help="Gate line x1,y1,x2,y2 in 0..1, instead of the camera's.")
@click.option("--inside", help="A point x,y in 0..1 on the inside of --line.")
@click.option("--json", "as_json", is_flag=True, help="Print each event as one JSON line, nothing else.")
@with_app
def process(app: App, video: Path, camera_id: str, start: str | None, line: str | None,
            inside: str | None, as_json: bool) -> None:
    """Analyse a stored video file as camera ID and store its events."""
    camera = gate_override(app.camera(camera_id), line, inside)
    start_time = app.parse_time(start, "--start") if start else datetime.now(UTC)
    result = run_analysis(app, camera, video, start_time)
    if as_json:
        for item in result.stored:
            click.echo(_event_json(item.event))
    else:
        _print_summary(app, video, camera, result)


@main.command()
@click.option("--camera", "camera_id", help="Configured camera to run.")
@click.option("--all", "all_cameras", is_flag=True, help="Every configured camera, a supervised process each.")
@with_app
def worker(app: App, camera_id: str | None, all_cameras: bool) -> None:
    """Run a configured camera (or all of them) until SIGINT or SIGTERM."""
    if bool(camera_id) == all_cameras:
        raise UsageError("give either --camera ID or --all")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if all_cameras:
        if app.config_path is None:
            raise UsageError("--all needs the configuration file (--config or GATEWATCH_CONFIG)")
        Supervisor(app.settings, app.config_path, app.database_url).run(stop)
        return

    try:
        run_camera(app.engine, app.settings, app.camera(camera_id), stop)
    except DetectorError as exc:
        raise UsageError(str(exc)) from None
    except SourceError as exc:
        raise InputError(str(exc)) from None


# --- events -----------------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Stored entry and exit events."""


@events.command("list")
@click.option("--flagged", is_flag=True, help="Only entries waiting for a person.")
@click.option("--camera", "camera_id", help="Only this camera.")
@click.option("--limit", default=50, show_default=True)
@with_app
def events_list(app: App, flagged: bool, camera_id: str | None, limit: int) -> None:
    """List events, newest first."""
    query = select(EntryEvent).order_by(EntryEvent.occurred_at.desc(), EntryEvent.id.desc()).limit(limit)
    if flagged:
        query = query.where(EntryEvent.status.in_([s.value for s in OPEN_STATUSES]))
    if camera_id:
        query = query.where(EntryEvent.camera_id == camera_id)
    with Session(app.engine) as session:
        rows = session.exec(query).all()
    _print_events(app, rows)


def _print_events(app: App, rows: Iterable[EntryEvent]) -> None:
    click.echo(f"{'id':>6}  {'time':<19}  {'camera':<14} {'class':<10} {'dir':<5} {'status':<12} flag")
    for e in rows:
        click.echo(f"{e.id:>6}  {app.local(e.occurred_at):<19}  {e.camera_id:<14} {e.label:<10} "
                   f"{e.direction:<5} {e.status:<12} {e.flag or ''}")


# --- visitor log ------------------------------------------------------------------------------


@main.group()
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
    try:
        with session_scope(app.engine) as session:
            visit = register_visit(session, visit_input, actor=actor, role="cli", settings=app.settings)
    except VisitLogError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"visit #{visit.id} registered: {visit.visitor_name}, checked in {app.local(visit.check_in_at)}")


@visits.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path))
@actor_option
@with_app
def visits_import(app: App, csv_file: Path, actor: str) -> None:
    """Import a visitor log CSV: every row, or none when any row is malformed."""
    if not csv_file.is_file():
        raise InputError(f"{csv_file} does not exist or is not a file")
    with tqdm(unit="row", desc=csv_file.name, leave=False, disable=None) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        try:
            with session_scope(app.engine) as session:
                count = import_csv(session, csv_file, actor=actor, role="cli", settings=app.settings,
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
    try:
        with session_scope(app.engine) as session:
            visit = check_out(session, visit_id, actor=actor, role="cli")
    except VisitLogError as exc:
        raise UsageError(str(exc)) from None
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


# --- demo -------------------------------------------------------------------------------------


@main.command()
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
            count = import_csv(session, DEMO_VISITS, actor="demo", role="admin", settings=app.settings)
            click.echo(f"visitor log: {count} visits imported from {DEMO_VISITS.name}")
    try:
        model = load_model(app.settings.detector)
    except DetectorError as exc:
        raise UsageError(str(exc)) from None
    for camera in app.settings.cameras:
        video = Path(camera.source)
        _print_summary(app, video, camera, run_analysis(app, camera, video, DEMO_STARTS[camera.id], model=model))
    with Session(app.engine) as session:
        flagged = session.exec(
            select(EntryEvent).where(EntryEvent.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(EntryEvent.occurred_at.desc())
        ).all()
    click.echo(f"\nflagged entries waiting for a person ({len(flagged)}):")
    _print_events(app, flagged)
    if serve:
        _serve_demo(app, host, port)


def _serve_demo(app: App, host: str, port: int) -> None:
    with session_scope(app.engine) as session:
        for username, role, full_name in DEMO_USERS:
            if user_accounts.find_user(session, username) is None:
                user_accounts.create_user(session, username, DEMO_PASSWORD, role, full_name=full_name,
                                          actor="demo", actor_role="cli")
    click.echo(f"\nweb UI: http://{host}:{port}/  (Ctrl+C stops it)")
    click.echo(f"demo logins, password {DEMO_PASSWORD}: " + ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS))
    # The development server speaks plain HTTP: a Secure cookie would never come back.
    create_app(app.settings, app.engine, secure_cookies=False).run(host=host, port=port, threaded=True)


for _command in (audit, export, retention, replay, replay_run, serve, users, tokens):
    main.add_command(_command)
