"""/metrics on SQLite and PostgreSQL: a real scrape with a metrics token, parsed as Prometheus parses
it, reports the cameras' status rows, the events by camera, status and reason, the flagged queue
and the webhook outbox as stored; only a metrics token reads it, and that token reads nothing else.
The command line makes the metrics user and its token."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gatewatch.accounts import users
from gatewatch.cli.users import tokens
from gatewatch.cli.users import users as users_command
from gatewatch.models.db import session_scope
from gatewatch.models.enums import HUMAN_ROLES, EventStatus, FlagReason, Role
from gatewatch.models.tables import Camera, EntryEvent, Webhook, WebhookDelivery
from gatewatch.settings import Settings
from gatewatch.web import access
from gatewatch.web.app import create_app
from gatewatch.web.metrics import METRICS
from tests.web_helpers import GATE, PASSWORD, VEHICLE_GATE, log_in

Headers = Callable[[Role], dict[str, str]]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    """NOW as each test starts: the suite may reach this file long after importing it, and a camera
    whose last frame is over 2 minutes old counts as stopped."""
    monkeypatch.setattr(sys.modules[__name__], "NOW", datetime.now(UTC).replace(microsecond=0))


def scrape(client: FlaskClient, headers: dict[str, str]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of a scrape by (name, labels), after checking every family is named and explained."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    families = list(text_string_to_metric_families(response.get_data(as_text=True)))
    assert {f.name + ("_total" if f.type == "counter" else "") for f in families} == set(METRICS)
    for family in families:
        assert family.name.startswith("gatewatch_") and len(family.documentation) > 20, family
        for sample in family.samples:
            samples[_key(sample)] = sample.value
    return samples


def _key(sample: Sample) -> tuple[str, frozenset[tuple[str, str]]]:
    return sample.name, frozenset(sample.labels.items())


def at(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


def _event(number: int, camera_id: str, status: EventStatus, flag: FlagReason | None, minutes_ago: int) -> EntryEvent:
    return EntryEvent(
        camera_id=camera_id, source_key="metrics", track_id=number, frame_index=number, label="person",
        direction="exit" if status == EventStatus.EXIT else "entry", occurred_at=NOW - timedelta(minutes=minutes_ago),
        confidence=0.9, box_x1=0, box_y1=0, box_x2=10, box_y2=10, status=status,
        flag=None if flag is None else flag.value,
    )


#: (camera, status, flag reason, how many): what the scrape must count.
EVENTS = (
    (GATE, EventStatus.FLAGGED, FlagReason.UNREGISTERED, 3),
    (GATE, EventStatus.ACKNOWLEDGED, FlagReason.AFTER_HOURS, 1),
    (GATE, EventStatus.CONFIRMED, FlagReason.UNREGISTERED, 1),
    (GATE, EventStatus.EXPLAINED, None, 2),
    (GATE, EventStatus.EXIT, None, 1),
    (VEHICLE_GATE, EventStatus.FLAGGED, FlagReason.WATCHLIST, 2),
)


@pytest.fixture
def site(web_engine: sa.Engine) -> None:
    """Two cameras as their workers reported them (one gone quiet), events, and an outbox."""
    with session_scope(web_engine) as session:
        gate = session.get(Camera, GATE)
        gate.lag_seconds, gate.dropped_frames, gate.detections = 0.42, 17, 480
        gate.analysis_load, gate.degraded, gate.last_frame_at = 0.61, True, NOW
        quiet = session.get(Camera, VEHICLE_GATE)  # its worker was killed: the row still says connected
        quiet.connected, quiet.last_frame_at, quiet.frames_per_second = True, NOW - timedelta(minutes=10), 9.0
        quiet.lag_seconds, quiet.analysis_load, quiet.degraded, quiet.tampered = 0.3, 0.5, True, True
        quiet.dropped_frames, quiet.detections = 3, 90
        number = 0
        for camera_id, status, flag, count in EVENTS:
            for _ in range(count):
                number += 1
                session.add(_event(number, camera_id, status, flag, minutes_ago=number))
        hook = Webhook(url="https://relay.example/hook", secret="s3cret", events='["event.flagged"]')
        session.add(hook)
        session.flush()
        for index, status in enumerate(("pending", "pending", "pending", "delivered", "failed")):
            session.add(WebhookDelivery(delivery_id=f"d-{index}", webhook_id=hook.id, event="event.flagged",
                                        payload="{}", status=status, created_at=NOW - timedelta(minutes=30 - index)))


def test_a_scrape_reports_the_cameras_the_events_the_queue_and_the_outbox_as_stored(
    app: Flask, site: None, token_for: Headers
) -> None:
    samples = scrape(app.test_client(), token_for(Role.METRICS))
    gate, quiet = {"camera_id": GATE}, {"camera_id": VEHICLE_GATE}
    assert at(samples, "gatewatch_camera_info", camera_id=GATE, name="Main gate") == 1
    assert at(samples, "gatewatch_camera_info", camera_id=VEHICLE_GATE, name="Vehicle gate") == 1
    expected_gate = {
        "gatewatch_camera_connected": 1, "gatewatch_camera_frames_per_second": 12.5,
        "gatewatch_camera_lag_seconds": 0.42, "gatewatch_camera_analysis_load": 0.61, "gatewatch_camera_degraded": 1,
        "gatewatch_camera_tampered": 0, "gatewatch_camera_dropped_frames_total": 17,
        "gatewatch_camera_detections_total": 480, "gatewatch_camera_reconnects_total": 0,
        "gatewatch_camera_last_frame_timestamp_seconds": NOW.timestamp(),
    }
    assert {name: at(samples, name, **gate) for name in expected_gate} == pytest.approx(expected_gate)
    # A camera whose worker went quiet is down: no frames, lag, load or overload; its counts stay.
    expected_quiet = {
        "gatewatch_camera_connected": 0, "gatewatch_camera_frames_per_second": 0, "gatewatch_camera_lag_seconds": None,
        "gatewatch_camera_analysis_load": None, "gatewatch_camera_degraded": 0, "gatewatch_camera_tampered": 1,
        "gatewatch_camera_dropped_frames_total": 3, "gatewatch_camera_detections_total": 90,
        "gatewatch_camera_reconnects_total": 3,
    }
    assert {name: at(samples, name, **quiet) for name in expected_quiet} == expected_quiet
    counted = {(dict(labels)["camera_id"], dict(labels)["status"], dict(labels)["reason"]): value
               for (name, labels), value in samples.items() if name == "gatewatch_camera_events"}
    assert counted == {(camera, status.value, flag.value if flag else "none"): count
                       for camera, status, flag, count in EVENTS}
    assert at(samples, "gatewatch_flagged_queue_length") == 3 + 1 + 2
    oldest_open = NOW - timedelta(minutes=10)  # the last of the 10 events stored is the earliest, and open
    assert at(samples, "gatewatch_flagged_queue_oldest_timestamp_seconds") == oldest_open.timestamp()
    assert at(samples, "gatewatch_webhook_outbox_depth") == 3
    assert at(samples, "gatewatch_webhook_outbox_oldest_timestamp_seconds") == (NOW - timedelta(minutes=30)).timestamp()


def test_an_empty_site_scrapes_zeros_and_openmetrics_when_asked(app: Flask, token_for: Headers) -> None:
    headers = token_for(Role.METRICS)
    samples = scrape(app.test_client(), headers)
    assert at(samples, "gatewatch_flagged_queue_length") == 0 and at(samples, "gatewatch_webhook_outbox_depth") == 0
    assert at(samples, "gatewatch_flagged_queue_oldest_timestamp_seconds") is None  # nothing waits
    assert not [key for key in samples if key[0] == "gatewatch_camera_events"]
    open_metrics = app.test_client().get("/metrics", headers={**headers, "Accept": "application/openmetrics-text"})
    assert open_metrics.status_code == 200 and open_metrics.content_type.startswith("application/openmetrics-text")
    assert open_metrics.get_data(as_text=True).endswith("# EOF\n")


def test_only_a_metrics_token_reads_metrics(
    app: Flask, web_engine: sa.Engine, token_for: Headers, client_for: Callable[[Role], FlaskClient]
) -> None:
    client = app.test_client()
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.is_json and "Bearer" in anonymous.json["error"]
    assert client.get("/metrics", headers={"Authorization": "Bearer gw_not-a-token"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic bWV0cmljczp4"}).status_code == 401
    for role in (Role.OPERATOR, Role.ADMIN, Role.DEVICE):
        assert client.get("/metrics", headers=token_for(role)).status_code == 403, role
    for role in HUMAN_ROLES:  # a person's session does not read it either, an admin's included
        assert client_for(role).get("/metrics").status_code == 403, role
    headers = token_for(Role.METRICS)
    assert client.get("/metrics", headers=headers).status_code == 200
    with session_scope(web_engine) as session:
        scraper = users.user_for_token(session, headers["Authorization"].removeprefix("Bearer "))
        assert scraper is not None and scraper.role == Role.METRICS
        revoked = max(row.id for row, name in users.list_tokens(session) if name == "metrics")
        users.revoke_token(session, revoked, actor="test", actor_role="admin")
    assert client.get("/metrics", headers=headers).status_code == 401


def test_the_metrics_token_reads_nothing_else_and_its_user_never_logs_in(
    app: Flask, token_for: Headers, accounts: dict[Role, str]
) -> None:
    headers = token_for(Role.METRICS)
    client = app.test_client()
    reached = []
    with app.test_request_context():
        rules = [(rule, method) for rule in app.url_map.iter_rules()
                 for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
                 if access.roles_for(rule.endpoint) != access.PUBLIC and rule.rule != "/metrics"]
    assert len(rules) > 80
    for rule, method in rules:
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        response = client.open(url, method=method, headers=headers)
        refused = response.status_code == 403 if url.startswith("/api/") else (
            response.status_code == 302 and "/login" in response.headers["Location"])
        if not refused:
            reached.append(f"{method} {url}: {response.status_code}")
    assert not reached, reached
    assert log_in(app.test_client(), accounts[Role.METRICS], PASSWORD).status_code == 401  # no password kept


def test_the_command_line_adds_a_metrics_user_without_a_password_and_its_token_scrapes(tmp_path: Path) -> None:
    environment = {"GATEWATCH_DETECTOR__MODEL": "yolo11n.pt", "GATEWATCH_DATA_DIR": str(tmp_path / "data"),
                   "GATEWATCH_CONFIG": ""}
    group = click.Group("gatewatch", commands=[users_command, tokens])
    added = CliRunner().invoke(group, ["users", "add", "prometheus", "--role", "metrics"], input="",
                               env=environment, catch_exceptions=False)
    assert added.exit_code == 0, added.output
    assert "no password" in added.output and "tokens issue prometheus" in added.output
    issued = CliRunner().invoke(group, ["tokens", "issue", "prometheus", "--name", "Prometheus"], env=environment,
                                catch_exceptions=False)
    token = issued.stdout.strip()
    assert issued.exit_code == 0 and token.startswith(users.TOKEN_PREFIX)
    app = create_app(Settings(detector={"model": "yolo11n.pt"}, data_dir=tmp_path / "data"), testing=True)
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "gatewatch_flagged_queue_length 0.0" in response.get_data(as_text=True)


def test_the_users_page_offers_a_metrics_user_neither_a_password_nor_another_role(
    client_for: Callable[[Role], FlaskClient]
) -> None:
    page = client_for(Role.ADMIN).get("/admin/users").get_data(as_text=True)
    row = page.split('id="user-metrics"')[1].split("</tr>")[0]
    assert "A metrics user has no password: it reads /metrics with an API token." in row
    assert 'name="password"' not in row and 'name="role"' not in row
    assert 'name="active"' in row  # it can still be deactivated, which stops its tokens
