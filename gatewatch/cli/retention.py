"""The ``retention`` command (``retention apply``): old evidence files deleted on the record, their
hashes and an audit record kept so ``audit verify`` tells expired from tampered."""

from __future__ import annotations

import click

from gatewatch.cli.app import CLI_ROLE, App, UsageError, actor_option, fail, with_app


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
        result = apply_retention(app.engine, app.settings, actor=actor, role=CLI_ROLE, days=days, dry_run=dry_run)
    except RetentionError as exc:
        raise UsageError(str(exc)) from None
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"evidence before {app.local(result.cutoff)}: {result.events} events, {verb} {result.files} files"
               + ("" if dry_run else f" ({result.bytes / 1e6:.1f} MB)"))
    if result.failures:
        fail("\n".join(["some files could not be deleted (their events are marked expired):",
                        *(f"  {f}" for f in result.failures)]))
