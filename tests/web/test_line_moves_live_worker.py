"""An admin moves a running camera's line in the browser; the worker counts against it, unrestarted.

A real worker (``run_camera``, the real model) watches the tests' GStreamer RTSP server, which
serves the vehicle footage: cars driving down into the sample vehicle gate, entries. Once it has
counted an entry, an admin opens the camera's line editor, clicks the inside side above the line
instead of below it, and saves. From then on the same cars crossing the same line are exits, and
each event names the line it was counted against; the worker's live session never ended.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, EntryEvent
from gatewatch.settings import Settings
from tests.camera.test_rtsp_stream import RtspServer, Worker, rtsp_server  # noqa: F401  (fixture)
from tests.shared_files import MODEL, SAMPLE_CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

CAMERA = "vehicle-gate"
#: The worker reads the line in force every 2 s (gate_lines.WATCH_SECONDS); a little more for the frames queued.
PICKED_UP = timedelta(seconds=4)


@pytest.fixture
def web_settings(tmp_path: Path, web_database: str | None, rtsp_server: RtspServer) -> Settings:  # noqa: F811
    """The sample vehicle gate, watching the RTSP server; the web app and the worker share the site."""
    sample = yaml.safe_load(SAMPLE_CONFIG.read_text())
    camera = next(c for c in sample["cameras"] if c["id"] == CAMERA)
    return Settings(detector={"model": str(MODEL)}, database_url=web_database, data_dir=tmp_path / "data",
                    timezone="Asia/Jakarta", language="en",
                    cameras=[{**camera, "source": rtsp_server.url, "stall_seconds": 5.0}])


@pytest.fixture
def worker(web_engine: sa.Engine, web_settings: Settings) -> Iterator[Worker]:
    worker = Worker(web_engine, web_settings)
    yield worker
    worker.finish()


def _events(session: Session) -> list[EntryEvent]:
    return list(session.exec(select(EntryEvent).where(EntryEvent.camera_id == CAMERA).order_by(EntryEvent.id)))


def _events_after(moment: datetime) -> Callable[[Session], list[EntryEvent]]:
    return lambda session: [e for e in _events(session) if e.occurred_at > moment]


def _move_the_inside_above_the_line(page: Page) -> list[float]:
    """Click above the line on the camera's picture in its editor and save; the inside point saved."""
    page.goto(f"/cameras/{CAMERA}/line")
    canvas = page.locator("#line-canvas")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    expect(page.locator("#f-inside_y")).not_to_have_value("0.9", timeout=5000)
    inside = [float(page.input_value("#f-inside_x")), float(page.input_value("#f-inside_y"))]
    assert abs(inside[0] - 0.5) < 0.03 and abs(inside[1] - 0.15) < 0.03  # where the admin clicked
    page.click("#save-line")
    expect(page.get_by_text("Gate line saved")).to_be_visible()
    return inside


def test_a_line_saved_in_the_browser_is_counted_against_by_the_running_worker(
    worker: Worker, web_engine: sa.Engine, web_settings: Settings, page_for: Callable[[Role], Page],
) -> None:
    configured = web_settings.camera(CAMERA).gate.placement()
    first = worker.wait_for("an entry counted against the configured line", _events, timeout=60)[0]
    assert first.direction == "entry" and json.loads(first.gate_line) == configured

    inside = _move_the_inside_above_the_line(page_for(Role.ADMIN))
    saved_at = datetime.now(UTC)
    turned = {**configured, "inside": inside}
    later = worker.wait_for("a crossing counted against the saved line",
                            lambda s: [e for e in _events_after(saved_at)(s) if json.loads(e.gate_line) == turned],
                            timeout=40)
    assert later[0].direction == "exit"  # the same cars, the same line, the other side inside

    time.sleep(0.5)  # let any event in flight be stored
    with Session(web_engine) as session:
        events = _events(session)
        reconnects = session.exec(select(AuditRecord).where(AuditRecord.action.in_(
            ["camera.disconnected", "camera.reconnected"]))).all()
        changes = session.exec(select(AuditRecord).where(AuditRecord.action == "camera.line_changed")).all()
    for event in events:  # each counted as the line it names says
        line = json.loads(event.gate_line)
        assert (event.direction, line) in (("entry", configured), ("exit", turned)), event
        if event.occurred_at > saved_at + PICKED_UP:
            assert line == turned, f"event {event.id} counted against the old line {PICKED_UP} after the save"
    assert {e.source_key for e in events} == {first.source_key}, "the worker's live session ended"
    assert not reconnects
    assert len(changes) == 1 and json.loads(changes[0].after) == turned
