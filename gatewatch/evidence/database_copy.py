"""A consistent copy of the database for a backup, and putting one back: SQLite's online backup
API, PostgreSQL's ``pg_dump`` and ``pg_restore``.

SQLite is copied through ``sqlite3.Connection.backup``, which reads one snapshot while a worker
keeps writing; copying the file and its ``-wal`` by hand could catch a transaction half applied.
PostgreSQL is dumped by ``pg_dump`` in its custom format (itself one snapshot) and restored by
``pg_restore`` in a single transaction, so a failed restore leaves the database empty.

The password never reaches a command line (``ps`` shows those to every user), a log or an
error: the client programs get it through ``PGPASSWORD``, and their messages pass through
``redact_url``.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from gatewatch.vision.redaction import redact_url

SQLITE, POSTGRESQL = "sqlite", "postgresql"
#: The file a backup keeps the database in, by kind: a SQLite database, or pg_dump's custom format.
DUMP_FILES = {SQLITE: "gatewatch.db", POSTGRESQL: "gatewatch.pgdump"}
#: Where Debian keeps each PostgreSQL version's programs, when they are not on PATH.
_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin/{name}"


class DatabaseCopyError(Exception):
    """The database cannot be copied or put back; the message says why, without the password."""


def database_kind(url: str) -> str:
    """``sqlite`` or ``postgresql``, from a SQLAlchemy URL; DatabaseCopyError for anything else."""
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise DatabaseCopyError(f"{redact_url(url)!r} is not a database URL") from None
    if backend not in DUMP_FILES:
        raise DatabaseCopyError(f"cannot back up a {backend} database: only SQLite and PostgreSQL")
    return backend


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; DatabaseCopyError for an in-memory database."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseCopyError("an in-memory SQLite database cannot be backed up or restored into")
    return Path(database)


def table_names(url: str) -> list[str]:
    """The tables the database at ``url`` holds; [] for a SQLite file that does not exist yet (none made)."""
    if database_kind(url) == SQLITE:
        path = sqlite_path(url)
        if not path.exists():
            return []
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            try:
                rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            except sqlite3.DatabaseError as exc:
                raise DatabaseCopyError(f"{path} is not a SQLite database: {exc}") from None
        return sorted(name for (name,) in rows)
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    except sa.exc.OperationalError as exc:
        raise DatabaseCopyError(f"cannot open the database: {redact_url(str(exc.orig))}") from None
    finally:
        engine.dispose()


def dump_database(url: str, target: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``target`` (a new file)."""
    if database_kind(url) == SQLITE:
        source = sqlite_path(url)
        if not source.is_file():
            raise DatabaseCopyError(f"there is no SQLite database at {source}")
        _sqlite_copy(f"{source.resolve().as_uri()}?mode=rw", target)
    else:
        conninfo, env = _libpq(url)
        _run([pg_program("pg_dump"), "--format=custom", f"--file={target}", f"--dbname={conninfo}"], env, "pg_dump")
    target.chmod(0o600)


def restore_database(dump: Path, kind: str, url: str) -> None:
    """Put the copy ``dump`` of a ``kind`` database into the (empty) database at ``url``."""
    if database_kind(url) != kind:
        raise DatabaseCopyError(f"the backup holds a {kind} database; the target URL must be a {kind} one")
    if kind == SQLITE:
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(f"{dump.resolve().as_uri()}?mode=ro", target)
        return
    conninfo, env = _libpq(url)
    _run([pg_program("pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
          f"--dbname={conninfo}", str(dump)], env, "pg_restore")


def _sqlite_copy(source_uri: str, target: Path) -> None:
    """Copy the database at ``source_uri`` into ``target`` page by page, as one snapshot; one file, no WAL."""
    try:
        with closing(sqlite3.connect(source_uri, uri=True, timeout=30)) as source, \
                closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, whatever the source used
    except sqlite3.Error as exc:
        raise DatabaseCopyError(f"copying the SQLite database failed: {exc}") from None


def pg_program(name: str) -> str:
    """The path of a PostgreSQL client program: on PATH, else Debian's newest version of it."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(_PG_BIN_GLOB.format(name=name)), reverse=True)), None)
    if found is None:
        raise DatabaseCopyError(f"{name} not found on PATH or under /usr/lib/postgresql: install postgresql-client")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL, and the environment that carries its password."""
    parsed = sa.engine.make_url(url)
    params: dict[str, str] = {}
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    for key, value in (("host", parsed.host), ("port", parsed.port), ("user", parsed.username),
                       ("dbname", parsed.database)):
        if value is not None:
            params[key] = str(value)
    password = params.pop("password", None) if parsed.password is None else str(parsed.password)
    conninfo = " ".join(f"{key}='{_quote(value)}'" for key, value in params.items())
    env = {name: value for name, value in os.environ.items() if name != "PGPASSWORD"}
    if password is not None:
        env["PGPASSWORD"] = password
    return conninfo, env


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DatabaseCopyError(f"{what} could not be run: {exc}") from None
    if done.returncode != 0:
        message = redact_url(done.stderr.strip())[-2000:] or f"exit status {done.returncode}"
        raise DatabaseCopyError(f"{what} failed: {message}")
