"""The auditor replays a camera's recorded time from the replays page and sees it beside the events
stored live in that period; the period is checked against what the recordings cover."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import EntryEvent, RecordingGap, RecordingSegment, ReplayRun
from gatewatch.models.types import utcnow
from gatewatch.settings import CameraSettings, DetectorSettings, Settings
from tests.recorded_segments import record_camera
from tests.shared_files import MODEL, MOTORCYCLES
from tests.web_helpers import GATE, count_rows, post_form, screenshot

PAGE = "/audit/replays"


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The test site: its main gate records, and watches the motorcycle street's lane (line A)."""
    gate = web_settings.cameras[0].model_dump() | {
        "record": True, "classes": ["person", "bicycle", "motorcycle", "car"],
        "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]},
    }
    return web_settings.model_copy(update={
        "cameras": [CameraSettings.model_validate(gate), *web_settings.cameras[1:]],
        "detector": DetectorSettings(model=str(MODEL)),
    })


def local(text: str, settings: Settings) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=settings.zone)


def segment(engine: sa.Engine, start: datetime, minutes: float, *, deleted: bool = False) -> None:
    with session_scope(engine) as session:
        session.add(RecordingSegment(camera_id=GATE, started_at=start, ended_at=start + timedelta(minutes=minutes),
                                     path=None if deleted else "recordings/x.mp4", sha256="0" * 64, size_bytes=1,
                                     frames=int(minutes * 1800), deleted_at=utcnow() if deleted else None))


@pytest.fixture
def recordings(web_engine: sa.Engine, web_settings: Settings) -> None:
    """The main gate recorded 08:00-08:30 and 08:40-09:30 (down in between), 08:30-08:40 deleted since."""
    start = local("2026-11-20T08:00:00", web_settings)
    segment(web_engine, start, 30)
    segment(web_engine, start + timedelta(minutes=30), 10, deleted=True)
    segment(web_engine, start + timedelta(minutes=40), 50)
    with session_scope(web_engine) as session:
        session.add(RecordingGap(camera_id=GATE, started_at=start + timedelta(minutes=35),
                                 ended_at=start + timedelta(minutes=40), reason="disk full"))


