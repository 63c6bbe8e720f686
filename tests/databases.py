"""The databases every database test runs against: SQLite, and a real PostgreSQL server.

The PostgreSQL server is started once per test run from Debian's binaries in a temporary
folder (as the ``postgres`` user when run as root, which initdb refuses), listening only on a
Unix socket. Each test gets a fresh database cloned from a migrated template, dropped in the
background once the test is over: its files are then deleted before the system writes them to
disk, instead of some 6 GB of them written through the run and deleted at its end (20 s and more).
A SQLite test's database is likewise a copy of one migrated once per run (``sqlite_template``).
"""

from __future__ import annotations

import glob
import itertools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gatewatch.models.db import make_engine, migrate

DATABASES = ("sqlite", "postgresql")
_TEMPLATE = "gatewatch_template"
_counter = itertools.count()


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.port = 5432 + os.getpid() % 1000
        as_root = os.geteuid() == 0
        self._prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        self._spent: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._dropper = threading.Thread(target=self._drop_spent, name="drop-databases", daemon=True)
        for path in (root, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            if as_root:
                shutil.chown(path, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        assert initdb and pg_ctl
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")
        self._dropper.start()

    def drop_later(self, database: str) -> None:
        """Drop ``database`` in the background (a test is over with it); its connections are closed."""
        self._spent.put(database)

    def _drop_spent(self) -> None:
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        while (database := self._spent.get()) is not None:
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            except sa.exc.DBAPIError:
                pass  # left to the end of the run, when the whole server is deleted
        engine.dispose()

    def stop(self) -> None:
        self._spent.put(None)
        self._dropper.join(timeout=30)
        # immediate: no shutdown checkpoint of the hundreds of databases the tests made; all is thrown away.
        self._run(_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def execute(self, statement: str) -> None:
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if not (_pg_bin("initdb") and _pg_bin("pg_ctl")):
        pytest.skip("PostgreSQL server binaries not found: apt-get install postgresql (make test does it as root)")
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="gatewatch-pg-"))
    server = PostgresServer(root)
    try:
        server.start()
        server.execute(f"CREATE DATABASE {_TEMPLATE}")
        template = make_engine(server.url(_TEMPLATE))
        migrate(template)
        template.dispose()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated once per run, which each test's starts as a copy of:
    migrating from nothing takes 0.3-0.5 s, and some 550 tests need a SQLite database."""
    path = tmp_path_factory.mktemp("sqlite-template") / "gatewatch.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


def fresh_sqlite_database(template: Path, path: Path) -> str:
    """A copy of the migrated ``template`` at ``path``; its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database of each kind; its URL."""
    if request.param == "sqlite":
        url = fresh_sqlite_database(request.getfixturevalue("sqlite_template"), tmp_path / "gatewatch.db")
        engine = make_engine(url)
        migrate(engine)  # at the newest already: only checked (20 ms)
        engine.dispose()
        return url
    return fresh_postgres_database(request.getfixturevalue("postgres_server"), request)


def fresh_postgres_database(server: PostgresServer, request: pytest.FixtureRequest | None = None) -> str:
    """A new migrated database on ``server``; its URL. Given the ``request`` of a fixture, the
    database is dropped (in the background) when that fixture is torn down."""
    name = f"gatewatch_test_{os.getpid()}_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    if request is not None:
        request.addfinalizer(lambda: server.drop_later(name))
    return server.url(name)
