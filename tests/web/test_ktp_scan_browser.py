"""A guard scans a KTP in a real Chromium: the camera input fed a photo of a rendered card, the page
scales it, posts it, and the form shows the card's NIK and name; nothing is saved until Register."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from gatewatch.models.enums import Role
from gatewatch.models.tables import Visit
from gatewatch.settings import Settings
from gatewatch.visitors.ktp_scanner import scanner_for
from tests.ktp_cards import random_card
from tests.web_helpers import count_rows, screenshot

PageFor = Callable[[Role], Page]


@pytest.fixture
def reader_closed(web_settings: Settings) -> Iterator[None]:
    yield
    scanner_for(web_settings).close()


def test_a_guard_scans_a_ktp_and_the_form_is_filled(
    page_for: PageFor, web_engine: sa.Engine, reader_closed: None
) -> None:
    card = random_card(random.Random(11), slant=0.03, blur=0.6, glare=0.2)
    page = page_for(Role.GUARD)
    page.goto("/visits")
    scan = page.locator("#ktp-scan-button")
    expect(scan).to_be_visible()
    camera = page.locator("#ktp-photo")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"

    camera.set_input_files(files=[{"name": "ktp.jpg", "mimeType": "image/jpeg", "buffer": card.photo}])

    expect(page.locator("#f-id_number")).to_have_value(card.person.nik, timeout=30_000)
    expect(page.locator("#f-visitor_name")).to_have_value(card.person.name)
    expect(page.locator("#ktp-status")).to_contain_text("check the name and NIK")
    screenshot(page, "visitor-log-ktp-scanned")
    assert count_rows(web_engine, Visit) == 0  # the guard registers; the scan saves nothing
    page.click("#register-button")
    expect(page.locator("#registered")).to_contain_text(f"Registered: {card.person.name}.")
    assert count_rows(web_engine, Visit) == 1
