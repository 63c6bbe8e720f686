"""The OpenAPI document is the contract: schemathesis, reading only /api/v1/openapi.json, sends
what the document allows and what it forbids to a served instance holding demo-like data, with
every role's token, and finds no answer that breaks the document (no server error, no
undocumented status, no valid request refused, no forbidden one accepted, an ``Allow`` header
on every 405).

It runs the ``schemathesis`` command line on the live server with a fixed seed, all checks, all
phases (examples, coverage, fuzzing, and the stateful phase, which follows the document's links)
and a bounded number of examples, so a failure is reproducible by hand (README: "The API
contract").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from gatewatch.models.enums import Role
from tests.web_helpers import GATE, NIK, ROOT, VEHICLE_GATE, StoreEvent

SEED = 20261120
#: Test cases per operation and phase; the run is also capped in time (seconds).
MAX_EXAMPLES = int(os.environ.get("GATEWATCH_CONTRACT_EXAMPLES", "15"))
MAX_SECONDS = int(os.environ.get("GATEWATCH_CONTRACT_SECONDS", "10"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def demo_site(
    app: Flask, store_event: StoreEvent, token_for: Callable[[Role], dict[str, str]], web_engine: sa.Engine
) -> None:
    """A few events (an unexplained entry, an exit, a car), two visits and a standing authorisation."""
    now = datetime.now(UTC).replace(microsecond=0)
    api = app.test_client()
    visit = {
        "visitor_name": "Budi Santoso",
        "id_number": NIK,
        "organisation": "PT Maju",
        "purpose": "delivery",
        "host": "Warehouse",
        "vehicle_plate": "BG 1234 AB",
        "vehicle_type": "car",
        "party_size": 2,
        "camera_id": VEHICLE_GATE,
        "check_in_at": (now - timedelta(hours=2)).isoformat(),
    }
    guard = token_for(Role.GUARD)
    created = api.post("/api/v1/visits", json=visit, headers=guard)
    assert created.status_code == 201, created.json
    earlier = {**visit, "check_in_at": (now - timedelta(days=40)).isoformat(), "vehicle_plate": None,
               "vehicle_type": None, "party_size": 1, "camera_id": GATE}
    old = api.post("/api/v1/visits", json=earlier, headers=guard)
    assert old.status_code == 201, old.json
    checked_out = api.post(f"/api/v1/visits/{old.json['id']}/check-out",
                           json={"at": (now - timedelta(days=40) + timedelta(hours=1)).isoformat()}, headers=guard)
    assert checked_out.status_code == 200, checked_out.json
    store_event(now - timedelta(minutes=30))
    store_event(now - timedelta(minutes=20), direction="exit")
    store_event(now - timedelta(hours=2), label="car", camera_id=VEHICLE_GATE)
    store_event(now - timedelta(days=1))
    today = now.date().isoformat()
    authorisation = {
        "holder": "Shift B, warehouse staff",
        "organisation": "PT Gudang Aman",
        "purpose": "day shift",
        "members": [{"name": "Sari Wulandari", "id_number": NIK}],
        "max_persons": 5,
        "max_vehicles": 1,
        "plates": ["BG 4321 CD"],
        "camera_id": GATE,
        "valid_from": today,
        "valid_until": today,
    }
    added = api.post("/api/v1/authorisations", json=authorisation, headers=token_for(Role.ADMIN))
    assert added.status_code == 201, added.json


def run_schemathesis(base_url: str, headers: dict[str, str], report: Path) -> tuple[int, str, dict]:
    """Run schemathesis on the served document; (exit code, its output, its JSON report)."""
    (name, value), = headers.items()
    command = [
        str(SCHEMATHESIS), "run", f"{base_url}/api/v1/openapi.json",
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",  # replaced by the hooks' stricter-worded one
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(MAX_SECONDS),
        "--header", f"{name}: {value}",
        "--workers", "1",
        "--no-shrink",
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        "--report", "json",
        "--report-json-path", str(report),
        "--output-sanitize", "true",
        "--warnings", "off",
    ]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=MAX_SECONDS * 3 + 120, cwd=report.parent,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "PYTHONPATH": str(ROOT),
                               "SCHEMATHESIS_HOOKS": "tests.web.schemathesis_hooks"})
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, done.stdout + done.stderr, data


#: Every role on SQLite; on PostgreSQL the guard, whose endpoints write the most. The API's answers
#: are the same on both (the web tests hold it to that), and each run costs about 10 s (MAX_SECONDS).
# A metrics token reads only /metrics, outside the API: tests/web/test_metrics.py shows every
# API route refuses it.
RUNS = [("sqlite", role) for role in Role if role is not Role.METRICS] + [("postgresql", Role.GUARD)]


@pytest.mark.parametrize(("web_database", "role"), RUNS, indirect=["web_database"])
def test_every_answer_keeps_to_the_openapi_document(
    live_server: str, demo_site: None, token_for: Callable[[Role], dict[str, str]], role: Role,
    tmp_path: Path,
) -> None:
    assert SCHEMATHESIS.exists(), "pip install -e '.[test]' installs schemathesis"
    started = time.monotonic()
    code, output, _report = run_schemathesis(live_server, token_for(role), tmp_path / "report.json")
    elapsed = time.monotonic() - started
    print(f"schemathesis as {role}: exit {code} in {elapsed:.0f} s")
    assert code == 0, output[-20000:]
