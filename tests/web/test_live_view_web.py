"""The Cameras page's live tiles: the pictures the workers publish (``vision.live_view``), served by
``/cameras/<id>/live.jpg`` and described by ``/cameras/live.json``, drawn with the gate line in a
real Chromium, refreshed while the page is open, greyed with the reason when a camera is down."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera
from gatewatch.settings import EXTERNAL_SOURCE, GateSettings, Settings
from gatewatch.vision.live_view import LiveView, live_paths
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.sources import FileSource, Frame
from tests.shared_files import MOTORCYCLES
from tests.web_helpers import GATE, VEHICLE_GATE, screenshot

START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
LINE = GateSettings(line=((0.0, 0.5), (1.0, 0.5)), inside=(0.5, 0.9))  # web_settings' line, margin 0.02
#: A motorcycle's box in the footage's pixels: a quarter of the picture from its top left quarter point.
RIDER = TrackedObject(4, "motorcycle", 0.8, (320.0, 180.0, 640.0, 540.0))
GATE_COLOUR = "rgb(0, 208, 255)"


@pytest.fixture(scope="module")
def footage() -> list[Frame]:
    source = FileSource(MOTORCYCLES, START, threads=1)
    try:
        return list(islice(source.frames(), 32))
    finally:
        source.close()


def publish(settings: Settings, camera_id: str, frame: Frame, objects: list[TrackedObject]) -> None:
    assert LiveView(settings.data_dir, camera_id).publish(frame, objects, LINE)


# --- the routes, on SQLite and PostgreSQL ------------------------------------------------------


def test_live_json_gives_each_camera_its_state_picture_boxes_and_line(
        client_for: Callable[[Role], FlaskClient], web_settings: Settings, web_engine: sa.Engine,
        footage: list[Frame]) -> None:
    saved = {"line": [[0.1, 0.6], [0.9, 0.7]], "inside": [0.5, 0.95], "margin": 0.05}
    with session_scope(web_engine) as session:
        session.add(Camera(id="posted", name="Posted gate", source=EXTERNAL_SOURCE))
        row = session.get(Camera, VEHICLE_GATE)
        row.gate_line = json.dumps(saved)  # saved on the line editor: in force over the configuration's
        row.status_note = "rtsp://admin:hunter22@10.0.0.9/stream: connection timed out"
    operator = client_for(Role.OPERATOR)
    missing = operator.get(f"/cameras/{GATE}/live.jpg")
    assert missing.status_code == 404
    assert missing.get_data(as_text=True) == (f"No picture from camera {GATE} yet: its worker publishes one once "
                                              "it analyses frames.")
    publish(web_settings, GATE, footage[0], [RIDER])

    answer = operator.get("/cameras/live.json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    cameras = {c["id"]: c for c in answer.json["cameras"]}
    assert set(cameras) == {GATE, VEHICLE_GATE, "posted"}
    gate = cameras[GATE]
    assert (gate["connected"], gate["stalled"], gate["external"]) == (True, False, False)
    assert gate["time"] == footage[0].time.isoformat() and gate["time_text"] == "2026-12-05 08:00:00 WIB"
    assert gate["frame_size"] == [640, 360]
    assert gate["boxes"] == [{"track_id": 4, "label": "motorcycle", "box": [0.25, 0.25, 0.5, 0.75]}]
    assert gate["gate"] == {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.9], "margin": 0.02}
    assert gate["picture"].startswith(f"/cameras/{GATE}/live.jpg?t=")
    # No picture yet: the line in force, the one saved on the page; the note redacted as the page shows it.
    vehicle = cameras[VEHICLE_GATE]
    assert (vehicle["connected"], vehicle["picture"], vehicle["boxes"]) == (False, None, [])
    assert vehicle["gate"] == saved
    assert "hunter22" not in answer.get_data(as_text=True) and "connection timed out" in vehicle["note"]
    assert cameras["posted"]["external"] and cameras["posted"]["picture"] is None

    picture = operator.get(gate["picture"])
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    assert picture.headers["Cache-Control"] == "no-store"
    assert picture.data == live_paths(web_settings.data_dir, GATE)[0].read_bytes()
    for path in ("/cameras/nowhere/live.jpg", "/cameras/..%2Fgatewatch.db/live.jpg", "/cameras/posted/live.jpg"):
        assert operator.get(path).status_code == 404, path


def test_the_page_has_a_tile_per_camera_and_one_saying_an_external_camera_receives_crossings(
        client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine) -> None:
    with session_scope(web_engine) as session:
        session.add(Camera(id="posted", name="Posted gate", source=EXTERNAL_SOURCE))
    page = client_for(Role.AUDITOR).get("/cameras").get_data(as_text=True)
    assert page.count('<figure class="live-tile') == 3 + 1  # the large view's figure too
    assert 'data-camera="posted"' in page and "External: receives crossings" in page
    assert 'id="camera-status"' in page  # the status table is still there, below


# --- in a browser --------------------------------------------------------------------------------

TILE = "document.querySelector('#live-view figure[data-camera=\"{}\"]')"


def test_an_operator_sees_each_camera_with_its_line_refreshed_and_a_disconnected_one_greyed(
        page_for: Callable[[Role], Page], web_settings: Settings, footage: list[Frame]) -> None:
    publish(web_settings, GATE, footage[0], [RIDER])
    publish(web_settings, VEHICLE_GATE, footage[0], [])
    page = page_for(Role.OPERATOR)
    page.goto("/cameras")
    tile = TILE.format(GATE)
    page.wait_for_function(f"() => {tile}.dataset.time === '{footage[0].time.isoformat()}'")
    assert page.evaluate("GATE_COLOUR") == GATE_COLOUR  # app.js's, which live.js draws with
    line = page.evaluate(f"""() => {{
        const line = {tile}.querySelector('svg line.gate-line');
        return ['x1', 'y1', 'x2', 'y2', 'stroke'].map((name) => line.getAttribute(name));
    }}""")
    assert line == ["0", "180", "640", "180", GATE_COLOUR]  # across the middle of the 640x360 picture
    band = page.evaluate(f"{tile}.querySelector('svg polygon.dead-band').getAttribute('points')")
    assert sorted({round(float(p.split(",")[1]), 1) for p in band.split()}) == [172.8, 187.2]  # 0.02 of 360 each side
    box = page.evaluate(f"""() => ['x', 'y', 'width', 'height'].map(
        (name) => Number({tile}.querySelector('svg rect.track-box').getAttribute(name)))""")
    assert box == [160, 90, 160, 180]
    screenshot(page, "cameras-live")
    assert page.evaluate(f"{tile}.querySelector('svg .inside-label').getAttribute('y')") > "180"  # below: inside
    sizes = page.evaluate(f"""() => {{
        const img = {tile}.querySelector('img'), svg = {tile}.querySelector('svg');
        return [img.naturalWidth, img.clientWidth, img.clientHeight, svg.clientWidth, svg.clientHeight];
    }}""")
    assert sizes[0] == 640 and sizes[1:3] == sizes[3:5]  # the drawing lies exactly over the picture

    # A new picture, published while the page is open, is shown within two seconds.
    publish(web_settings, GATE, footage[31], [])
    page.wait_for_function(f"() => {tile}.dataset.time === '{footage[31].time.isoformat()}'", timeout=2500)
    assert page.evaluate(f"{tile}.querySelectorAll('svg rect.track-box').length") == 0
    assert "08:00:01" in page.inner_text(f"#live-view figure[data-camera='{GATE}'] figcaption")

    # The disconnected camera: its last picture greyed, with its time and the reason.
    down = f"#live-view figure[data-camera='{VEHICLE_GATE}']"
    assert "down" in page.get_attribute(down, "class")
    assert "grayscale(1)" in page.evaluate(f"getComputedStyle(document.querySelector(\"{down} img\")).filter")
    caption = page.inner_text(f"{down} figcaption")
    assert "Disconnected" in caption and "RTSP timeout" in caption and "Picture of 2026-12-05 08:00:00 WIB" in caption
    assert "down" not in page.get_attribute(f"#live-view figure[data-camera='{GATE}']", "class")

    # A tile opens large.
    page.click(f"#live-view figure[data-camera='{GATE}'] button.live-open")
    page.wait_for_function(f"() => document.querySelector('#live-large figure').dataset.time === "
                           f"'{footage[31].time.isoformat()}'")
    large = page.evaluate("document.querySelector('#live-large img').clientWidth")
    assert large > 2 * sizes[1]
    screenshot(page, "cameras-live-large")
    assert page.evaluate("document.querySelector('#live-large svg line.gate-line').getAttribute('y1')") == "180"
    page.click("#live-large button.live-close")
    assert not page.is_visible("#live-large")


def test_live_paths_are_the_ones_the_web_app_reads(tmp_path: Path) -> None:
    from gatewatch.vision.live_files import LIVE_DIR
    from gatewatch.web.views import cameras

    assert cameras.live_paths is live_paths  # one definition, the worker's and the web app's
    assert live_paths(tmp_path, GATE) == (tmp_path / LIVE_DIR / f"{GATE}.jpg", tmp_path / LIVE_DIR / f"{GATE}.json")
