"""The event page says which gate line an event was counted against, and whether it has moved since."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.camera.gate_lines import save_line
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from tests.web_helpers import GATE, StoreEvent

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_the_event_page_names_the_line_it_was_counted_against_and_a_later_move(
    store_event: StoreEvent, web_engine: sa.Engine, web_settings: Settings,
    client_for: Callable[[Role], FlaskClient],
) -> None:
    camera = web_settings.camera(GATE)
    event = store_event(WHEN)
    with session_scope(web_engine) as session:
        session.get(EntryEvent, event.id).gate_line = json.dumps(camera.gate.placement())
    guard = client_for(Role.GUARD)
    page = guard.get(f"/events/{event.id}").get_data(as_text=True)
    (ax, ay), (bx, by) = camera.gate.line
    assert f"from ({ax * 100:.0f}, {ay * 100:.0f}) to ({bx * 100:.0f}, {by * 100:.0f})" in page
    assert "has been moved since" not in page

    with session_scope(web_engine) as session:
        save_line(session, camera, camera.gate.placed({"line": [[0.0, 0.7], [1.0, 0.7]]}), actor="admin", role="admin")
    page = guard.get(f"/events/{event.id}").get_data(as_text=True)
    assert f"from ({ax * 100:.0f}, {ay * 100:.0f})" in page  # still the line it was counted against
    assert "has been moved since" in page


def test_the_api_gives_each_event_its_line(
    store_event: StoreEvent, web_engine: sa.Engine, web_settings: Settings, client_for: Callable[[Role], FlaskClient],
    token_for: Callable[[Role], dict[str, str]],
) -> None:
    placement = web_settings.camera(GATE).gate.placement()
    counted, older = store_event(WHEN), store_event(WHEN)
    with session_scope(web_engine) as session:
        session.get(EntryEvent, counted.id).gate_line = json.dumps(placement)
    api = client_for(Role.AUDITOR)
    headers = token_for(Role.AUDITOR)
    assert api.get(f"/api/v1/events/{counted.id}", headers=headers).json["gate_line"] == placement
    assert api.get(f"/api/v1/events/{older.id}", headers=headers).json["gate_line"] is None
    listed = {item["id"]: item for item in api.get("/api/v1/events", headers=headers).json["items"]}
    assert listed[counted.id]["gate_line"] == placement


def test_an_event_recorded_before_events_kept_their_line_shows_none(
    store_event: StoreEvent, client_for: Callable[[Role], FlaskClient],
) -> None:
    event = store_event(WHEN)
    page = client_for(Role.OPERATOR).get(f"/events/{event.id}").get_data(as_text=True)
    assert 'id="event-line"' not in page
