"""Plates in the web UI: the watch list page, the plate on an event's page, a guard's correction."""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from gatewatch.crosscheck.service import check_event
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, FlagReason, PlateStatus, Role
from gatewatch.models.tables import AuditRecord, EntryEvent, Visit
from gatewatch.plates import Plate
from gatewatch.settings import Settings
from tests.plate_images import render_plate
from tests.web_helpers import NIK, VEHICLE_GATE, StoreEvent, post_form, recent, screenshot

ClientFor = Callable[[Role], FlaskClient]
PLATE = "BG 1234 AB"


@pytest.fixture
def car(store_event: StoreEvent, web_engine: sa.Engine, web_settings: Settings) -> Callable[..., EntryEvent]:
    """A car entry with its plate read as ``plate`` (None: unreadable) and a plate crop on disk."""

    def make(plate: str | None = PLATE) -> EntryEvent:
        event = store_event(recent(5), label="car", camera_id=VEHICLE_GATE)
        crop = web_settings.data_dir / "evidence" / VEHICLE_GATE / f"plate-{event.id}.jpg"
        crop.write_bytes((web_settings.data_dir / event.snapshot_path).read_bytes())
        with session_scope(web_engine) as session:
            event = session.get(EntryEvent, event.id)
            event.plate_text, event.plate_confidence = plate, 0.83 if plate else None
            event.plate_status = PlateStatus.READ if plate else PlateStatus.UNREADABLE
            event.plate_crop_path = crop.relative_to(web_settings.data_dir).as_posix()
            check_event(session, event, web_settings)
        return event

    return make


def _event(engine: sa.Engine, event_id: int) -> EntryEvent:
    with Session(engine) as session:
        event = session.get(EntryEvent, event_id)
        assert event is not None
        return event


def _actions(engine: sa.Engine, action: str) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)))


def test_an_admin_puts_a_plate_on_the_watch_list_and_its_open_entry_is_flagged(
    client_for: ClientFor, car: Callable[..., EntryEvent], web_engine: sa.Engine
) -> None:
    event = car()
    admin = client_for(Role.ADMIN)

    added = post_form(admin, "/admin/watchlist", {"plate": "bg-1234-ab", "reason": "Stolen: police report 17/V"},
                      page="/admin/watchlist")

    assert (added.status_code, added.headers["Location"]) == (303, "/admin/watchlist")
    page = admin.get("/admin/watchlist").get_data(as_text=True)
    assert "BG 1234 AB is on the watch list." in page and "Stolen: police report 17/V" in page
    assert _event(web_engine, event.id).flag == FlagReason.WATCHLIST
    assert "On the watch list" in admin.get(f"/events/{event.id}").get_data(as_text=True)
    assert [r.actor for r in _actions(web_engine, "watchlist.added")] == ["admin"]


def test_a_watch_list_entry_without_a_reason_is_refused_and_the_form_says_why(
    client_for: ClientFor, web_engine: sa.Engine
) -> None:
    admin = client_for(Role.ADMIN)

    refused = post_form(admin, "/admin/watchlist", {"plate": PLATE, "reason": " "}, page="/admin/watchlist")

    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="e-reason"' in refused.get_data(as_text=True)
    assert _actions(web_engine, "watchlist.added") == []


def test_an_admin_takes_a_plate_off_and_the_auditor_only_reads_the_list(
    client_for: ClientFor, web_engine: sa.Engine
) -> None:
    admin, auditor = client_for(Role.ADMIN), client_for(Role.AUDITOR)
    post_form(admin, "/admin/watchlist", {"plate": PLATE, "reason": "Stolen"}, page="/admin/watchlist")
    read = auditor.get("/admin/watchlist").get_data(as_text=True)
    assert PLATE in read and "Add to the watch list" not in read and "Remove" not in read
    [entry] = _actions(web_engine, "watchlist.added")

    removed = post_form(admin, f"/admin/watchlist/{entry.entity_id}/remove", page="/admin/watchlist")

    assert removed.status_code == 303
    assert "No plates are on the watch list." in admin.get("/admin/watchlist").get_data(as_text=True)
    assert [r.actor for r in _actions(web_engine, "watchlist.removed")] == ["admin"]


