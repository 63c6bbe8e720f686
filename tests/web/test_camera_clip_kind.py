"""The cameras page says how each camera's clips are made, as its latest events got them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.models.db import session_scope
from gatewatch.models.enums import ClipKind, Role
from gatewatch.models.tables import EntryEvent
from tests.web_helpers import GATE, VEHICLE_GATE, StoreEvent

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def row(page: str, camera_id: str) -> str:
    start = page.index(f'id="camera-{camera_id}"')
    return page[start : page.index("</tr>", start)]


def test_each_camera_shows_the_clip_kind_of_its_latest_event(
    store_event: StoreEvent, web_engine: sa.Engine, client_for: Callable[[Role], FlaskClient]
) -> None:
    kinds = [(GATE, ClipKind.COPY), (VEHICLE_GATE, ClipKind.COPY), (VEHICLE_GATE, ClipKind.ENCODED)]
    for camera_id, kind in kinds:  # the vehicle gate's source changed to H.265 since its first event
        event = store_event(WHEN, camera_id=camera_id)
        with session_scope(web_engine) as session:
            session.get(EntryEvent, event.id).clip_kind = kind.value
    page = client_for(Role.GUARD).get("/cameras").get_data(as_text=True)
    assert "Camera's own footage" in row(page, GATE) and "Re-encoded" not in row(page, GATE)
    assert "Re-encoded, boxes drawn in" in row(page, VEHICLE_GATE)


def test_a_camera_without_events_shows_no_clip_kind(client_for: Callable[[Role], FlaskClient]) -> None:
    page = client_for(Role.GUARD).get("/cameras").get_data(as_text=True)
    cell = row(page, GATE)
    assert "own footage" not in cell and "Re-encoded" not in cell
