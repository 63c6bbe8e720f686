"""An admin moves a gate line on the camera's picture in a real Chromium, saves it, and the audit
trail shows the change with the admin's name.

The picture is a real frame of the motorcycle clip (an event's snapshot, placed where the worker
publishes its live picture); the preview replays the clip's real events (tests/line_preview_events.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable

import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera
from gatewatch.settings import Settings
from tests.line_preview_events import analysed_events, copy_events
from tests.web_helpers import GATE, VEHICLE_GATE, screenshot

PageFor = Callable[[Role], Page]


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag with the mouse between two points given in fractions of the picture."""
    page.locator("#line-canvas").scroll_into_view_if_needed()
    box = page.locator("#line-canvas").bounding_box()
    assert box is not None

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    page.mouse.move(*at(start))
    page.mouse.down()
    page.mouse.move(*at(end), steps=8)
    page.mouse.up()


def _value(page: Page, field: str) -> float:
    return float(page.input_value(f"#f-{field}"))


def test_an_admin_drags_the_line_and_the_inside_saves_and_the_audit_trail_shows_it(
    page_for: PageFor, web_settings: Settings, web_engine: sa.Engine, browser: Browser, live_server: str,
) -> None:
    events = copy_events(web_engine, web_settings.data_dir, GATE)
    snapshot = analysed_events().data_dir / analysed_events().events[0].snapshot_path
    live = web_settings.data_dir / "live" / f"{GATE}.jpg"
    live.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot, live)

    page = page_for(Role.ADMIN)
    page.goto("/cameras")
    page.click(f'a[href="/cameras/{GATE}/line"]')
    expect(page.locator("#line-editor")).to_have_attribute("data-picture", "shown")
    canvas, picture = page.locator("#line-canvas").bounding_box(), page.locator("#line-picture").bounding_box()
    assert canvas == picture and abs(canvas["width"] / canvas["height"] - 1280 / 720) < 0.01  # over the frame
    expect(page.locator("#preview-same td").first).to_have_text(str(len(events)))

    _drag(page, (0.002, 0.5), (0.1, 0.6))  # the line's left end, down a little
    assert abs(_value(page, "line_x1") - 0.1) < 0.005 and abs(_value(page, "line_y1") - 0.6) < 0.005
    assert (_value(page, "line_x2"), _value(page, "line_y2")) == (1.0, 0.5)  # the other end stays
    _drag(page, (0.5, 0.9), (0.3, 0.2))  # the inside marker, to the other side
    assert abs(_value(page, "inside_x") - 0.3) < 0.005 and abs(_value(page, "inside_y") - 0.2) < 0.005
    # The preview follows: the riders counted as entries would now be exits, or not counted.
    expect(page.locator("#preview-same td").nth(1)).to_have_text("0")
    expect(page.locator("#preview-changed li")).to_have_count(len(events))
    screenshot(page, "gate-line-editor")

    page.click("#save-line")
    expect(page.get_by_text("Gate line saved; the running worker counts against it within seconds.")).to_be_visible()
    expect(page.locator("#line-source")).to_contain_text("Saved on this page by admin")
    with Session(web_engine) as session:
        saved = json.loads(session.get(Camera, GATE).gate_line)
    assert abs(saved["line"][0][0] - 0.1) < 0.005 and saved["line"][1] == [1.0, 0.5]
    assert abs(saved["inside"][1] - 0.2) < 0.005

    page.goto("/audit?action=camera.line_changed")
    row = page.locator("#audit-records tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("admin")
    expect(row).to_contain_text("camera.line_changed")
    expect(row.locator("pre").nth(0)).to_contain_text('"inside":[0.5,0.9]')
    expect(row.locator("pre").nth(1)).to_contain_text(f'"inside":[{saved["inside"][0]},{saved["inside"][1]}]')

    page.goto(f"/cameras/{VEHICLE_GATE}/line")  # no picture published yet: a blank canvas of the camera's shape
    expect(page.locator("#no-picture")).to_be_visible()
    blank = page.locator("#line-canvas").bounding_box()
    assert blank is not None and abs(blank["width"] / blank["height"] - 16 / 9) < 0.01

    # On a phone, a finger's tap puts the inside point where it touched (pointer events serve touch too).
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, has_touch=True,
                                is_mobile=True)
    phone.add_cookies(page.context.cookies())
    try:
        handheld = phone.new_page()
        handheld.goto(f"/cameras/{GATE}/line")
        handheld.locator("#line-canvas").scroll_into_view_if_needed()
        box = handheld.locator("#line-canvas").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390  # the picture fits the phone's width
        handheld.touchscreen.tap(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8)
        assert abs(_value(handheld, "inside_x") - 0.7) < 0.01 and abs(_value(handheld, "inside_y") - 0.8) < 0.01
    finally:
        phone.close()