def test_the_event_page_shows_the_plate_crop_and_text_and_a_guard_corrects_it(
    client_for: ClientFor, car: Callable[..., EntryEvent], web_engine: sa.Engine
) -> None:
    event = car("BG 1284 AB")
    guard, operator = client_for(Role.GUARD), client_for(Role.OPERATOR)
    page = operator.get(f"/events/{event.id}").get_data(as_text=True)
    assert "BG 1284 AB" in page and "read with 83% confidence" in page
    assert f'src="/evidence/{event.id}/plate.jpg"' in page and "do-correct-plate" not in page
    crop = operator.get(f"/evidence/{event.id}/plate.jpg")
    assert (crop.status_code, crop.mimetype) == (200, "image/jpeg")

    corrected = post_form(guard, f"/events/{event.id}/plate", {"plate": "bg 1234 ab"}, page=f"/events/{event.id}")

    assert corrected.status_code == 303
    page = guard.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Plate saved: BG 1234 AB." in page and "corrected by guard" in page
    assert _event(web_engine, event.id).plate_text == PLATE
    [record] = _actions(web_engine, "event.plate_corrected")
    assert record.actor == "guard"


def test_a_wrong_correction_is_refused_and_changes_nothing(
    client_for: ClientFor, car: Callable[..., EntryEvent], web_engine: sa.Engine
) -> None:
    event = car()
    guard = client_for(Role.GUARD)

    post_form(guard, f"/events/{event.id}/plate", {"plate": "12345"}, page=f"/events/{event.id}")

    assert "Enter a number plate such as B 1234 XYZ." in guard.get(f"/events/{event.id}").get_data(as_text=True)
    assert _event(web_engine, event.id).plate_text == PLATE
    assert _actions(web_engine, "event.plate_corrected") == []


def test_an_unreadable_plate_says_so_and_any_registered_vehicle_explains_the_car(
    client_for: ClientFor, car: Callable[..., EntryEvent], web_engine: sa.Engine
) -> None:
    with session_scope(web_engine) as session:
        visit = Visit(visitor_name="Budi", id_number=NIK, vehicle_plate="B 9 XY", check_in_at=recent(8),
                      registered_by="guard")
        session.add(visit)
    event = car(None)

    page = client_for(Role.OPERATOR).get(f"/events/{event.id}").get_data(as_text=True)

    assert "Plate unreadable" in page and "Budi" in page
    assert (_event(web_engine, event.id).status, _event(web_engine, event.id).visit_id) == (
        EventStatus.EXPLAINED, visit.id)


def test_a_guard_sees_the_plate_in_the_browser_and_corrects_a_misread(
    page_for: Callable[[Role], Page], car: Callable[..., EntryEvent], web_settings: Settings
) -> None:
    event = car("BG 1284 AB")
    photo = render_plate(Plate("BG", "1234", "AB"), 60, True, random.Random(1))
    ok, jpeg = cv2.imencode(".jpg", photo)
    assert ok
    (web_settings.data_dir / event.plate_crop_path).write_bytes(jpeg.tobytes())  # what the camera saw
    page = page_for(Role.GUARD)
    page.goto(f"/events/{event.id}")
    crop = page.locator("#plate-crop")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=crop.element_handle())
    expect(page.locator("#event-plate")).to_contain_text("BG 1284 AB")
    page.fill("#f-plate", "bg 1234 ab")
    page.click("#do-correct-plate")
    expect(page.locator("#event-plate")).to_contain_text("BG 1234 AB")
    expect(page.locator("#event-plate")).to_contain_text("corrected by guard")
    screenshot(page, "event-plate-corrected")
