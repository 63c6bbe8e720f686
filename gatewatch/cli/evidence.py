"""Commands for auditors: ``audit`` (verify, seal), ``export`` (create, verify, public-key),
``retention`` (apply), ``replay`` and ``replay-run``. ``gatewatch.cli.main`` registers them on ``main``.

Exit codes as everywhere: 0 done (and, for the checks, everything holds), 1 bad data (a check
failed, an unreadable file), 2 a wrong command line or configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatewatch.camera.replay import DEFAULT_TOLERANCE_FRAMES
from gatewatch.cli.app import EXIT_INPUT, App, InputError, UsageError, actor_option, gate_override, with_app

if TYPE_CHECKING:
    from gatewatch.camera.replay import ReplayComparison
    from gatewatch.models.tables import EntryEvent, ReplayEvent

ROLE = "cli"


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _failed(message: str) -> None:
    """A check failed: say so on stderr and leave with the bad-data exit code."""
    click.echo(message, err=True)
    raise SystemExit(EXIT_INPUT)


# --- audit ------------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--no-files", is_flag=True, help="Check the records only, not the evidence files.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app
def audit_verify(app: App, no_files: bool, as_json: bool) -> None:
    """Walk the audit chain, the events and their evidence files; exit 0 only when all hold."""
    from gatewatch.evidence.integrity import verify_integrity

    report = verify_integrity(app.engine, app.settings, check_files=not no_files)
    if as_json:
        _echo_json(report.as_dict())
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        raise SystemExit(EXIT_INPUT)


@audit.command("seal")
@actor_option
@with_app
def audit_seal(app: App, actor: str) -> None:
    """Record events stored before the audit chain existed, as they stand now."""
    from gatewatch.evidence.integrity import seal_events

    count = seal_events(app.engine, app.settings, actor=actor, role=ROLE)
    click.echo(f"{count} events sealed by {actor}")


# --- export -----------------------------------------------------------------------------------


@click.group()
def export() -> None:
    """Signed evidence exports."""


@export.command("create")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "since", help="Start of the period, ISO 8601 (site time without an offset).")
@click.option("--to", "until", help="End of the period (excluded), ISO 8601.")
@click.option("--camera", "camera_id", help="Only this camera.")
@click.option("--event", "event_ids", type=int, multiple=True, help="An event id (repeat); instead of a period.")
@actor_option
@with_app
def export_create(app: App, output: Path, since: str | None, until: str | None, camera_id: str | None,
                  event_ids: tuple[int, ...], actor: str) -> None:
    """Write the events, reviews, audit records and evidence of a period (or events) to OUTPUT.zip, signed."""
    from gatewatch.evidence.export import ExportError, ExportSelection, create_export

    if event_ids and (since or until or camera_id):
        raise UsageError("give either --event ids or a period (--from, --to, --camera), not both")
    if not event_ids and not (since and until):
        raise UsageError("give a period with --from and --to, or --event ids")
    if camera_id:
        app.camera(camera_id)
    selection = ExportSelection(
        since=app.parse_time(since, "--from") if since else None,
        until=app.parse_time(until, "--to") if until else None,
        camera_id=camera_id, event_ids=event_ids,
    )
    try:
        summary = create_export(app.engine, app.settings, selection, output, actor=actor, role=ROLE)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"{summary.path}: {summary.events} events ({summary.flagged} flagged entries), "
               f"{summary.files} files, signed by {summary.signer}")
    click.echo(f"manifest SHA-256 {summary.manifest_sha256}")
    for problem in summary.evidence_problems:
        click.echo(f"  evidence problem: {problem}", err=True)


@export.command("verify")
@click.argument("zip_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--public-key", "public_key", help="The installation's public key: base64, PEM, or a file of either.")
def export_verify(zip_file: Path, public_key: str | None) -> None:
    """Check a signed export: its signature, every file's hash, nothing added or missing."""
    from gatewatch.evidence.export import verify_export
    from gatewatch.evidence.signing import SigningKeyError, load_public_key

    try:
        key = load_public_key(public_key) if public_key else None
    except SigningKeyError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    if not zip_file.is_file():
        raise InputError(f"{zip_file} does not exist or is not a file")
    result = verify_export(zip_file, key)
    if not result.ok:
        _failed("\n".join([f"{zip_file}: verification FAILED", *(f"  {p}" for p in result.problems)]))
    click.echo(f"{zip_file}: OK, {result.files} files match the manifest, signed by {result.signer}")
    if not result.key_given:
        click.echo("note: checked against the key the export names; give --public-key to check it is the "
                   "installation's", err=True)


@export.command("public-key")
@click.option("--pem", is_flag=True, help="Print it as PEM instead of one line of base64.")
@with_app
def export_public_key(app: App, pem: bool) -> None:
    """Print the public key that checks this installation's exports (made on first use)."""
    from gatewatch.evidence.signing import (
        SigningKeyError,
        fingerprint,
        installation_key,
        public_key_pem,
        public_key_text,
    )

    try:
        key = installation_key(app.settings.data_dir).public_key()
    except SigningKeyError as exc:
        raise UsageError(str(exc)) from None
    click.echo(public_key_pem(key).rstrip() if pem else public_key_text(key))
    click.echo(f"fingerprint {fingerprint(key)}", err=True)


