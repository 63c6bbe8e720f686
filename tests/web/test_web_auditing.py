"""The auditor's pages: the integrity check, signed exports and replays, from a client and a real browser."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from gatewatch.evidence.export import verify_export
from gatewatch.evidence.integrity import seal_events
from gatewatch.evidence.signing import installation_key
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, EntryEvent, ReplayRun
from gatewatch.settings import DetectorSettings, Settings
from tests.shared_files import HIGHWAY, MODEL
from tests.web_helpers import GATE, StoreEvent, count_rows, post_form, recent, screenshot

#: When the highway footage's first frame was taken, in site time (Asia/Jakarta).
FOOTAGE_START = "2026-11-20T09:00:00"


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The test site, with the shared footage to replay and the real model to replay it with."""
    return web_settings.model_copy(
        update={"footage_dir": HIGHWAY.parent, "detector": DetectorSettings(model=str(MODEL))}
    )


def sealed_event(store_event: StoreEvent, engine: sa.Engine, settings: Settings) -> EntryEvent:
    """An event with evidence, on the audit trail as the camera pipeline would have put it."""
    event = store_event(recent(5))
    seal_events(engine, settings, actor="camera", role="worker")
    return event


def audit_actions(engine: sa.Engine, action: str) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)).all())


# --- the integrity check ----------------------------------------------------------------------


def test_a_check_from_the_page_is_on_the_record_and_names_an_altered_snapshot(
    client_for: Callable[[Role], FlaskClient], store_event: StoreEvent, web_engine: sa.Engine,
    web_settings: Settings,
) -> None:
    event = sealed_event(store_event, web_engine, web_settings)
    auditor = client_for(Role.AUDITOR)
    page = post_form(auditor, "/audit/verify", page="/audit/verify").get_data(as_text=True)
    assert 'id="verify-ok"' in page and 'id="verify-failed"' not in page

    snapshot = web_settings.data_dir / event.snapshot_path
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0x01
    snapshot.write_bytes(bytes(data))
    page = post_form(auditor, "/audit/verify", page="/audit/verify").get_data(as_text=True)
    assert 'id="verify-failed"' in page
    assert f"event #{event.id}: {event.snapshot_path} was altered" in page

    checks = audit_actions(web_engine, "audit.verified")
    assert [(c.actor, '"ok":true' in (c.after or "")) for c in checks] == [("auditor", True), ("auditor", False)]
    history = auditor.get("/audit/verify").get_data(as_text=True)
    assert history.count("<tr>") == 3  # the header and both checks


# --- exports ----------------------------------------------------------------------------------


