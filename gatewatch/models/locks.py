"""Named locks in the database: at most one holder of a piece of heavy work at a time (a replay,
an integrity run) across web workers, web servers and the command line.

A lock is a ``JobLock`` row. It is taken by inserting the row (the primary key refuses a second
one: the lock is busy), kept by moving ``expires_at`` forward while the work goes on
(``refresh``, or ``keep`` in a thread of its own), and given back by deleting the row. A row
whose ``expires_at`` has passed was left by a holder that crashed or hung: the next taker
takes it over with one conditional UPDATE, so two takers cannot both win.

Every step is a short transaction of its own: a lock is never held inside another transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.models.db import session_scope
from gatewatch.models.tables import JobLock
from gatewatch.models.types import utcnow

log = logging.getLogger(__name__)

#: How long a lock holds without a refresh, unless a caller says otherwise.
DEFAULT_TTL = timedelta(minutes=2)


class LockBusy(Exception):
    """Someone else holds the lock; ``holder`` and ``expires_at`` say who and until when at most."""

    def __init__(self, name: str, holder: str | None, expires_at: datetime | None) -> None:
        self.name, self.holder, self.expires_at = name, holder, expires_at
        until = f" until {expires_at.isoformat(timespec='seconds')} at most" if expires_at else ""
        super().__init__(f"{name} is already running ({holder or 'another process'}{until})")


@dataclass(frozen=True)
class LockState:
    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime

    @property
    def expired(self) -> bool:
        return self.expires_at <= utcnow()


def new_holder(what: str) -> str:
    """A holder name that no other process will use: what, host, process and a random part."""
    return f"{what}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:200]


def current(engine: sa.Engine, name: str) -> LockState | None:
    """The lock's row as it stands, or None when nobody holds it."""
    with Session(engine) as session:
        row = session.get(JobLock, name)
        if row is None:
            return None
        return LockState(row.name, row.holder, row.acquired_at, row.expires_at)


def acquire(engine: sa.Engine, name: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Take the lock for ``holder``; False when someone else holds it and it has not lapsed."""
    now = utcnow()
    try:
        with session_scope(engine) as session:
            session.add(JobLock(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        return True
    except sa.exc.IntegrityError:
        pass  # held (or lapsed): try to take a lapsed one over below
    with session_scope(engine) as session:
        taken = session.execute(
            sa.update(JobLock)
            .where(JobLock.name == name, JobLock.expires_at < now)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        ).rowcount
    return taken == 1


def acquire_or_raise(engine: sa.Engine, name: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """``acquire``, raising LockBusy naming the holder when the lock is taken."""
    if not acquire(engine, name, holder, ttl):
        state = current(engine, name)
        raise LockBusy(name, state.holder if state else None, state.expires_at if state else None)


def refresh(engine: sa.Engine, name: str, holder: str, ttl: timedelta = DEFAULT_TTL, *,
            new_holder: str | None = None) -> bool:
    """Keep the lock ``ttl`` longer (and hand it to ``new_holder``); False when ``holder`` lost it."""
    values: dict[str, object] = {"expires_at": utcnow() + ttl}
    if new_holder is not None:
        values["holder"] = new_holder
    with session_scope(engine) as session:
        kept = session.execute(
            sa.update(JobLock).where(JobLock.name == name, JobLock.holder == holder).values(**values)
        ).rowcount
    return kept == 1


def release(engine: sa.Engine, name: str, holder: str) -> None:
    """Give the lock back; nothing happens if ``holder`` no longer holds it."""
    with session_scope(engine) as session:
        session.execute(sa.delete(JobLock).where(JobLock.name == name, JobLock.holder == holder))


class Keeper:
    """Refreshes a held lock from a thread every quarter of its ``ttl`` until ``stop``.

    ``lost`` is set when a refresh finds the lock taken over (the holder was too slow, or a
    clock jumped): the work should stop, someone else may be doing it now.
    """

    def __init__(self, engine: sa.Engine, name: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
        self.engine, self.name, self.holder, self.ttl = engine, name, holder, ttl
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lock-{name}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 4):
            try:
                if not refresh(self.engine, self.name, self.holder, self.ttl):
                    self.lost.set()
                    return
            except sa.exc.SQLAlchemyError:
                continue  # the database blinked: try again at the next beat, the ttl leaves room

    def start(self) -> Keeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()


@contextmanager
def held(engine: sa.Engine, name: str, holder: str | None = None, ttl: timedelta = DEFAULT_TTL) -> Iterator[Keeper]:
    """Hold the lock ``name`` for the block, refreshed in the background; raises LockBusy when taken."""
    holder = holder or new_holder(name)
    acquire_or_raise(engine, name, holder, ttl)
    keeper = Keeper(engine, name, holder, ttl).start()
    try:
        yield keeper
    finally:
        keeper.stop()
        release(engine, name, holder)


def run_in_background(name: str, work: Callable[[], object]) -> None:
    """Run ``work`` on a daemon thread called ``name``. A failure is logged: the work records it on
    its own row (the import's, the export job's), and the thread has nobody else to tell."""

    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed", name)

    threading.Thread(target=run, name=name, daemon=True).start()
