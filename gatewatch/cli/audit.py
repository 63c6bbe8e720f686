"""The ``audit`` commands: ``audit verify`` walks the tamper-evident trail, the events and their
evidence files; ``audit seal`` records events stored before the chain existed."""

from __future__ import annotations

import click

from gatewatch.cli.app import CLI_ROLE, EXIT_INPUT, App, UsageError, actor_option, echo_json, with_app


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--no-files", is_flag=True, help="Check the records only, not the evidence files.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app
def audit_verify(app: App, no_files: bool, as_json: bool) -> None:
    """Walk the audit chain, the events and their evidence files; exit 0 only when all hold.

    One check runs at a time: while another (from the auditor's page too) runs, this one refuses."""
    from gatewatch.evidence.integrity import verify_integrity_exclusive
    from gatewatch.models.locks import LockBusy

    try:
        report = verify_integrity_exclusive(app.engine, app.settings, check_files=not no_files,
                                            holder="gatewatch audit verify")
    except LockBusy as exc:
        raise UsageError(f"another integrity check is running ({exc.holder}); try again when it has ended") from None
    if as_json:
        echo_json(report.as_dict())
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

    count = seal_events(app.engine, app.settings, actor=actor, role=CLI_ROLE)
    click.echo(f"{count} events sealed by {actor}")
