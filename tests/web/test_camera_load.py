"""Each running camera's share of the box, on the cameras page and in the API: its load over the
loads of the cameras connected and reporting now (a stale or disconnected camera has none and
counts in no other's), and a badge while overload degrades it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlmodel import Session

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera
from gatewatch.web.camera_load import RECENT, box_shares
from tests.web_helpers import GATE, VEHICLE_GATE, screenshot

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
STALE = "gate-c"


def camera(camera_id: str, load: float | None, *, connected: bool = True, ago: timedelta = timedelta(seconds=3)) -> Camera:
    return Camera(id=camera_id, name=camera_id, source="0", connected=connected, analysis_load=load,
                  last_frame_at=NOW - ago)


# --- the shares, pure --------------------------------------------------------------------------


def test_shares_divide_each_load_by_the_running_cameras_sum() -> None:
    shares = box_shares([camera("a", 0.62), camera("b", 1.24), camera("c", 0.0)], NOW)
    assert shares == pytest.approx({"a": 1 / 3, "b": 2 / 3, "c": 0.0})


def test_stale_disconnected_and_silent_cameras_have_no_share_and_count_in_none() -> None:
    cameras = [
        camera("running", 0.5),
        camera("edge", 0.5, ago=RECENT),
        camera("stale", 3.0, ago=RECENT + timedelta(seconds=1)),
        camera("disconnected", 3.0, connected=False),
        camera("no-load", None),
        Camera(id="never", name="never", source="0", connected=True, analysis_load=2.0),  # no frame yet
    ]
    assert box_shares(cameras, NOW) == pytest.approx({"running": 0.5, "edge": 0.5})


def test_no_share_when_no_camera_reports_work() -> None:
    assert box_shares([camera("a", 0.0), camera("b", None)], NOW) == {}
    assert box_shares([], NOW) == {}


# --- the page and the API, on SQLite and PostgreSQL --------------------------------------------


@pytest.fixture
def box(web_engine: sa.Engine) -> None:
    """Three cameras reporting: gate-a (0.62 s/s, degraded) and gate-b (1.24 s/s) now; gate-c, the
    heaviest, last 10 minutes ago, and still marked degraded."""
    now = datetime.now(UTC)
    with session_scope(web_engine) as session:
        for camera_id, load, degraded in ((GATE, 0.62, True), (VEHICLE_GATE, 1.24, False)):
            row = session.get(Camera, camera_id)
            row.connected, row.last_frame_at, row.analysis_load, row.degraded = True, now, load, degraded
            row.status_note = "degraded by overload: 12 frames dropped (0 near the line)" if degraded else None
            session.add(row)
        session.add(Camera(id=STALE, name="Side gate", source="2", connected=True, analysis_load=3.1,
                           degraded=True, last_frame_at=now - timedelta(minutes=10)))


def row_of(page: str, camera_id: str) -> str:
    found = re.search(rf'<tr id="camera-{camera_id}">(.*?)</tr>', page, re.DOTALL)
    assert found, camera_id
    return found.group(1)


def share_cell(row: str) -> str:
    found = re.search(r'<td class="box-share">(.*?)</td>', row, re.DOTALL)
    assert found
    return re.sub(r"\s+", " ", found.group(1))


@pytest.mark.usefixtures("box")
@pytest.mark.parametrize("role", [Role.OPERATOR, Role.GUARD])
def test_cameras_page_shows_each_running_cameras_share_and_the_degraded_badge(
    client_for: Callable[[Role], FlaskClient], role: Role
) -> None:
    response = client_for(role).get("/cameras")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    main, vehicle, stale = (share_cell(row_of(page, c)) for c in (GATE, VEHICLE_GATE, STALE))
    assert "33% of the box (0.62 s/s)" in main
    assert re.search(r'<span class="badge degraded" title="The box could not keep up[^"]*">Degraded</span>', main)
    assert "67% of the box (1.24 s/s)" in vehicle and "Degraded" not in vehicle
    assert "of the box" not in stale and "—" in stale and "Degraded" not in stale  # stale: no share, no badge
    assert "degraded by overload: 12 frames dropped" in row_of(page, GATE)


@pytest.mark.usefixtures("box")
def test_api_answers_each_cameras_load_share_and_degraded(
    app: object, token_for: Callable[[Role], dict[str, str]]
) -> None:
    api = app.test_client()  # type: ignore[attr-defined]
    items = {c["id"]: c for c in api.get("/api/v1/cameras", headers=token_for(Role.GUARD)).json["items"]}
    assert {k: items[GATE][k] for k in ("analysis_load", "box_share", "degraded")} == {
        "analysis_load": 0.62, "box_share": pytest.approx(1 / 3, abs=1e-4), "degraded": True}
    assert items[VEHICLE_GATE]["box_share"] == pytest.approx(2 / 3, abs=1e-4) and not items[VEHICLE_GATE]["degraded"]
    assert items[STALE]["box_share"] is None and items[STALE]["analysis_load"] == 3.1


def test_a_camera_without_load_shows_no_share(client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine) -> None:
    page = client_for(Role.OPERATOR).get("/cameras").get_data(as_text=True)
    assert "% of the box" not in page and "badge degraded" not in page
    assert share_cell(row_of(page, GATE)).strip() == "—"
    with Session(web_engine) as session:
        assert session.get(Camera, GATE).analysis_load is None


@pytest.mark.usefixtures("box")
def test_in_a_browser_the_shares_follow_the_workers_reports_without_a_reload(
    app: Flask, page_for: Callable[[Role], Page], web_engine: sa.Engine
) -> None:
    app.config["REFRESH_SECONDS"] = 1
    page = page_for(Role.OPERATOR)
    page.goto("/cameras")
    badge = page.locator(f"#camera-{GATE} .badge.degraded")
    expect(badge).to_be_visible()
    assert "detection was thinned out far from the gate line" in (badge.get_attribute("title") or "")
    expect(page.locator(f"#camera-{VEHICLE_GATE} .box-share")).to_contain_text("67% of the box (1.24 s/s)")
    screenshot(page, "cameras-box-share")
    page.evaluate("window.notReloaded = true")
    with session_scope(web_engine) as session:  # the next window: gate-a clean and as busy as gate-b
        row = session.get(Camera, GATE)
        row.analysis_load, row.degraded, row.last_frame_at = 1.24, False, datetime.now(UTC)
        session.add(row)
    expect(page.locator(f"#camera-{GATE} .box-share")).to_contain_text("50% of the box (1.24 s/s)", timeout=10_000)
    expect(badge).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
