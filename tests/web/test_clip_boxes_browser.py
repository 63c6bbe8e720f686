"""The event page draws the stored boxes over a copied clip in a real Chromium, in step with the frame shown.

The clip is the footage's own H.264 packets remuxed (as the camera store makes one now), so this
also shows that the browser plays the camera's H.264 (High profile, with B-frames) as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from gatewatch.models.db import session_scope
from gatewatch.models.enums import ClipKind, Role
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from tests.remuxed_clip import (
    BOX,
    BOX_UNTIL,
    GATE,
    OTHER_BOX,
    TRACK_ID,
    RemuxedClip,
    remux_cut,
    store_copied_event,
)
from tests.web_helpers import GATE as CAMERA
from tests.web_helpers import recent, screenshot

PageFor = Callable[[Role], Page]
AMBER = (255, 200, 0)  # vision/evidence.py's BOX_COLOUR, as RGB
START = 0.5  # the pre-roll point: the clip starts half a second before it

#: Seek the clip and wait for the canvas to have drawn the frame at that time.
SEEK = """async (t) => {
  const video = document.querySelector('video#clip');
  const canvas = document.querySelector('#clip-overlay');
  video.pause();
  video.currentTime = t;
  const deadline = Date.now() + 10000;
  while (Math.abs(Number(canvas.dataset.mediaTime) - t) > 0.04 || canvas.dataset.mediaTime === '') {
    if (Date.now() > deadline) throw new Error('no frame drawn near ' + t + ': ' + canvas.dataset.mediaTime);
    await new Promise((done) => setTimeout(done, 20));
  }
  return Number(canvas.dataset.mediaTime);
}"""
#: The RGBA of the canvas pixel at a point of the source frame (``frame_size`` pixels), scaled as the page does.
PIXEL = """([x, y, frameWidth, frameHeight]) => {
  const canvas = document.querySelector('#clip-overlay');
  const scale = Math.min(canvas.width / frameWidth, canvas.height / frameHeight);
  const left = (canvas.width - frameWidth * scale) / 2, top = (canvas.height - frameHeight * scale) / 2;
  const at = [Math.floor(left + x * scale), Math.floor(top + y * scale)];
  return Array.from(canvas.getContext('2d').getImageData(at[0], at[1], 1, 1).data);
}"""


@pytest.fixture(scope="module")
def copied_clip(tmp_path_factory: pytest.TempPathFactory) -> RemuxedClip:
    return remux_cut(tmp_path_factory.mktemp("clip") / "clip.mp4")


def _store(settings: Settings, engine: sa.Engine, clip: RemuxedClip, kind: ClipKind) -> EntryEvent:
    return store_copied_event(engine, settings.data_dir, CAMERA, clip, recent(5), kind=kind, start=START)


def _pixel(page: Page, clip: RemuxedClip, x: float, y: float) -> tuple[int, ...]:
    return tuple(page.evaluate(PIXEL, [x, y, *clip.frame_size]))


def _is(rgba: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return rgba[3] == 255 and all(abs(a - b) <= 2 for a, b in zip(rgba, colour, strict=False))


def _open(page: Page, event: EntryEvent) -> None:
    page.goto(f"/events/{event.id}")
    page.wait_for_function("() => document.querySelector('#clip-overlay').dataset.ready === 'true'")


def test_the_canvas_draws_the_stored_box_at_its_place_in_the_frame_shown(
    page_for: PageFor, web_settings: Settings, web_engine: sa.Engine, copied_clip: RemuxedClip
) -> None:
    event = _store(web_settings, web_engine, copied_clip, ClipKind.COPY)
    page = page_for(Role.OPERATOR)
    _open(page, event)
    # Chromium plays the camera's H.264 as it is, and starts at the pre-roll point, not the keyframe before.
    page.wait_for_function(f"() => document.querySelector('video#clip').currentTime >= {START}")
    assert page.evaluate("document.querySelector('video#clip').currentTime") < START + 0.01  # sought there, not played
    assert page.evaluate("document.querySelector('video#clip').videoWidth") == copied_clip.frame_size[0]

    shown = page.evaluate(SEEK, 1.2)
    assert abs(shown - 1.2) < 0.04  # the frame callback's media time, a frame's own time
    x1, y1, x2, y2 = BOX
    middle = (y1 + y2) / 2
    for x, y in ((x1, middle), (x2, middle), ((x1 + x2) / 2, y2)):  # left, right and bottom edges
        assert _is(_pixel(page, copied_clip, x, y), AMBER), (x, y, _pixel(page, copied_clip, x, y))
    assert _pixel(page, copied_clip, (x1 + x2) / 2, middle)[3] == 0  # inside the box: nothing
    assert _pixel(page, copied_clip, x1 - 40, middle)[3] == 0  # beside it: nothing
    other = _pixel(page, copied_clip, OTHER_BOX[0], (OTHER_BOX[1] + OTHER_BOX[3]) / 2)
    assert other[3] > 0 and not _is(other, AMBER)  # another track: drawn, thinner and not highlighted
    gate_y = GATE["line"][0][1] * copied_clip.frame_size[1]
    assert any(_pixel(page, copied_clip, x, gate_y)[3] for x in range(0, 200, 5))  # the gate line (dashed)
    screenshot(page, "event-clip-boxes")

    page.evaluate(SEEK, BOX_UNTIL + 0.5)  # the event's track is not in this frame
    assert _pixel(page, copied_clip, x1, middle)[3] == 0
    assert _pixel(page, copied_clip, x2, middle)[3] == 0
    assert _pixel(page, copied_clip, OTHER_BOX[0], (OTHER_BOX[1] + OTHER_BOX[3]) / 2)[3] > 0

    page.click("#seek-crossing")  # to the crossing (1.2 s): the box is drawn again
    page.wait_for_function(
        "() => Math.abs(Number(document.querySelector('#clip-overlay').dataset.mediaTime) - 1.2) < 0.034")
    assert _is(_pixel(page, copied_clip, x1, middle), AMBER)
    page.focus("#overlay-shown")  # the overlay's switch works from the keyboard
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('#overlay-shown').checked")
    assert _pixel(page, copied_clip, x1, middle)[3] == 0
    # The canvas lets clicks through to the video's controls.
    assert page.evaluate("getComputedStyle(document.querySelector('#clip-overlay')).pointerEvents") == "none"
    centre = page.locator("video#clip").bounding_box()
    assert centre is not None
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).id",
                         [centre["x"] + centre["width"] / 2, centre["y"] + centre["height"] - 10]) == "clip"


def test_an_encoded_clip_gets_only_the_gate_line(
    page_for: PageFor, web_settings: Settings, web_engine: sa.Engine, copied_clip: RemuxedClip
) -> None:
    """Its boxes are burned in already: drawing them again would double them."""
    event = _store(web_settings, web_engine, copied_clip, ClipKind.ENCODED)
    page = page_for(Role.GUARD)
    _open(page, event)
    page.evaluate(SEEK, 1.2)
    assert _pixel(page, copied_clip, BOX[0], (BOX[1] + BOX[3]) / 2)[3] == 0
    gate_y = GATE["line"][0][1] * copied_clip.frame_size[1]
    assert any(_pixel(page, copied_clip, x, gate_y)[3] for x in range(0, 200, 5))


def test_the_boxes_are_served_like_the_clip_only_to_people_logged_in(
    app: Any, client_for: Callable[[Role], Any], web_settings: Settings, web_engine: sa.Engine,
    copied_clip: RemuxedClip
) -> None:
    event = _store(web_settings, web_engine, copied_clip, ClipKind.COPY)
    url = f"/evidence/{event.id}/boxes.json"
    assert app.test_client().get(url).status_code in (302, 401)
    response = client_for(Role.GUARD).get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["event_track_id"] == TRACK_ID
    assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
    with session_scope(web_engine) as session:
        session.get(EntryEvent, event.id).boxes_path = "../../etc/passwd"
    assert client_for(Role.GUARD).get(url).status_code == 404
