"""The ``retention`` command (``retention apply``): old evidence files and recording segments
deleted on the record, their hashes and an audit record kept so ``audit verify`` tells expired
from tampered.

Each retention is named: ``--evidence-days`` for events' snapshots and clips,
``--recording-days`` for the continuous recordings, ``--visitor-days`` for the visitor log's
personal fields (erased in the visits and in the audit trail). Without any, every retention the
configuration sets is applied, and the command says which. Held evidence (``evidence hold``, a
confirmed intrusion) is kept, and counted, and so is the visit linked to a held event.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from gatewatch.cli.app import CLI_ROLE, App, UsageError, actor_option, fail, with_app
from gatewatch.settings import Settings


def _refuse_days(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise UsageError("--days is gone: it meant evidence, and recordings now have a retention of their own. "
                         "Use --evidence-days N for snapshots and clips, --recording-days N for recordings.")


@click.group()
def retention() -> None:
    """Deleting old evidence files and recordings, and erasing visitors' personal data, on the record."""


@retention.command("apply")
@click.option("--evidence-days", type=click.IntRange(min=1),
              help="Delete events' snapshots and clips older than this (instead of evidence.retention_days).")
@click.option("--recording-days", type=click.IntRange(min=1),
              help="Delete recording segments older than this (instead of recording.retention_days).")
@click.option("--visitor-days", type=click.IntRange(min=1),
              help="Erase the name, NIK, organisation and plate of visits checked in before this "
                   "(instead of visitors.retention_days).")
@click.option("--days", hidden=True, expose_value=False, callback=_refuse_days)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@actor_option
@with_app
def retention_apply(app: App, evidence_days: int | None, recording_days: int | None, visitor_days: int | None,
                    dry_run: bool, actor: str) -> None:
    """Apply the retentions named, or without --evidence-days/--recording-days/--visitor-days each one configured.

    Held evidence is kept until an auditor releases it (`gatewatch evidence release`)."""
    settings = app.settings
    named = evidence_days is not None or recording_days is not None or visitor_days is not None
    evidence = evidence_days is not None or (not named and settings.evidence.retention_days is not None)
    recordings = recording_days is not None or (not named and _recording_retention(settings) is not None)
    visitors = visitor_days is not None or (not named and settings.visitors.retention_days is not None)
    if not (evidence or recordings or visitors):
        raise UsageError("no retention is configured: set evidence.retention_days, recording.retention_days or "
                         "recording.max_disk_gb, or visitors.retention_days; or give --evidence-days N, "
                         "--recording-days N or --visitor-days N")
    failures: list[str] = []
    if evidence:
        failures += _apply_evidence(app, evidence_days, dry_run, actor)
    if recordings:
        failures += _apply_recordings(app, recording_days, dry_run, actor)
    if visitors:
        _apply_visitors(app, visitor_days, dry_run, actor)
    if failures:
        fail("\n".join(["some files could not be deleted (their records are marked deleted):",
                        *(f"  {f}" for f in failures)]))


def _recording_retention(settings: Settings) -> str | None:
    """The configured recording retention, in words; None when neither days nor a quota is set."""
    recording = settings.recording
    parts = ([f"recording.retention_days {recording.retention_days}"] if recording.retention_days else []) + (
        [f"recording.max_disk_gb {recording.max_disk_gb:g}"] if recording.max_disk_gb else [])
    return ", ".join(parts) or None


def _apply_evidence(app: App, days: int | None, dry_run: bool, actor: str) -> list[str]:
    from gatewatch.evidence.retention import RetentionError, apply_retention

    source = f"--evidence-days {days}" if days is not None else \
        f"evidence.retention_days {app.settings.evidence.retention_days}"
    try:
        result = apply_retention(app.engine, app.settings, actor=actor, role=CLI_ROLE, days=days, dry_run=dry_run)
    except RetentionError as exc:
        raise UsageError(str(exc)) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"evidence ({source}): before {app.local(result.cutoff)}: {result.events} events, {verb} "
               f"{result.files} files" + ("" if dry_run else f" ({result.bytes / 1e6:.1f} MB)")
               + f"; kept {result.kept_held} held events")
    return result.failures


def _apply_recordings(app: App, days: int | None, dry_run: bool, actor: str) -> list[str]:
    from gatewatch.evidence.recordings import apply_recording_retention
    from gatewatch.evidence.retention import RetentionError

    source = f"--recording-days {days}" if days is not None else _recording_retention(app.settings)
    try:
        result = apply_recording_retention(app.engine, app.settings, actor=actor, role=CLI_ROLE, days=days,
                                           dry_run=dry_run)
    except RetentionError as exc:
        raise UsageError(str(exc)) from None
    verb = "would delete" if dry_run else "deleted"
    before = f"before {app.local(result.cutoff)}: " if result.cutoff is not None else ""
    click.echo(f"recordings ({source}): {before}{verb} {result.segments} segments ({result.bytes / 1e6:.1f} MB); "
               f"kept {result.kept_open} spanning open entries and {result.kept_held} spanning held ones")
    return list(result.failures)


def _apply_visitors(app: App, days: int | None, dry_run: bool, actor: str) -> None:
    from gatewatch.evidence.ktp_photos import delete_expired_photos
    from gatewatch.evidence.retention import RetentionError
    from gatewatch.evidence.visit_retention import apply_visit_retention

    source = f"--visitor-days {days}" if days is not None else \
        f"visitors.retention_days {app.settings.visitors.retention_days}"
    try:
        result = apply_visit_retention(app.engine, app.settings, actor=actor, role=CLI_ROLE, days=days,
                                       dry_run=dry_run)
    except RetentionError as exc:
        raise UsageError(str(exc)) from None
    if dry_run:
        done = f"would erase the personal fields of {result.visits} visits"
    else:
        done = (f"erased the personal fields of {result.visits} visits ({result.trail_fields} fields in the audit "
                f"trail, visitor names in {result.flag_details} events' flag details)")
    with app.change(OSError) as session:  # kept KTP photos go with the visitor log's retention
        photos = delete_expired_photos(session, app.settings, actor=actor, role=CLI_ROLE, now=datetime.now(UTC),
                                       days=days, dry_run=dry_run)
    click.echo(f"visitors ({source}): checked in before {app.local(result.cutoff)}: {done}; "
               f"kept {result.kept_held} linked to held events; "
               f"{photos} KTP photos {'to delete' if dry_run else 'deleted'}")
