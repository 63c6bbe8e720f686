#!/usr/bin/env python3
"""How does the web API hold up under a site's load? Prints a table and writes the figures as JSON.

    python scripts/loadtest.py [--seconds 60] [--clients 20] [--databases sqlite,postgresql]
                               [--workers 4] [--json test-output/loadtest.json]

For each database (a SQLite file in a temporary directory; a PostgreSQL server this script
starts the way the test suite does, see tests/databases.py) a fresh site is set up from a
configuration file of its own: migrated schema, one camera, a guard and an operator with an
API token each, and flagged entries from yesterday, so the queue is not empty (registrations
made now cannot explain them). gunicorn then serves ``gatewatch.web.app:wsgi()`` as
deploy/gatewatch-web.service does (``--preload``, sync workers) on a free loopback port.

Every client is a thread with a connection of its own; it alternates registering a visitor
(POST /api/v1/visits with a new NIK, as the guard; 201 expected) and polling the flagged
queue as the queue page does (GET /api/v1/events/queue-state, as the operator; 200 expected).
Latency is measured from sending a request to having read its answer, on the same two cores
as the server. Afterwards every NIK whose registration was answered 201 must be in the
database. The exit status is 1 when any request failed or any registration is missing.

Rate limits: the API has none; only failed logins on the login form are limited per address
(``gatewatch.web.auth.LOGIN_RATE``, not configurable), and token clients never log in.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gunicorn
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.camera.footage import sync_camera
from gatewatch.camera.store import EventStore
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import Direction, Role
from gatewatch.models.tables import Visit
from gatewatch.settings import Settings, load_settings
from gatewatch.vision.gate import Crossing
from gatewatch.vision.recorder import EventDraft
from gatewatch.visitors.visits import validate_nik

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.databases, which is not installed with the package
from tests.databases import PostgresServer

HOST = "127.0.0.1"
APP = "gatewatch.web.app:wsgi()"
CAMERA_ID = "load-gate"
GUARD, OPERATOR = "load-guard", "load-operator"
FLAGGED_EVENTS = 100
REGISTER, POLL = "register", "poll"
VISITS_PATH = "/api/v1/visits"
QUEUE_STATE_PATH = "/api/v1/events/queue-state"
#: Different error messages kept per database; all errors are counted.
ERROR_SAMPLES = 5
STARTUP_SECONDS = 60.0
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Site:
    """A configured, seeded installation and the tokens its clients use."""

    config: Path
    settings: Settings
    guard_token: str
    operator_token: str


@dataclass
class Tally:
    """What one client saw; merged over all clients at the end."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {REGISTER: [], POLL: []})  # ms
    errors: Counter[str] = field(default_factory=Counter)  # by kind of request
    error_samples: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # NIKs answered 201

    def error(self, kind: str, message: str) -> None:
        self.errors[kind] += 1
        self._sample(message)

    def _sample(self, message: str) -> None:
        if message not in self.error_samples and len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(message)

    def merge(self, other: Tally) -> None:
        for kind, values in other.latencies.items():
            self.latencies[kind] += values
        self.errors += other.errors
        for message in other.error_samples:
            self._sample(message)
        self.registered += other.registered


# --- the databases ------------------------------------------------------------------------------


@contextmanager
def sqlite_url(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'gatewatch.db'}"


@contextmanager
def postgresql_url(_workdir: Path) -> Iterator[str]:
    """A database on a PostgreSQL server of its own, stopped and deleted afterwards."""
    # Its own folder under /tmp, not the work directory: the server runs as postgres, which must reach it.
    root = Path(tempfile.mkdtemp(prefix="gatewatch-load-pg-"))
    server = PostgresServer(root)
    try:
        try:
            server.start()
        except (AssertionError, subprocess.CalledProcessError) as exc:  # no binaries; initdb or pg_ctl failed
            stderr = (getattr(exc, "stderr", None) or b"").decode(errors="replace").strip()
            raise SystemExit(
                f"PostgreSQL could not be started: {stderr or 'its server binaries were not found'}\n"
                "Debian's postgresql package provides them: make system-deps"
            ) from None
        try:
            server.execute("CREATE DATABASE gatewatch")
            yield server.url("gatewatch")
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


DATABASES: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "sqlite": sqlite_url,
    "postgresql": postgresql_url,
}


# --- the site -----------------------------------------------------------------------------------


def write_config(workdir: Path, database_url: str) -> Path:
    """The site's configuration file, which the script and gunicorn both read."""
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": database_url,
        "detector": {"model": "yolo11n.pt"},  # required, but the web app never loads a model
        "cameras": [
            {
                "id": CAMERA_ID,
                "name": "Load test gate",
                "source": "0",
                "gate": {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.9]},
            }
        ],
    }
    path = workdir / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def add_user_with_token(session: Session, username: str, role: Role) -> str:
    """A user (with a password nobody needs) and an API token of theirs; returns the token."""
    actor = {"actor": "loadtest", "actor_role": Role.ADMIN.value}
    user = users.create_user(session, username, os.urandom(16).hex(), role.value, **actor)
    assert user.id is not None  # flushed by create_user
    _row, token = users.issue_token(session, user.id, "load test", **actor)
    return token


