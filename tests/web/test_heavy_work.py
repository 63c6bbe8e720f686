"""Heavy work asked for on the auditor's pages runs within limits: one replay at a time on the site,
queued through the database; exports made in the background; one integrity check at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.camera import replay
from gatewatch.camera.replay import LOCK as REPLAY_LOCK
from gatewatch.camera.replay import ReplayStatus, run_replay_queue
from gatewatch.evidence.integrity import LOCK as INTEGRITY_LOCK
from gatewatch.evidence.integrity import seal_events
from gatewatch.models import locks
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, ExportJob, JobLock, ReplayRun
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from tests.shared_files import HIGHWAY
from tests.web_helpers import GATE, StoreEvent, post_form, recent


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The test site, with the shared footage to replay."""
    if not HIGHWAY.exists():
        pytest.skip("the shared footage is not there")
    return web_settings.model_copy(update={"footage_dir": HIGHWAY.parent})


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str | None]]:
    """Runner processes the web app starts, as (first replay, hand-over name); none really starts."""
    started: list[tuple[int, str | None]] = []

    def launch(_settings: Settings, run_id: int, *, handoff: str | None = None) -> Any:
        started.append((run_id, handoff))

    monkeypatch.setattr(replay, "launch_replay", launch)
    return started


def _ask_for_replay(client: FlaskClient) -> int:
    form = {"footage": HIGHWAY.name, "camera_id": GATE, "start": "2026-11-20T09:00:00"}
    response = post_form(client, "/audit/replays", form, page="/audit/replays")
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def _runs(engine: sa.Engine) -> dict[int, str]:
    with Session(engine) as session:
        return {run.id: run.status for run in session.exec(select(ReplayRun)).all()}


def _holder(engine: sa.Engine, name: str) -> str | None:
    state = locks.current(engine, name)
    return state.holder if state else None


# --- replays ----------------------------------------------------------------------------------


def test_a_second_replay_waits_in_the_queue_while_the_first_holds_the_lock(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, launched: list[tuple[int, str | None]],
) -> None:
    auditor = client_for(Role.AUDITOR)
    first = _ask_for_replay(auditor)
    [(run_id, handoff)] = launched
    assert run_id == first and handoff is not None
    assert _holder(web_engine, REPLAY_LOCK) == handoff  # taken for the runner, before it starts
    # The runner process takes the lock over and starts the first replay.
    assert locks.refresh(web_engine, REPLAY_LOCK, handoff, replay.LOCK_TTL, new_holder="runner")
    with session_scope(web_engine) as session:
        session.get(ReplayRun, first).status = ReplayStatus.RUNNING

    second, third = _ask_for_replay(auditor), _ask_for_replay(client_for(Role.ADMIN))
    assert len(launched) == 1  # no second runner: the lock is held
    assert _runs(web_engine) == {first: "running", second: "pending", third: "pending"}
    page = auditor.get(f"/audit/replays/{second}").get_data(as_text=True)
    assert 'id="replay-queued" data-queue-position="1"' in page and "Queued: place 1." in page
    assert 'data-queue-position="2"' in auditor.get(f"/audit/replays/{third}").get_data(as_text=True)
    assert auditor.get(f"/audit/replays/{third}/progress").get_json()["queue_position"] == 2
    listing = auditor.get("/audit/replays").get_data(as_text=True)
    assert "queued, place 1" in listing and "queued, place 2" in listing
    assert 'id="replay-queue-stalled"' not in listing


def test_a_lapsed_replay_lock_is_taken_over_and_the_queue_started_again(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, launched: list[tuple[int, str | None]],
) -> None:
    auditor = client_for(Role.AUDITOR)
    assert locks.acquire(web_engine, REPLAY_LOCK, "a runner that will crash")
    queued = _ask_for_replay(auditor)
    assert launched == [] and _runs(web_engine) == {queued: "pending"}
    with session_scope(web_engine) as session:  # the runner crashed: its lock is not refreshed and lapses
        session.get(JobLock, REPLAY_LOCK).expires_at = utcnow() - timedelta(seconds=1)
    listing = auditor.get("/audit/replays").get_data(as_text=True)
    assert 'id="replay-queue-stalled"' in listing and launched == []  # a page view starts nothing
    response = post_form(auditor, "/audit/replays/queue/start", page="/audit/replays")
    assert response.status_code == 303
    [(run_id, handoff)] = launched
    assert run_id == queued and _holder(web_engine, REPLAY_LOCK) == handoff
    post_form(auditor, "/audit/replays/queue/start", page="/audit/replays")
    assert len(launched) == 1  # held again: a second press starts no second runner


