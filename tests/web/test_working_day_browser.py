"""A gate's working day in the browser: a guard post walking in and out all day leaves the queue
empty, a fifth person while all four are inside is flagged, and a motorbike with two riders is
one queue row. The crossings go through the camera's own store (passages, cross-check, audit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from gatewatch.camera.recording import store_event
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import Authorisation, EntryEvent
from gatewatch.settings import Settings
from tests.web_helpers import GATE, screenshot

PageFor = Callable[[Role], Page]


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The site's settings, with the daily presence reset half a day away, so the day played
    below (the last ten hours) is one presence day whenever the test runs."""
    reset = (datetime.now(web_settings.zone) + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    crosscheck = web_settings.crosscheck.model_copy(update={"presence_reset": reset})
    return web_settings.model_copy(update={"crosscheck": crosscheck})


class Gate:
    """Crossings at the main gate, stored one by one as the camera worker stores them."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.tracks: Iterator[int] = iter(range(1, 1_000_000))
        self.stored: list[EntryEvent] = []

    def cross(self, at: datetime, label: str = "person", direction: str = "entry", rides: int | None = None) -> int:
        track = next(self.tracks)
        event = EntryEvent(camera_id=GATE, source_key="day", track_id=track, label=label, direction=direction,
                           occurred_at=at, frame_index=track, confidence=0.9, box_x1=100, box_y1=100, box_x2=200,
                           box_y2=300, rides_track_id=rides, status=EventStatus.FLAGGED)
        with session_scope(self.engine) as session:
            store_event(session, event, self.settings)
        self.stored.append(event)
        return track


def test_a_guard_post_all_day_leaves_the_queue_to_the_fifth_person_and_the_motorbike(
    page_for: PageFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    now = datetime.now(web_settings.zone)
    with session_scope(web_engine) as session:
        session.add(Authorisation(holder="Pos jaga Polres OKU, regu A", max_persons=4, created_by="admin",
                                  valid_from=(now - timedelta(days=1)).date(), valid_until=(now + timedelta(days=1)).date()))
    gate = Gate(web_engine, web_settings)
    start = now - timedelta(hours=10)
    for i in range(4):
        gate.cross(start + timedelta(seconds=0.3 * i))
    for round_ in range(30):
        out = start + timedelta(minutes=10 + 15 * round_)
        gate.cross(out, direction="exit")
        gate.cross(out + timedelta(minutes=5))
    fifth = now - timedelta(minutes=30)
    gate.cross(fifth)
    bike = gate.cross(now - timedelta(minutes=20), label="motorcycle")
    gate.cross(now - timedelta(minutes=20) + timedelta(seconds=0.2), rides=bike)
    gate.cross(now - timedelta(minutes=20) + timedelta(seconds=0.4), rides=bike)
    guard_entries = [e for e in gate.stored[:64] if e.direction == "entry"]
    assert len(guard_entries) == 34 and all(e.status == EventStatus.EXPLAINED for e in guard_entries)
    assert (gate.stored[64].status, gate.stored[64].flag) == (EventStatus.FLAGGED, "over_party_size")
    assert len({e.passage_id for e in gate.stored[65:]}) == 1  # the motorbike and its riders

    page = page_for(Role.GUARD)
    page.goto("/events")
    rows = page.locator("table tbody tr[data-passage-id]")
    expect(rows).to_have_count(2)
    summaries = sorted(rows.locator(".passage-summary").all_inner_texts())
    assert summaries == ["1 motorcycle, 2 persons", "1 person"], summaries
    screenshot(page, "working-day-queue")
    # The fifth person is over the post's four, and the overview shows the four the rules count.
    page.goto("/overview")
    expect(page.locator("#present-persons")).to_have_text("4")
