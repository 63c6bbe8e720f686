"""Another connection holding a table's write lock, as a migration or a long import does."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def held_write_lock(engine: sa.Engine, table: str) -> Iterator[None]:
    """Another connection holds ``table``'s write lock (SQLite: the whole database's); the engine's
    connections made meanwhile give up waiting after 0.2 s."""
    sqlite = engine.dialect.name == "sqlite"
    setting = "PRAGMA busy_timeout=200" if sqlite else "SET lock_timeout = '200ms'"
    listener = lambda connection, _record: connection.cursor().execute(setting)
    sa.event.listen(engine, "connect", listener)
    engine.dispose()  # connections made from now on wait only briefly
    if sqlite:
        holder = sqlite3.connect(engine.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = engine.raw_connection()
        holder.cursor().execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        if sqlite:
            holder.execute("COMMIT")
        else:
            holder.commit()
        holder.close()
        sa.event.remove(engine, "connect", listener)
        engine.dispose()