def add_flagged_entries(engine: sa.Engine, settings: Settings) -> None:
    """Entries from yesterday that nothing explains, stored through the event store like the worker's."""
    store = EventStore(engine, settings, settings.camera(CAMERA_ID), source_key="loadtest")
    start = datetime.now(UTC) - timedelta(days=1)
    for index in range(FLAGGED_EVENTS):
        crossing = Crossing(
            track_id=index,
            label="person",
            direction=Direction.ENTRY,
            frame_index=index,
            time=start + timedelta(minutes=index),
            confidence=0.9,
            box=(0.4, 0.3, 0.6, 0.9),
        )
        store.save(EventDraft(crossing, fps=25.0, clip=[]))


def prepare_site(workdir: Path, database_url: str) -> Site:
    """A new site in ``workdir`` on ``database_url`` (an empty database), ready to serve."""
    config = write_config(workdir, database_url)
    settings = load_settings(config)
    engine = make_engine(settings.effective_database_url)
    try:
        migrate(engine)
        sync_camera(engine, settings.camera(CAMERA_ID))
        with session_scope(engine) as session:
            guard_token = add_user_with_token(session, GUARD, Role.GUARD)
            operator_token = add_user_with_token(session, OPERATOR, Role.OPERATOR)
        add_flagged_entries(engine, settings)
    finally:
        engine.dispose()
    return Site(config, settings, guard_token, operator_token)


def stored_niks(site: Site) -> set[str]:
    """The NIKs of the visits the load test's guard registered."""
    engine = make_engine(site.settings.effective_database_url)
    try:
        with Session(engine) as session:
            return set(session.exec(select(Visit.id_number).where(Visit.registered_by == GUARD)).all())
    finally:
        engine.dispose()


# --- the server ---------------------------------------------------------------------------------


def log_tail(log: Path, characters: int = 5000) -> str:
    return log.read_text(errors="replace")[-characters:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def gunicorn_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(workers),
            "--bind", f"{HOST}:{port}", APP]


def wait_until_serving(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}:\n{log_tail(log)}")
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", "/login")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise SystemExit(f"gunicorn did not answer within {STARTUP_SECONDS:.0f} s:\n{log_tail(log)}")


@contextmanager
def serving(site: Site, workers: int, log: Path) -> Iterator[int]:
    """gunicorn serving the site's web app; yields its port."""
    port = free_port()
    environment = {**os.environ, "GATEWATCH_CONFIG": str(site.config)}
    with open(log, "wb") as output:
        command = gunicorn_command(port, workers)
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        wait_until_serving(server, port, log)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the clients --------------------------------------------------------------------------------

_nik_numbers = itertools.count()


def next_nik() -> str:
    """A new valid NIK: Jakarta (31), born 1 January 1990, the counter in the district and serial digits."""
    number = next(_nik_numbers)  # atomic under the GIL, so unique across the client threads
    district, serial = divmod(number, 9999)
    return validate_nik(f"31{district:04d}010190{serial + 1:04d}")


def visit_body(nik: str) -> dict[str, Any]:
    return {
        "visitor_name": f"Load Visitor {nik[-8:]}",
        "id_number": nik,
        "organisation": "PT Uji Beban",
        "host": "Warehouse office",
        "purpose": "delivery",
        "camera_id": CAMERA_ID,
        "check_in_at": datetime.now(UTC).isoformat(),
    }


