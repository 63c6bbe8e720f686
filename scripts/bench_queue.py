#!/usr/bin/env python3
"""How fast is the flagged queue with 100,000 events? Prints the median and slowest page times.

    python scripts/bench_queue.py [--events 100000] [--requests 50]

Fills a temporary SQLite database (migrated like production) with a month of events at two
gates, logs in an operator through the login form and requests the queue pages with Flask's
test client: the default page, a deep page, and filtered pages. Times include rendering.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from gatewatch.accounts import users
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import EventStatus, FlagReason
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import Settings
from gatewatch.web.app import create_app

CAMERAS = ("gate-a", "gate-b")
START = datetime(2026, 10, 1, tzinfo=UTC)
PASSWORD = "benchmark-password"


def _rows(count: int, seed: int = 7) -> list[dict[str, object]]:
    """A month of events: 60% entries, of which 35% flagged (some acknowledged), the rest explained."""
    rng = random.Random(seed)
    step = timedelta(days=30) / count
    reasons = list(FlagReason)
    rows = []
    for index in range(count):
        entry = rng.random() < 0.6
        flagged = entry and rng.random() < 0.35
        status = EventStatus.EXIT if not entry else EventStatus.EXPLAINED
        if flagged:
            status = EventStatus.ACKNOWLEDGED if rng.random() < 0.2 else EventStatus.FLAGGED
        rows.append(
            {
                "camera_id": CAMERAS[index % 2],
                "source_key": "bench",
                "track_id": index,
                "frame_index": index,
                "label": rng.choice(("person", "person", "car", "motorcycle")),
                "direction": "entry" if entry else "exit",
                "occurred_at": START + step * index,
                "confidence": 0.8,
                "box_x1": 0.0,
                "box_y1": 0.0,
                "box_x2": 1.0,
                "box_y2": 1.0,
                "status": status.value,
                "flag": rng.choice(reasons).value if flagged else None,
                "flag_detail": "unregistered: benchmark" if flagged else None,
                "created_at": START,
                "snapshot_path": f"evidence/bench/{index}.jpg",
            }
        )
    return rows


def fill(engine: sa.Engine, count: int) -> None:
    with session_scope(engine) as session:
        for camera in CAMERAS:
            session.add(Camera(id=camera, name=camera, source="0"))
        users.create_user(session, "operator", PASSWORD, "operator", actor="bench", actor_role="bench")
    rows = _rows(count)
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(EntryEvent.__table__), rows[start : start + 5000])
        connection.exec_driver_sql("ANALYZE")


def measure(client: object, url: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(detector={"model": "none"}, data_dir=Path(folder))
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
        started = time.perf_counter()
        fill(engine, args.events)
        print(f"filled {args.events:,} events in {time.perf_counter() - started:.1f} s")
        app = create_app(settings, engine, testing=True)
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "operator", "password": PASSWORD, "csrf_token": token})
        pages = {
            "queue, first page": "/events",
            "queue, page 100": "/events?page=100",
            "gate-b, after hours": "/events?camera=gate-b&reason=after_hours",
            "one day, any status": "/events?status=any&date=2026-10-15",
            "queue state (poll)": "/api/v1/events/queue-state",
        }
        print(f"{'page':<22}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}   ({args.requests} requests each)")
        for name, url in pages.items():
            times = sorted(measure(client, url, args.requests))
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            print(f"{name:<22}{statistics.median(times):>10.1f}{p95:>9.1f}{times[-1]:>9.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
