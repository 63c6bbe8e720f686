"""The pages in a real Chromium against a live server: what guards, operators and auditors do."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import EntryEvent, Visit
from gatewatch.settings import Settings
from tests.web_helpers import NIK, StoreEvent, count_rows, recent, screenshot

PageFor = Callable[[Role], Page]
SCRIPT_NAME = "<script>alert(1)</script>"
#: Where the auditor's own actions live: checks, exports, replays.
AUDITING = "/audit/"
#: The auditor's one write outside /audit/: a legal hold on an event's evidence, and its release.
HOLDS = re.compile(r"^(/api/v1)?/events/(<int:event_id>|\d+)/(hold|release)$")
#: An auditor's audited reads: revealing a masked NIK, with a reason.
REVEALS = re.compile(r"^(/api/v1)?/(visits|authorisations)/(<int:\w+>|\d+)/reveal$")


def _status(engine: sa.Engine, event_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.select(EntryEvent.status).where(EntryEvent.id == event_id)).scalar_one()


def test_guard_registers_a_visitor_and_the_flagged_entry_becomes_explained(
    page_for: PageFor, store_event: StoreEvent, web_settings: Settings, web_engine: sa.Engine
) -> None:
    event = store_event(recent(10))
    assert event.status == EventStatus.FLAGGED
    page = page_for(Role.GUARD)
    page.goto("/visits")
    expect(page.locator("#f-visitor_name")).to_be_focused()
    page.fill("#f-visitor_name", "Budi Santoso")
    page.fill("#f-id_number", NIK)
    page.fill("#f-organisation", "KPU Kota Palembang")
    page.fill("#f-purpose", "Checking ballot box seals")
    # Late registration: the guard writes down when the visitor really came in, before the camera saw him.
    check_in = (event.occurred_at.astimezone(web_settings.zone) - timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    page.fill("#f-check_in_at", check_in)
    screenshot(page, "visitor-log-form")
    page.press("#f-purpose", "Enter")
    notice = page.locator("#registered")
    expect(notice).to_contain_text("Registered: Budi Santoso.")
    expect(notice).to_contain_text("This visit explains 1 entry")
    screenshot(page, "visitor-log-registered")
    page.set_viewport_size({"width": 768, "height": 1024})  # a guard's tablet, upright
    screenshot(page, "visitor-log-tablet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # nothing runs off the side
    notice.locator("a").first.click()
    expect(page.locator("#event-status")).to_have_text("Explained")
    expect(page.locator("#event-visit")).to_contain_text("Budi Santoso")
    screenshot(page, "event-explained")
    assert _status(web_engine, event.id) == EventStatus.EXPLAINED


def test_operator_opens_a_flagged_entry_plays_its_clip_and_acknowledges_it(
    page_for: PageFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    older = store_event(recent(30))
    event = store_event(recent(5))
    page = page_for(Role.OPERATOR)
    assert page.url.endswith("/events")  # the operator's home is the queue
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(2)
    assert rows.first.get_attribute("data-event-id") == str(event.id)  # newest first
    thumbnail = rows.first.locator("img")
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    screenshot(page, "flagged-queue")
    page.keyboard.press("j")
    expect(page.locator(f"#row-{event.id}")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/events/{event.id}")
    video = page.locator("video#clip")
    video.evaluate("v => v.play()")
    page.wait_for_function("() => document.querySelector('video#clip').currentTime > 0", timeout=15_000)
    assert video.evaluate("v => v.videoWidth") == 320
    expect(page.locator(".detail")).to_contain_text("unregistered")
    screenshot(page, "event-detail")
    page.click("#do-acknowledge")
    expect(page.locator(".notice.success")).to_contain_text("Acknowledged")
    assert _status(web_engine, event.id) == EventStatus.ACKNOWLEDGED
    assert _status(web_engine, older.id) == EventStatus.FLAGGED


def test_the_queue_shows_a_new_flagged_entry_without_a_reload(
    app: Flask, page_for: PageFor, store_event: StoreEvent
) -> None:
    app.config["REFRESH_SECONDS"] = 1
    page = page_for(Role.OPERATOR)
    expect(page.locator("#queue-results tbody tr")).to_have_count(0)
    page.evaluate("window.notReloaded = true")
    event = store_event(recent(1))
    expect(page.locator(f"#queue-results tr[data-event-id='{event.id}']")).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True


def test_auditor_reads_every_page_and_every_write_outside_auditing_is_refused(
    app: Flask, page_for: PageFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    """The auditor checks, exports and replays (under /audit/), holds evidence, reveals a masked NIK with
    a reason, searches the visitor log (a form that POSTs, keeping NIKs out of addresses), and changes
    nothing else."""
    event = store_event(recent(5))
    page = page_for(Role.AUDITOR)
    pages = [
        "/events",
        f"/events/{event.id}",
        "/visits",
        "/overview",
        "/cameras",
        "/audit",
        "/audit/verify",
        "/audit/exports",
        "/audit/replays",
        "/admin/users",
        "/admin/tokens",
    ]
    own_preferences = ("/logout", "/account/language", "/visits/search")
    for path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        actions = page.locator("form[method=post]").evaluate_all(
            "forms => forms.map(f => f.getAttribute('action'))"
        )
        others = {a for a in actions if not a.startswith(AUDITING) and not HOLDS.match(a) and not REVEALS.match(a)}
        assert others <= set(own_preferences), f"{path} offers {actions}"
        assert page.locator("#do-acknowledge, #register-button").count() == 0
        screenshot(page, f"auditor{path.replace('/', '-')}")
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    writes = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and rule.rule not in (*own_preferences, "/login")
        and not rule.rule.startswith(AUDITING)
        and not HOLDS.match(rule.rule)
        and not REVEALS.match(rule.rule)
    )
    assert len(writes) >= 15
    before = count_rows(web_engine, Visit), _status(web_engine, event.id)
    for rule in writes:
        url = re.sub(r"<int:\w+>", "1", rule.replace("<int:event_id>", str(event.id)))
        response = page.request.post(
            url,
            form={"csrf_token": token, "note": "x", "active": "0"},
            headers={"X-CSRFToken": token},
            max_redirects=0,
        )
        assert response.status == 403, f"POST {url} answered {response.status}"
    assert (count_rows(web_engine, Visit), _status(web_engine, event.id)) == before


def test_a_script_as_a_visitor_name_is_shown_as_text(page_for: PageFor, store_event: StoreEvent) -> None:
    dialogs: list[str] = []
    page = page_for(Role.GUARD)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/visits")
    page.fill("#f-visitor_name", SCRIPT_NAME)
    page.fill("#f-id_number", NIK)
    page.click("#register-button")
    expect(page.locator("#registered")).to_contain_text(f"Registered: {SCRIPT_NAME}.")
    expect(page.locator("#visit-list .visitor-name").first).to_have_text(SCRIPT_NAME)
    page.goto("/overview")
    expect(page.locator("#inside")).to_contain_text(SCRIPT_NAME)
    assert page.locator("script:not([src])").count() == 0
    assert dialogs == []


def test_wrong_registration_input_gets_a_message_next_to_each_field(
    page_for: PageFor, web_engine: sa.Engine
) -> None:
    page = page_for(Role.GUARD)
    page.goto("/visits")
    page.fill("#f-visitor_name", "Rina")
    page.fill("#f-id_number", "16710112O385OOO1")  # letter O for zero
    page.fill("#f-party_size", "0")
    page.fill("#f-vehicle_plate", "B" * 40)
    page.click("#register-button")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#e-id_number")).to_have_text("An NIK has digits only: the 16 digits on the KTP.")
    expect(page.locator("#e-party_size")).to_have_text("Must be at least 1.")
    expect(page.locator("#e-vehicle_plate")).to_contain_text("Not a number plate")
    expect(page.locator("#f-id_number")).to_be_focused()  # the first field to correct
    expect(page.locator("#f-visitor_name")).to_have_value("Rina")  # what was typed stays
    screenshot(page, "visitor-log-errors")
    assert count_rows(web_engine, Visit) == 0


def test_overview_and_cameras_in_indonesian(page_for: PageFor, store_event: StoreEvent) -> None:
    store_event(recent(5))
    store_event(recent(4), direction="exit")
    page = page_for(Role.OPERATOR)
    page.click("button[name=locale][value=id]")
    page.goto("/overview")
    expect(page.locator("h1")).to_have_text("Ringkasan")
    assert page.locator("svg.chart rect").count() == 2
    screenshot(page, "overview-id")
    page.goto("/cameras")
    expect(page.locator("#camera-gate-a")).to_contain_text("Terhubung")
    screenshot(page, "cameras-id")