# --- retention --------------------------------------------------------------------------------


@click.group()
def retention() -> None:
    """Deleting old evidence files, on the record."""


@retention.command("apply")
@click.option("--days", type=click.IntRange(min=1), help="Override evidence.retention_days.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@actor_option
@with_app
def retention_apply(app: App, days: int | None, dry_run: bool, actor: str) -> None:
    """Delete snapshots and clips older than the retention period; keep their hashes and an audit record."""
    from gatewatch.evidence.retention import RetentionError, apply_retention

    try:
        result = apply_retention(app.engine, app.settings, actor=actor, role=ROLE, days=days, dry_run=dry_run)
    except RetentionError as exc:
        raise UsageError(str(exc)) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"evidence before {app.local(result.cutoff)}: {result.events} events, {verb} {result.files} files"
               + ("" if dry_run else f" ({result.bytes / 1e6:.1f} MB)"))
    if result.failures:
        _failed("\n".join(["some files could not be deleted (their events are marked expired):",
                           *(f"  {f}" for f in result.failures)]))


# --- replay -----------------------------------------------------------------------------------


@click.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", required=True, help="Configured camera the footage came from.")
@click.option("--start", required=True, help="Wall-clock time of the first frame, ISO 8601.")
@click.option("--line", help="Gate line x1,y1,x2,y2 in 0..1, instead of the camera's.")
@click.option("--inside", help="A point x,y in 0..1 on the inside of --line.")
@click.option("--tolerance", default=DEFAULT_TOLERANCE_FRAMES, show_default=True, type=click.IntRange(min=0),
              help="Frames a crossing may move and still count as the same event.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@actor_option
@with_app
def replay(app: App, video: Path, camera_id: str, start: str, line: str | None, inside: str | None,
           tolerance: int, as_json: bool, actor: str) -> None:
    """Analyse VIDEO again as camera ID, apart from the live records, and compare with the stored events."""
    from tqdm import tqdm

    from gatewatch.camera.replay import compare_replay, create_replay
    from gatewatch.vision.sources import SourceError

    camera = gate_override(app.camera(camera_id), line, inside)
    start_time = app.parse_time(start, "--start")
    try:
        run_id = create_replay(app.engine, app.settings, camera, video, start_time, actor=actor)
    except SourceError as exc:
        raise InputError(str(exc)) from None
    with tqdm(unit="frame", desc=f"replay #{run_id}", leave=False, disable=None) as bar:
        def progress(frames: int) -> None:
            bar.update(frames - bar.n)

        _run(app, run_id, progress)
    comparison = compare_replay(app.engine, run_id, tolerance)
    if as_json:
        _echo_json(comparison.as_dict())
    else:
        _print_comparison(comparison)


@click.command("replay-run")
@click.argument("run_id", type=int)
@with_app
def replay_run(app: App, run_id: int) -> None:
    """Run replay RUN_ID as requested on the auditor's page (the web app starts this itself)."""
    from gatewatch.camera.replay import compare_replay

    _run(app, run_id)
    _print_comparison(compare_replay(app.engine, run_id))


def _run(app: App, run_id: int, on_frame: Callable[[int], None] | None = None) -> None:
    """Run the replay, its failures told as the exit codes say: bad footage 1, a wrong model 2."""
    from gatewatch.camera.replay import ReplayError, run_replay
    from gatewatch.vision.detector import DetectorError
    from gatewatch.vision.sources import SourceError

    try:
        run_replay(app.engine, app.settings, run_id, on_frame=on_frame)
    except (SourceError, ReplayError, OSError) as exc:
        raise InputError(str(exc)) from None
    except DetectorError as exc:
        raise UsageError(str(exc)) from None


def _print_comparison(comparison: ReplayComparison) -> None:
    from gatewatch.camera.replay import Outcome

    def side(event: EntryEvent | ReplayEvent | None) -> str:
        return "-" if event is None else f"#{event.id} f{event.frame_index} t{event.track_id}"

    run = comparison.run
    click.echo(f"replay #{run.id} of {Path(run.video).name} as {run.camera_id} ({run.source_key}): {run.status}")
    click.echo(f"  {'outcome':<8} {'class':<10} {'dir':<5} {'stored':>20} {'replayed':>20}")
    for row in comparison.rows:
        click.echo(f"  {row.outcome.value:<8} {row.label:<10} {row.direction:<5} {side(row.stored):>20} "
                   f"{side(row.replayed):>20}")
    counts = ", ".join(f"{outcome.value} {comparison.count(outcome)}" for outcome in Outcome)
    offset = comparison.time_offset
    click.echo(f"  {counts}" + (f"; replayed times differ by {offset.total_seconds():+.3f} s" if offset else ""))
    if not any(row.stored for row in comparison.rows):
        click.echo(f"  note: no events stored for camera {run.camera_id} from this footage")
    click.echo("  IDENTICAL: the replay reproduces the stored events" if comparison.identical
               else "  DIFFERENT: see missing, extra and shifted above")