def test_the_runner_runs_the_queue_in_order_then_gives_the_lock_back(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, web_settings: Settings,
    launched: list[tuple[int, str | None]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    auditor = client_for(Role.AUDITOR)
    runs = [_ask_for_replay(auditor) for _ in range(3)]
    [(first, handoff)] = launched
    ran: list[tuple[int, str | None]] = []

    def fake_run(engine: sa.Engine, _settings: Settings, run_id: int, **_: Any) -> None:
        ran.append((run_id, _holder(engine, REPLAY_LOCK)))
        assert replay.queue_positions(engine).get(run_id) == 1  # the oldest waiting
        with session_scope(engine) as session:
            session.get(ReplayRun, run_id).status = ReplayStatus.DONE
        if run_id == runs[1]:  # one asked for while the runner works: it runs too, after the others
            runs.append(_ask_for_replay(auditor))

    monkeypatch.setattr(replay, "run_replay", fake_run)
    assert run_replay_queue(web_engine, web_settings, first=first, handoff=handoff) == runs
    assert [run_id for run_id, _ in ran] == runs
    holders = {holder for _, holder in ran}
    assert len(holders) == 1 and None not in holders and handoff not in holders  # one runner held it throughout
    assert _holder(web_engine, REPLAY_LOCK) is None
    assert set(_runs(web_engine).values()) == {"done"}
    assert len(launched) == 1  # the run asked for meanwhile needed no runner of its own


# --- exports ----------------------------------------------------------------------------------


def _wait_for_export(client: FlaskClient, job_page: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"{job_page}.json").get_json()
        if state["finished"]:
            return state
        time.sleep(0.1)
    raise AssertionError(f"{job_page} did not finish")


def test_an_export_is_made_in_the_background_and_only_its_own_file_is_served(
    client_for: Callable[[Role], FlaskClient], store_event: StoreEvent, web_engine: sa.Engine,
    web_settings: Settings,
) -> None:
    events = [store_event(recent(10 - minute)) for minute in range(3)]
    seal_events(web_engine, web_settings, actor="camera", role="worker")
    auditor, guard = client_for(Role.AUDITOR), client_for(Role.GUARD)
    ids = " ".join(str(event.id) for event in events)
    response = post_form(auditor, "/audit/exports", {"event_ids": ids}, page="/audit/exports")
    assert response.status_code == 303
    job_page = response.headers["Location"]
    assert "/audit/exports/jobs/" in job_page
    state = _wait_for_export(auditor, job_page)
    assert (state["status"], state["items_done"], state["items_total"], state["percent"]) == ("done", 3, 3, 100)
    page = auditor.get(job_page).get_data(as_text=True)
    assert "3 events" in page and 'id="export-job-download"' in page
    download = auditor.get(f"{job_page}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with Session(web_engine) as session:
        [job] = session.exec(select(ExportJob)).all()
    assert (job.requested_by, job.started_at is not None, job.finished_at is not None) == ("auditor", True, True)
    assert download.get_data() == (web_settings.data_dir / "exports" / job.filename).read_bytes()
    assert f'filename={job.filename}' in download.headers["Content-Disposition"]

    for url in (job_page, f"{job_page}.json", f"{job_page}/download", "/audit/exports"):
        assert guard.get(url).status_code == 403, url
    assert post_form(guard, "/audit/exports", {"event_ids": ids}, page="/").status_code == 403

    with session_scope(web_engine) as session:  # a job not done yet, and one pointing elsewhere
        waiting = ExportJob(parameters="{}", status="pending", requested_by="auditor")
        forged = ExportJob(parameters="{}", status="done", requested_by="auditor", filename="../keys/x.zip")
        session.add_all([waiting, forged])
        session.flush()
        others = (waiting.id, forged.id)
    for job_id in others:
        assert auditor.get(f"/audit/exports/jobs/{job_id}/download").status_code == 404
    assert auditor.get("/audit/exports/jobs/999999").status_code == 404


def test_an_export_that_cannot_be_made_is_refused_before_a_job_is_queued(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine,
) -> None:
    response = post_form(client_for(Role.AUDITOR), "/audit/exports", {"event_ids": "424242"}, page="/audit/exports")
    assert response.status_code == 422
    assert "there is no event #424242" in response.get_data(as_text=True)
    with Session(web_engine) as session:
        assert session.exec(select(ExportJob)).all() == []


# --- the integrity check ----------------------------------------------------------------------


def test_a_second_integrity_check_is_refused_while_one_holds_the_lock(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, tmp_path: Path,
) -> None:
    auditor = client_for(Role.AUDITOR)
    assert locks.acquire(web_engine, INTEGRITY_LOCK, "integrity check by admin")
    response = post_form(auditor, "/audit/verify", page="/audit/verify")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "An integrity check is already running" in page and 'id="verify-ok"' not in page
    with Session(web_engine) as session:
        verified = session.exec(select(AuditRecord).where(AuditRecord.action == "audit.verified")).all()
    assert verified == []  # no second run, nothing put on the record
    locks.release(web_engine, INTEGRITY_LOCK, "integrity check by admin")
    response = post_form(auditor, "/audit/verify", page="/audit/verify")
    assert response.status_code == 200 and 'id="verify-ok"' in response.get_data(as_text=True)
    assert locks.current(web_engine, INTEGRITY_LOCK) is None
