"""``gatewatch visits subject``: everything held about one NIK, for a person asking what is held about them.

The NIK is read from a prompt, or from standard input when that is not a terminal, never from
the command line: it then stays out of the shell's history and the process list. The look-up is
audited (``visits.subject_access``) with the NIK masked, even when nothing is found.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlmodel import Session

from gatewatch.cli.app import CLI_ROLE, App, InputError, UsageError, actor_option, echo_json, with_app
from gatewatch.evidence import subject_access
from gatewatch.models.db import session_scope
from gatewatch.visitors.visits import validate_nik


def read_nik() -> str:
    """The NIK typed at a prompt, or the first line of standard input when it is not a terminal; validated."""
    if sys.stdin is not None and sys.stdin.isatty():
        text = click.prompt("NIK (16 digits)", err=True)
    else:
        text = sys.stdin.readline() if sys.stdin is not None else ""
    try:
        return validate_nik(text.strip())
    except ValueError as exc:
        raise UsageError(f"NIK: {exc}") from None


@click.command("subject")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.option("--zip", "zip_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a ZIP: the data as JSON, the evidence files of the entries, a manifest of SHA-256s.")
@actor_option
@with_app
def visits_subject(app: App, as_json: bool, zip_file: Path | None, actor: str) -> None:
    """Everything held about one NIK: visits, authorisations, entries with their evidence, the watch
    list. The NIK is read from a prompt or standard input (never the command line); the look-up is audited."""
    nik = read_nik()
    with Session(app.engine) as session:
        data = subject_access.gather(session, nik)
    values = subject_access.as_dict(data, app.settings)
    summary = None
    if zip_file is not None:
        try:
            summary = subject_access.write_zip(data, values, zip_file, app.settings.data_dir)
        except OSError as exc:
            raise InputError(f"{zip_file}: cannot be written ({exc.strerror or exc})") from None
    delivered = "json" if as_json else "text"
    with session_scope(app.engine) as session:
        subject_access.record_access(session, data, actor=actor, role=CLI_ROLE,
                                     delivered=f"{delivered}+zip" if summary else delivered,
                                     file=zip_file.name if zip_file else None)
    if as_json:
        echo_json(values)
    else:
        click.echo(subject_access.as_text(values, app.settings.zone))
    if summary is not None:
        click.echo(f"{summary.path}: {subject_access.DATA_FILE}, {summary.evidence_files} evidence files and "
                   f"{subject_access.MANIFEST}", err=True)
        for problem in summary.problems:
            click.echo(f"  evidence problem: {problem}", err=True)
