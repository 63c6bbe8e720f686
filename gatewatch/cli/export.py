"""The ``export`` commands: ``create`` a signed evidence ZIP, ``verify`` one on any machine, and
print the installation's ``public-key`` that checks them. ``render-job`` (hidden) makes an export
job's annotated clips in a process of its own: the web app starts it."""

from __future__ import annotations

from pathlib import Path

import click

from gatewatch.cli.app import CLI_ROLE, App, InputError, UsageError, actor_option, fail, with_app


@click.group()
def export() -> None:
    """Signed evidence exports."""


@export.command("create")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "since", help="Start of the period, ISO 8601 (site time without an offset).")
@click.option("--to", "until", help="End of the period (excluded), ISO 8601.")
@click.option("--camera", "camera_id", help="Only this camera.")
@click.option("--event", "event_ids", type=int, multiple=True, help="An event id (repeat); instead of a period.")
@click.option("--annotated", is_flag=True,
              help="Add each event's clip with its boxes and gate line drawn in (made now; takes CPU).")
@actor_option
@with_app
def export_create(app: App, output: Path, since: str | None, until: str | None, camera_id: str | None,
                  event_ids: tuple[int, ...], annotated: bool, actor: str) -> None:
    """Write the events, reviews, audit records and evidence of a period (or events) to OUTPUT.zip, signed."""
    import tempfile

    from sqlmodel import Session, select

    from gatewatch.evidence.annotated import render_renditions
    from gatewatch.evidence.export import ExportError, ExportSelection, check_selection, create_export
    from gatewatch.models.tables import EntryEvent

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
        if not annotated:
            summary = create_export(app.engine, app.settings, selection, output, actor=actor, role=CLI_ROLE)
        else:
            with Session(app.engine) as session:
                check_selection(session, selection)
                events = list(session.exec(select(EntryEvent.id).where(*selection.conditions())).all())
            with tempfile.TemporaryDirectory(prefix="gatewatch-annotated-") as scratch:
                renditions = render_renditions(app.engine, app.settings, events, Path(scratch))
                summary = create_export(app.engine, app.settings, selection, output, actor=actor, role=CLI_ROLE,
                                        annotated=renditions)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    click.echo(f"{summary.path}: {summary.events} events ({summary.flagged} flagged entries), "
               f"{summary.files} files, signed by {summary.signer}")
    if annotated:
        click.echo(f"annotated clips: {summary.annotated}")
    click.echo(f"manifest SHA-256 {summary.manifest_sha256}")
    for problem in summary.evidence_problems:
        click.echo(f"  evidence problem: {problem}", err=True)
    for problem in summary.annotation_problems:
        click.echo(f"  {problem}", err=True)


@export.command("render-job", hidden=True)
@click.argument("job_id", type=int)
@with_app
def export_render_job(app: App, job_id: int) -> None:
    """Make running export job JOB_ID's annotated clips (the web app starts this and waits for it)."""
    from gatewatch.evidence.export_jobs import ExportJobError, render_job_renditions

    try:
        made = render_job_renditions(app.engine, app.settings, job_id)
    except ExportJobError as exc:
        raise UsageError(str(exc)) from None
    for problem in made.problems:
        click.echo(problem, err=True)


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
        fail("\n".join([f"{zip_file}: verification FAILED", *(f"  {p}" for p in result.problems)]))
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
