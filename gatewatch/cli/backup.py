"""The ``backup`` and ``restore`` commands: a consistent copy of the whole site with a manifest of
hashes, and putting it back into an empty folder and database once the manifest holds."""

from __future__ import annotations

from pathlib import Path

import click

from gatewatch.cli.app import App, InputError, UsageError, with_app


@click.command("backup")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--with-recordings", is_flag=True, help="Copy the cameras' continuous recordings too.")
@with_app
def backup(app: App, out: Path, with_recordings: bool) -> None:
    """Copy the database, evidence, keys and configuration into the new folder OUT, with a manifest."""
    from gatewatch.evidence.backup import BackupError, create_backup
    from gatewatch.evidence.database_copy import DatabaseCopyError

    try:
        result = create_backup(app.settings, out, with_recordings=with_recordings)
    except DatabaseCopyError as exc:
        raise InputError(f"backup failed, nothing kept: {exc}") from None
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    manifest = result.manifest
    click.echo(f"backup in {result.out}: {len(manifest.files)} files ({result.bytes / 1e6:.1f} MB), "
               f"{manifest.database_kind} database at schema {manifest.schema_revision}, "
               f"recordings {'included' if with_recordings else 'not included'}")
    if manifest.segments_left_out:
        click.echo(f"note: {manifest.segments_left_out} recording segments left out (--with-recordings copies them)",
                   err=True)
    if manifest.signing_key is None:
        click.echo("note: no export signing key yet (none was made): a restored site makes a new one", err=True)
    if result.missing:
        click.echo(f"warning: {len(result.missing)} files the database names were not under data_dir "
                   f"(audit verify reports them): " + ", ".join(result.missing[:10]), err=True)


@click.command("restore")
@click.argument("backup_dir", metavar="BACKUP", type=click.Path(file_okay=False, path_type=Path))
@click.option("--data-dir", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The new or empty folder the site's files go to.")
@click.option("--db", "database_url", help="An empty database to restore into (default: gatewatch.db in --data-dir "
                                           "for a SQLite backup; required for a PostgreSQL one).")
def restore(backup_dir: Path, data_dir: Path, database_url: str | None) -> None:
    """Check BACKUP against its manifest, then restore it into --data-dir and the database."""
    from gatewatch.evidence.backup import BackupError
    from gatewatch.evidence.restore import BackupDamaged, restore_backup
    from gatewatch.vision.redaction import redact_url

    try:
        result = restore_backup(backup_dir, data_dir, database_url)
    except BackupDamaged as exc:
        raise InputError(str(exc)) from None
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    manifest = result.manifest
    click.echo(f"restored {result.files} files into {result.data_dir} and the {manifest.database_kind} database "
               f"(schema {manifest.schema_revision}, backed up {manifest.created_at})")
    url = redact_url(result.database_url)
    click.echo("to run the restored site, set:")
    click.echo(f"  data_dir: {result.data_dir}")
    click.echo(f"  database_url: {url}" + ("  (with its password)" if url != result.database_url else ""))
    click.echo(f"  (or GATEWATCH_DATA_DIR={result.data_dir} and GATEWATCH_DATABASE_URL='{url}')")
    if result.config is not None:
        click.echo(f"the configuration is in {result.config}, as it was: it still names the old data_dir and "
                   "database_url, which the variables above override")
    if manifest.segments_left_out:
        click.echo(f"the backup holds no recordings: the {manifest.segments_left_out} recording segments the database "
                   "names are marked as left behind in its audit trail")
    click.echo("then check it: gatewatch audit verify")
