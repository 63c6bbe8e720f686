"""The pages on a guard's phone (390 x 844, touch) in a real Chromium: a short top bar whose Menu
button opens the navigation, the decision on a flagged entry within the first screen, nothing that
runs off the side; and the desktop layout left as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, FlagReason, Role
from gatewatch.models.tables import EntryEvent, Visit
from tests.web_helpers import NIK, PASSWORD, StoreEvent, recent, screenshot

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHONE = {
    "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}
#: The closed top bar may take this much of the phone's height: the brand and the Menu button.
SHORT_BAR = 70
PhoneFor = Callable[..., Page]


@pytest.fixture
def phone_for(browser: Browser, live_server: str, accounts: dict[Role, str]) -> Iterator[PhoneFor]:
    """A phone's browser page logged in (through the login form, by taps) as the user of a role."""
    contexts: list[BrowserContext] = []

    def make(role: Role, *, script: bool = True) -> Page:
        context = browser.new_context(base_url=live_server, java_script_enabled=script, **PHONE)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("#f-username", accounts[role])
        page.fill("#f-password", PASSWORD)
        with page.expect_navigation():
            page.tap("button[type=submit]")
        assert "/login" not in page.url, f"login as {role} failed"
        return page

    yield make
    for context in contexts:
        context.close()


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def _fits_across(page: Page) -> None:
    """Nothing on the page, nor in a scrolling box of it, is wider than the phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, page.url
    wide = page.evaluate(
        "() => [...document.querySelectorAll('main *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null)"
        ".map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)"
    )
    assert wide == [], f"{page.url}: {wide}"


def _status(engine: sa.Engine, event_id: int) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.select(EntryEvent.status).where(EntryEvent.id == event_id)).scalar_one()


def test_on_a_phone_the_bar_is_short_and_its_menu_button_opens_the_navigation(
    phone_for: PhoneFor, store_event: StoreEvent
) -> None:
    event = store_event(recent(5))
    page = phone_for(Role.GUARD)
    bar = _box(page, ".topbar")
    assert bar["height"] <= SHORT_BAR
    button = page.locator(".menu-toggle")
    visitor_log = page.locator(".topbar nav a", has_text="Visitor log")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(visitor_log).to_be_hidden()
    expect(page.locator(".topbar .account")).to_be_hidden()
    screenshot(page, "phone-menu-closed")

    button.tap()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(visitor_log).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert _box(page, ".topbar")["width"] <= PHONE_WIDTH
    screenshot(page, "phone-menu-open")
    visitor_log.tap()
    page.wait_for_url("**/visits")
    expect(page.locator("h1")).to_have_text("Visitor log")
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "false")  # a new page: closed
    assert _box(page, ".topbar")["height"] <= SHORT_BAR
    _fits_across(page)
    screenshot(page, "phone-visitor-log")

    # The keyboard: Enter opens the menu, Tab reaches its first link, Escape closes it and gives the focus back.
    page.locator(".menu-toggle").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(page.locator(".topbar nav a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".menu-toggle")).to_be_focused()

    for path in ("/events", "/authorisations", f"/events/{event.id}"):
        page.goto(path)
        _fits_across(page)


def test_without_script_a_phone_shows_the_whole_bar(phone_for: PhoneFor) -> None:
    page = phone_for(Role.GUARD, script=False)
    expect(page.locator(".menu-toggle")).to_be_hidden()
    expect(page.locator(".topbar nav a", has_text="Visitor log")).to_be_visible()


def test_on_a_phone_a_guard_decides_on_a_flagged_entry_without_scrolling(
    phone_for: PhoneFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    """The tallest decision a guard has: confirm, link to a visit (a choice and a note), false alarm."""
    with session_scope(web_engine) as session:
        session.add(
            Visit(visitor_name="Budi Santoso", id_number=NIK, registered_by="t", check_in_at=recent(10))
        )
    assert store_event(recent(5)).status == EventStatus.EXPLAINED
    event = store_event(recent(4))  # a second person on a visit of one
    assert (event.status, event.flag) == (EventStatus.FLAGGED, FlagReason.OVER_PARTY_SIZE)
    assert event.clip_path and event.snapshot_path
    page = phone_for(Role.GUARD)
    page.goto(f"/events/{event.id}")
    assert page.evaluate("window.scrollY") == 0
    buttons = page.locator("#decide button[type=submit]")
    expect(buttons).to_have_count(3)  # confirm, link, false alarm
    expect(page.locator("#f-visit option")).to_have_count(1)
    bar_bottom = _box(page, ".topbar")["height"]
    for button in buttons.all():
        box = button.bounding_box()
        assert box is not None
        assert bar_bottom <= box["y"] and box["y"] + box["height"] <= PHONE_HEIGHT, button.inner_text()
    expect(page.locator(".decide-summary")).to_contain_text("party")
    # The clip and the snapshot follow the decision, within reach of a scroll.
    decision_bottom = _box(page, "#decide")["y"] + _box(page, "#decide")["height"]
    assert _box(page, "video#clip")["y"] >= decision_bottom
    page.locator("#snapshot").scroll_into_view_if_needed()
    expect(page.locator("#snapshot")).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "phone-event-guard")

    page.fill("#decide form:has(#do-confirm) textarea", "Walked in past the post while I was on rounds")
    page.tap("#do-confirm")
    expect(page.locator(".notice.success")).to_be_visible()
    assert _status(web_engine, event.id) == EventStatus.CONFIRMED


def test_on_a_phone_an_operator_acknowledges_within_the_first_screen(
    phone_for: PhoneFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    event = store_event(recent(5))
    page = phone_for(Role.OPERATOR)
    page.goto(f"/events/{event.id}")
    box = _box(page, "#do-acknowledge")
    assert box["y"] + box["height"] <= PHONE_HEIGHT
    page.tap("#do-acknowledge")
    expect(page.locator(".notice.success")).to_contain_text("Acknowledged")
    assert _status(web_engine, event.id) == EventStatus.ACKNOWLEDGED


def test_a_desktop_shows_the_navigation_without_a_menu_button_and_the_decision_beside_the_evidence(
    page_for: Callable[[Role], Page], store_event: StoreEvent
) -> None:
    event = store_event(recent(5))
    page = page_for(Role.GUARD)  # 1280 x 900
    expect(page.locator(".menu-toggle")).to_be_hidden()
    expect(page.locator(".topbar nav a", has_text="Visitor log")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert _box(page, ".topbar")["height"] <= SHORT_BAR  # one row, as before
    page.goto(f"/events/{event.id}")
    media, facts, decide = _box(page, ".media"), _box(page, ".event-facts"), _box(page, "#decide")
    assert facts["x"] >= media["x"] + media["width"] and decide["x"] == facts["x"]  # the right-hand column
    assert facts["y"] == media["y"] and decide["y"] >= facts["y"] + facts["height"]  # facts, then decision
    expect(page.locator(".decide-summary")).to_be_hidden()