def wait_for_export(client: FlaskClient, job_page: str, timeout: float = 60) -> dict[str, object]:
    """Follow the job's JSON state, as its page does, until it is finished; the last state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"{job_page}.json").get_json()
        if state["finished"]:
            return state
        time.sleep(0.1)
    raise AssertionError(f"the export job {job_page} did not finish: {state}")


def test_an_export_made_on_the_page_downloads_and_verifies_with_the_installation_key(
    client_for: Callable[[Role], FlaskClient], store_event: StoreEvent, web_engine: sa.Engine,
    web_settings: Settings, tmp_path: Path,
) -> None:
    event = sealed_event(store_event, web_engine, web_settings)
    auditor = client_for(Role.AUDITOR)
    response = post_form(auditor, "/audit/exports", {"event_ids": f"{event.id}"}, page="/audit/exports")
    assert response.status_code == 303  # made in the background: to the job's page
    job_page = response.headers["Location"]
    assert wait_for_export(auditor, job_page)["status"] == "done"
    page = auditor.get(job_page).get_data(as_text=True)
    assert "1 events (1 flagged entries)" in page and 'id="export-job-download"' in page
    listing = auditor.get("/audit/exports").get_data(as_text=True)
    [kept] = list((web_settings.data_dir / "exports").glob("*.zip"))
    assert f'/audit/exports/{kept.name}"' in listing
    assert auditor.get(f"{job_page}/download").get_data() == kept.read_bytes()

    download = auditor.get(f"/audit/exports/{kept.name}")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    copy = tmp_path / "received.zip"
    copy.write_bytes(download.get_data())
    result = verify_export(copy, installation_key(web_settings.data_dir).public_key())
    assert result.ok, result.problems
    assert result.manifest is not None and result.manifest["counts"]["events"] == 1

    checked = post_form(auditor, f"/audit/exports/{kept.name}/verify", page="/audit/exports")
    assert 'id="export-check-ok"' in checked.get_data(as_text=True)
    kept.write_bytes(kept.read_bytes()[:-40] + b"x" * 40)  # the end of the ZIP: its directory
    checked = post_form(auditor, f"/audit/exports/{kept.name}/verify", page="/audit/exports")
    assert 'id="export-check-failed"' in checked.get_data(as_text=True)
    assert [r.actor for r in audit_actions(web_engine, "evidence.exported")] == ["auditor"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "Choose the first and the last day, or give event numbers."),
        ({"from": "2026-11-20"}, "Choose the first and the last day, or give event numbers."),
        ({"from": "20/11/2026", "to": "2026-11-21"}, "Not a date"),
        ({"event_ids": "12, abc"}, "Event numbers are whole numbers"),
        ({"event_ids": "12, ²"}, "Event numbers are whole numbers"),  # a superscript two is a digit to Python
        ({"event_ids": "377261682136534089728"}, "Event numbers are whole numbers"),
        ({"event_ids": "999"}, "no event #999"),
        ({"from": "2026-11-22", "to": "2026-11-20"}, "the period ends before it starts"),
        ({"from": "2026-11-20", "to": "2026-11-21", "camera_id": "gate-x"}, "There is no such camera."),
    ],
)
def test_a_wrong_export_form_says_what_is_wrong_and_makes_nothing(
    client_for: Callable[[Role], FlaskClient], web_settings: Settings, form: dict[str, str], message: str
) -> None:
    response = post_form(client_for(Role.AUDITOR), "/audit/exports", form, page="/audit/exports")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert not list((web_settings.data_dir / "exports").glob("*.zip"))


def test_only_kept_exports_can_be_downloaded(client_for: Callable[[Role], FlaskClient], web_settings: Settings) -> None:
    secret = web_settings.data_dir / "keys"
    installation_key(web_settings.data_dir)
    auditor = client_for(Role.AUDITOR)
    for name in ("nothing.zip", "..%2Fkeys%2Fexport-signing.key", "%2E%2E"):
        assert auditor.get(f"/audit/exports/{name}").status_code == 404
    assert secret.is_dir()
    pem = auditor.get("/audit/exports/public-key.pem").get_data(as_text=True)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem


# --- replays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"footage": "../gatewatch.db"}, "footage", "Choose one of the footage files listed."),
        ({"footage": "/etc/passwd"}, "footage", "Choose one of the footage files listed."),
        ({"start": "yesterday"}, "start", "Give the date and time of the footage"),
        ({"camera_id": "gate-x"}, "camera_id", "Choose one of the configured cameras."),
        ({"line": "0,0.6,1,0.6"}, "inside", "Give both the line and the inside point, or neither."),
        ({"line": "0,0.6,1", "inside": "0.5,0.9"}, "line", "line takes 4 comma-separated numbers"),
        ({"line": "0,0.6,1,0.6", "inside": "0.5,0.6"}, "line", "the point lies on the gate line"),
        ({"line": "0,0.6,1.5,0.6", "inside": "0.5,0.9"}, "line", "line"),
    ],
)
def test_a_wrong_replay_form_names_the_field_and_starts_nothing(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, form: dict[str, str], field: str,
    message: str,
) -> None:
    good = {"footage": HIGHWAY.name, "camera_id": GATE, "start": FOOTAGE_START}
    response = post_form(client_for(Role.AUDITOR), "/audit/replays", {**good, **form}, page="/audit/replays")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="e-{field}"' in page and message in page
    assert count_rows(web_engine, ReplayRun) == 0


# --- the whole of it in a browser, with the real model on the real footage ---------------------


def _replay_finished(page: Page) -> list[float]:
    """Watch the progress bar until the replay is over; the values it showed on the way."""
    seen: list[float] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        value = page.locator("#replay-progress").get_attribute("value")
        if value is not None and (not seen or float(value) != seen[-1]):
            seen.append(float(value))
        if page.locator("#replay-summary").count():
            return seen
        time.sleep(0.3)
    raise AssertionError(f"the replay did not finish; progress seen: {seen}")


@pytest.mark.slow
def test_the_auditor_checks_exports_and_replays_from_the_browser(
    page_for: Callable[[Role], Page], web_engine: sa.Engine, web_settings: Settings, tmp_path: Path
) -> None:
    from gatewatch.camera.analysis import analyse_file

    if not (MODEL.exists() and HIGHWAY.exists()):
        pytest.skip("the shared model and footage are not there")
    start = datetime.fromisoformat(FOOTAGE_START).replace(tzinfo=web_settings.zone)
    stored = analyse_file(web_engine, web_settings, web_settings.camera(GATE), HIGHWAY, start, progress=False)
    assert stored.created >= 5
    page = page_for(Role.AUDITOR)

    page.goto("/audit")
    page.get_by_role("link", name="Integrity check").click()
    page.click("#run-verify")
    expect(page.locator("#verify-ok")).to_be_visible()
    expect(page.locator("#verify-history tbody tr")).to_have_count(1)
    screenshot(page, "auditor-integrity-check")

    page.get_by_role("link", name="Evidence exports").click()
    page.fill("#f-from", "2026-11-20")
    page.fill("#f-to", "2026-11-20")
    page.select_option("#f-camera_id", GATE)
    page.click("#create-export")
    page.wait_for_url("**/audit/exports/jobs/*")  # made in the background; the page follows it
    expect(page.locator("#export-job-result")).to_contain_text(f"{stored.created} events", timeout=60_000)
    with page.expect_download() as download:
        page.locator("#export-job-download").click()
    received = tmp_path / download.value.suggested_filename
    download.value.save_as(received)
    result = verify_export(received, installation_key(web_settings.data_dir).public_key())
    assert result.ok, result.problems
    assert result.manifest is not None and result.manifest["counts"]["events"] == stored.created
    page.get_by_role("link", name="Back to the exports").click()
    page.locator("#export-list button").first.click()
    expect(page.locator("#export-check-ok")).to_be_visible()
    screenshot(page, "auditor-exports")

    page.get_by_role("link", name="Replays").click()
    page.select_option("#f-footage", HIGHWAY.name)
    page.select_option("#f-camera_id", GATE)
    page.fill("#f-start", FOOTAGE_START)
    page.click("#start-replay")
    page.wait_for_url("**/audit/replays/*")
    seen = _replay_finished(page)
    assert any(0 < value < 1 for value in seen), f"no progress shown on the way: {seen}"
    expect(page.locator("#replay-identical")).to_be_visible()
    expect(page.locator("[data-count=same]")).to_have_text(str(stored.created))
    expect(page.locator("#replay-comparison tbody tr")).to_have_count(stored.created)
    screenshot(page, "auditor-replay")

    with Session(web_engine) as session:  # the replay left the live records alone
        assert session.execute(sa.select(sa.func.count()).select_from(EntryEvent)).scalar_one() == stored.created