def test_the_page_shows_what_each_recording_camera_covers(
    client_for: Callable[[Role], FlaskClient], recordings: None,
) -> None:
    page = client_for(Role.AUDITOR).get(PAGE).get_data(as_text=True)
    cover = re.search(r'<table id="recording-cover">.*?</table>', page, re.DOTALL).group(0)
    assert f'data-camera="{GATE}"' in cover
    assert "2026-11-20 08:00:00" in cover and "2026-11-20 09:30:00" in cover
    assert "2026-11-20 08:30:00 – 2026-11-20 08:40:00: disk full" in cover
    assert 'data-camera="gate-b"' not in cover  # it neither records nor has recordings
    # The form offers the recording camera and its last ten minutes.
    assert re.search(r'<option value="gate-a" selected>', page)
    assert 'id="f-rec_from"' in page and 'value="2026-11-20T09:20:00"' in page
    assert 'value="2026-11-20T09:30:00"' in page


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"rec_camera_id": "gate-x"}, "rec_camera_id", "Choose one of the configured cameras."),
    ({"rec_from": ""}, "rec_from", "Give the date and time the period starts."),
    ({"rec_to": "half past nine"}, "rec_to", "Give the date and time the period ends."),
    ({"rec_to": "2026-11-20T08:50:00"}, "rec_to", "The period ends before it starts."),
    ({"rec_from": "2026-11-20T08:05:00", "rec_to": "2026-11-20T09:05:01"}, "rec_to",
     "A replay covers at most 60 minutes"),
    ({"rec_from": "2026-11-20T07:59:59", "rec_to": "2026-11-20T08:10:00"}, "rec_from", "The period starts before the camera&#39;s recordings"),
    ({"rec_to": "2026-11-20T09:30:01"}, "rec_to", "The period ends after the camera&#39;s recordings"),
    ({"rec_from": "2026-11-20T08:31:00", "rec_to": "2026-11-20T08:39:00"}, "rec_from", "it falls in a gap"),
    ({"rec_line": "0,0.6,1,0.6"}, "rec_inside", "Give both the line and the inside point, or neither."),
])
def test_a_wrong_period_names_the_field_and_starts_nothing(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, recordings: None,
    form: dict[str, str], field: str, message: str,
) -> None:
    good = {"rec_camera_id": GATE, "rec_from": "2026-11-20T09:00:00", "rec_to": "2026-11-20T09:10:00"}
    response = post_form(client_for(Role.AUDITOR), f"{PAGE}/recorded", {**good, **form}, page=PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="e-{field}"' in page and message in page
    assert count_rows(web_engine, ReplayRun) == 0


def test_only_auditors_and_administrators_replay_recorded_time(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, recordings: None,
) -> None:
    form = {"rec_camera_id": GATE, "rec_from": "2026-11-20T09:00:00", "rec_to": "2026-11-20T09:10:00"}
    for role in (Role.GUARD, Role.OPERATOR):
        client = client_for(role)
        assert client.get(PAGE).status_code == 403
        assert post_form(client, f"{PAGE}/recorded", form, page="/events").status_code == 403
    assert count_rows(web_engine, ReplayRun) == 0


def live_and_recorded(engine: sa.Engine, settings: Settings) -> list[EntryEvent]:
    """The motorcycle footage analysed live as the main gate from 09:00, and recorded; the events stored."""
    from gatewatch.camera.analysis import analyse_file

    if not (MODEL.exists() and MOTORCYCLES.exists()):
        pytest.skip("the shared model and footage are not there")
    start = local("2026-11-20T09:00:00", settings)
    live = analyse_file(engine, settings, settings.camera(GATE), MOTORCYCLES, start, progress=False)
    assert live.created >= 5
    record_camera(engine, settings.data_dir, GATE, MOTORCYCLES, start)
    with Session(engine) as session:  # the recording ends at 09:00:07.53; the form asks until 09:00:07
        return [event for event in session.exec(select(EntryEvent).order_by(EntryEvent.occurred_at)).all()
                if event.occurred_at <= local("2026-11-20T09:00:07", settings)]


@pytest.mark.slow
@pytest.mark.parametrize("web_database", ["postgresql"], indirect=True)  # SQLite: in the browser, below
def test_the_auditor_replays_a_recorded_period_beside_the_stored_events(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, web_settings: Settings,
) -> None:
    stored = live_and_recorded(web_engine, web_settings)
    auditor = client_for(Role.AUDITOR)
    listing = auditor.get(PAGE).get_data(as_text=True)
    assert "2026-11-20 09:00:00" in listing and "2026-11-20 09:00:07" in listing  # what the recordings cover
    form = {"rec_camera_id": GATE, "rec_from": "2026-11-20T09:00:00", "rec_to": "2026-11-20T09:00:07"}
    response = post_form(auditor, f"{PAGE}/recorded", form, page=PAGE)
    assert response.status_code == 303, response.get_data(as_text=True)
    result = response.headers["Location"]
    deadline = time.monotonic() + 180
    while not (state := auditor.get(f"{result}/progress").get_json())["finished"]:  # run in a process of its own
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["status"] == "done", state["error"]
    assert state["frames_done"] == state["frames_total"] > 200  # the estimate replaced by the frames counted
    assert len(stored) >= 5
    page = auditor.get(result).get_data(as_text=True)
    assert 'id="replay-identical"' in page and "at the same moments" in page
    assert "The recordings of gate-a from 2026-11-20 09:00:00 to 2026-11-20 09:00:07" in page
    rows = re.findall(r'<tr data-outcome="(\w+)">(.*?)</tr>', page, re.DOTALL)
    assert [outcome for outcome, _ in rows] == ["same"] * len(stored)
    for event, (_, row) in zip(stored, rows, strict=True):  # each beside the event stored live at that moment
        assert f'/events/{event.id}"' in row and "(+0.00 s)" in row
    listing = auditor.get(PAGE).get_data(as_text=True)
    assert "Recording 2026-11-20 09:00:00 – 2026-11-20 09:00:07" in listing


@pytest.mark.slow
def test_the_auditor_replays_recorded_time_in_the_browser(
    page_for: Callable[[Role], Page], web_engine: sa.Engine, web_settings: Settings,
) -> None:
    stored = live_and_recorded(web_engine, web_settings)
    page = page_for(Role.AUDITOR)
    page.goto(PAGE)
    expect(page.locator(f'#recording-cover tr[data-camera="{GATE}"]')).to_contain_text("2026-11-20 09:00:07")
    page.select_option("#f-rec_camera_id", GATE)
    page.fill("#f-rec_from", "2026-11-20T09:00:00")
    page.fill("#f-rec_to", "2026-11-20T09:00:07")
    page.click("#start-recorded-replay")
    page.wait_for_url("**/audit/replays/*")
    expect(page.locator("#replay-period")).to_contain_text("2026-11-20 09:00:00")
    expect(page.locator("#replay-identical")).to_be_visible(timeout=180_000)  # the page follows the run
    expect(page.locator("[data-count=same]")).to_have_text(str(len(stored)))
    rows = page.locator("#replay-comparison tbody tr")
    expect(rows).to_have_count(len(stored))
    for n, event in enumerate(stored):  # each crossing the replay found beside the event stored live
        expect(rows.nth(n).locator(f'a[href$="/events/{event.id}"]')).to_have_count(1)
    screenshot(page, "auditor-replay-recorded")