class Client:
    """One API client: a connection of its own and what it saw."""

    def __init__(self, port: int, site: Site) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        self.site = site
        self.tally = Tally()

    def call(self, kind: str, method: str, path: str, token: str, body: dict[str, Any] | None,
             expected: int) -> bool:
        """Send one request and time it; whether it was answered with the ``expected`` status."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()  # the next request opens a new connection
            self.tally.error(kind, f"{method} {path}: {type(exc).__name__}: {exc}")
            return False
        self.tally.latencies[kind].append((time.perf_counter() - started) * 1000.0)
        if response.status != expected:
            body_text = answer[:300].decode(errors="replace").strip()
            self.tally.error(kind, f"{method} {path}: {response.status} {body_text}")
            return False
        return True

    def register(self) -> None:
        nik = next_nik()
        if self.call(REGISTER, "POST", VISITS_PATH, self.site.guard_token, visit_body(nik), 201):
            self.tally.registered.append(nik)

    def poll(self) -> None:
        self.call(POLL, "GET", QUEUE_STATE_PATH, self.site.operator_token, None, 200)

    def run(self, deadline: float) -> None:
        steps = itertools.cycle((self.register, self.poll))
        while time.monotonic() < deadline:
            next(steps)()
        self.connection.close()


def drive(port: int, site: Site, clients: int, seconds: float) -> tuple[Tally, float]:
    """Run the clients together for ``seconds``; what they saw and the wall time until the last finished."""
    everyone = [Client(port, site) for _ in range(clients)]
    started = time.monotonic()
    threads = [threading.Thread(target=client.run, args=(started + seconds,)) for client in everyone]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = Tally()
    for client in everyone:
        total.merge(client.tally)
    return total, elapsed


# --- figures ------------------------------------------------------------------------------------


def latency_figures(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    """Figures of the requests answered (``latencies``, ms), and ``errors``: wrong answers and no answers."""
    figures: dict[str, Any] = {"requests": len(latencies), "per_second": len(latencies) / seconds,
                               "errors": errors}
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        figures.update(p50_ms=cuts[49], p95_ms=cuts[94], p99_ms=cuts[98])
    return figures


def database_figures(database: str, tally: Tally, seconds: float, stored: set[str]) -> dict[str, Any]:
    answered = [*tally.latencies[REGISTER], *tally.latencies[POLL]]
    missing = sorted(set(tally.registered) - stored)
    return {
        "database": database,
        "seconds": seconds,
        "requests": {
            **{kind: latency_figures(values, tally.errors[kind], seconds)
               for kind, values in tally.latencies.items()},
            "all": latency_figures(answered, tally.errors.total(), seconds),
        },
        "errors": tally.errors.total(),
        "error_samples": tally.error_samples,
        "registrations": {"accepted": len(tally.registered), "stored": len(stored), "missing": len(missing),
                          "missing_sample": missing[:ERROR_SAMPLES]},
    }


def run_database(database: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"gatewatch-load-{database}-") as tmp:
        workdir = Path(tmp)
        with DATABASES[database](workdir) as url:
            site = prepare_site(workdir, url)
            log = workdir / "gunicorn.log"
            with serving(site, args.workers, log) as port:
                tally, seconds = drive(port, site, args.clients, args.seconds)
            figures = database_figures(database, tally, seconds, stored_niks(site))
            if tally.errors.total():
                print(f"--- the end of gunicorn's log, {database} ---\n{log_tail(log)}", file=sys.stderr)
    return figures


def _ms(figures: dict[str, Any], key: str) -> str:
    return f"{figures[key]:.1f}" if key in figures else "-"


def _row(*cells: str) -> str:
    return "{:<11} {:<9} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7}".format(*cells)


def print_table(results: list[dict[str, Any]]) -> None:
    print(_row("database", "request", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"))
    for result in results:
        for kind, figures in result["requests"].items():
            print(_row(result["database"], kind, str(figures["requests"]), f"{figures['per_second']:.1f}",
                       _ms(figures, "p50_ms"), _ms(figures, "p95_ms"), _ms(figures, "p99_ms"),
                       str(figures["errors"])))
    print()
    for result in results:
        check = result["registrations"]
        missing = f"MISSING {check['missing']}, such as {check['missing_sample']}"
        verdict = missing if check["missing"] else "all there"
        print(f"{result['database']}: {check['accepted']} registrations answered 201, "
              f"{check['stored']} in the database by id_number: {verdict}")
        for sample in result["error_samples"]:
            print(f"  error: {sample}")


def failed(result: dict[str, Any]) -> bool:
    return result["errors"] > 0 or result["registrations"]["missing"] > 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--databases", default=",".join(DATABASES),
                        help="comma-separated, from: " + ", ".join(DATABASES))
    parser.add_argument("--workers", type=int, default=4,
                        help="gunicorn sync workers (default 4, as deploy/gatewatch-web.service runs)")
    parser.add_argument("--json", type=Path, default=ROOT / "test-output" / "loadtest.json",
                        help="where the figures are written")
    args = parser.parse_args()
    args.databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = sorted(set(args.databases) - set(DATABASES))
    if unknown or not args.databases:
        parser.error(f"--databases: choose from {', '.join(DATABASES)}")
    return args


def main() -> int:
    args = parse_args()
    # Each site is configured by its own file alone: GATEWATCH_* variables of this shell would override it.
    for name in [name for name in os.environ if name.startswith("GATEWATCH_")]:
        del os.environ[name]
    server = f"gunicorn {gunicorn.__version__}, {args.workers} sync workers, --preload, '{APP}'"
    print(f"{args.clients} clients for {args.seconds:g} s against {server}; each alternates "
          f"POST {VISITS_PATH} (guard token) and GET {QUEUE_STATE_PATH} (operator token).\n", flush=True)
    load_before = os.getloadavg()  # other work on the machine skews the figures: recorded with them
    results = [run_database(database, args) for database in args.databases]
    load_after = os.getloadavg()
    print_table(results)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "server": server,
        "clients": args.clients,
        "seconds": args.seconds,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nload average over 1 min: {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"({os.cpu_count()} CPUs); figures written to {args.json}")
    return 1 if any(failed(result) for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
