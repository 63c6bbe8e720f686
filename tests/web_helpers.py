"""Helpers for the web and API tests: names, logging in, CSRF tokens, times, screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page
from sqlmodel import Session
from werkzeug.test import TestResponse

from gatewatch.models.tables import EntryEvent

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PASSWORD = "gate-password-1"
GATE, VEHICLE_GATE = "gate-a", "gate-b"
#: A valid NIK: province 16 (South Sumatra), born 12 March 1985, serial 0001.
NIK = "1671011203850001"
#: The ``store_event`` fixture: (occurred_at, *, label, direction, camera_id, with_evidence) -> event.
StoreEvent = Callable[..., EntryEvent]
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, as a page carries it."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF_META.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}
    )


def post_form(
    client: FlaskClient, path: str, data: dict[str, str] | None = None, page: str = "/events"
) -> TestResponse:
    """POST a form the way a page would: with the session's CSRF token (read from ``page``)."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def recent(minutes: float) -> datetime:
    """A moment ``minutes`` ago, to the second."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0)


def count_rows(engine: sa.Engine, table: type) -> int:
    with Session(engine) as session:
        return session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
