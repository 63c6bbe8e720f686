"""The dispatcher: one loop that feeds the outbox and sends it, about every second, until stopped.

It runs in the ``gatewatch worker --all`` supervisor and as ``gatewatch alerts run`` (for sites
whose workers run elsewhere); any number may run. On PostgreSQL they share the work row by row
(``SKIP LOCKED`` in ``outbox`` and ``dispatch``). On SQLite, whose writers queue behind one
lock, only the holder of the lease ``alerts.dispatcher`` (a ``JobLock``) works; the others wait
to take it over if it lapses (its holder stopped or died).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from gatewatch.alerts import dispatch, feed, outbox
from gatewatch.alerts.webhooks import seed_from_settings
from gatewatch.models import locks
from gatewatch.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LEASE = "alerts.dispatcher"
#: Longer than a send's timeout: the lease is refreshed before each send.
LEASE_TTL = timedelta(seconds=10)


class _Lease:
    """The SQLite lease: taken, kept and given back; always held on PostgreSQL (rows are locked there)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.needed = engine.dialect.name != "postgresql"
        self.holder = locks.new_holder("alerts")
        self.held = False

    def keep(self) -> bool:
        if not self.needed:
            return True
        self.held = (locks.refresh(self.engine, LEASE, self.holder, LEASE_TTL) if self.held
                     else locks.acquire(self.engine, LEASE, self.holder, LEASE_TTL))
        return self.held

    def release(self) -> None:
        if self.needed and self.held:
            locks.release(self.engine, LEASE, self.holder)
            self.held = False


def run_once(engine: sa.Engine, *, settle: timedelta = feed.SETTLE, timeout: float = dispatch.TIMEOUT,
             stop: threading.Event | None = None,
             still_mine: Callable[[], bool] = lambda: True) -> tuple[int, int]:
    """One round: fan the new alerts out, then send what is due; returns (queued, attempts)."""
    queued = outbox.fan_out(engine, settle=settle)
    attempts = dispatch.deliver_due(
        engine, timeout=timeout, stop=(stop.is_set if stop else lambda: False),
        still_mine=still_mine)
    return queued, attempts


def run_dispatcher(engine: sa.Engine, settings: Settings, stop: threading.Event, *,
                   poll: float = POLL_SECONDS, settle: timedelta = feed.SETTLE,
                   timeout: float = dispatch.TIMEOUT) -> None:
    """Feed and send the outbox until ``stop`` is set; a database error is logged and retried."""
    try:
        seed_from_settings(engine, settings)
    except sa.exc.SQLAlchemyError as error:
        log.warning("webhooks: could not seed the configured hooks: %s", error)
    lease = _Lease(engine)
    try:
        while not stop.is_set():
            try:
                if lease.keep():
                    run_once(engine, settle=settle, timeout=timeout, stop=stop, still_mine=lease.keep)
            except sa.exc.SQLAlchemyError as error:
                log.warning("webhooks: database error, trying again: %s", str(error).splitlines()[0])
            stop.wait(poll)
    finally:
        try:
            lease.release()
        except sa.exc.SQLAlchemyError:
            pass  # it lapses by itself


def start_dispatcher(engine: sa.Engine, settings: Settings, stop: threading.Event) -> threading.Thread:
    """``run_dispatcher`` on a daemon thread of its own (the supervisor's way)."""
    thread = threading.Thread(target=run_dispatcher, args=(engine, settings, stop), name="webhooks", daemon=True)
    thread.start()
    return thread
