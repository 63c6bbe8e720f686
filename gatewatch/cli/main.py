"""The ``gatewatch`` command: the ``main`` group (``-v``) with every command group registered on it.

``gatewatch = "gatewatch.cli.main:main"`` in pyproject.toml, and ``python -m gatewatch``, run it.
"""

from __future__ import annotations

import logging
import sys

import click

from gatewatch.cli.alerts import alerts
from gatewatch.cli.analysis import process, worker
from gatewatch.cli.audit import audit
from gatewatch.cli.authorisations import authorisations
from gatewatch.cli.backup import backup, restore
from gatewatch.cli.cameras import cameras
from gatewatch.cli.demo import demo
from gatewatch.cli.events import events
from gatewatch.cli.evidence import evidence
from gatewatch.cli.export import export
from gatewatch.cli.ktp import ktp_read
from gatewatch.cli.replay import replay, replay_run
from gatewatch.cli.retention import retention
from gatewatch.cli.serve import serve
from gatewatch.cli.users import tokens, users
from gatewatch.cli.visits import visits


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """gatewatch: gate camera analysis checked against the visitor log."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


for _command in (process, worker, events, visits, authorisations, audit, export, retention, replay, replay_run,
                 serve, users, tokens, demo, evidence, backup, restore, alerts, cameras, ktp_read):
    main.add_command(_command)
