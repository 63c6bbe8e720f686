"""Fixtures for the web and API tests: a migrated SQLite database, one user per role, events with
real JPEG and H.264 evidence, logged-in test clients, a live server and a real Chromium.

Every test under ``tests/web`` has them; plain helpers are in ``tests.web_helpers``.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import select
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from gatewatch.accounts import users
from gatewatch.crosscheck.service import check_event
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import Camera, EntryEvent, User
from gatewatch.settings import Settings
from gatewatch.web.app import create_app
from tests.databases import DATABASES, fresh_postgres_database, fresh_sqlite_database
from tests.web_helpers import GATE, PASSWORD, VEHICLE_GATE, StoreEvent, log_in

#: What the detector reported about every test event, besides what a test chooses.
_DETECTION = {
    "source_key": "test",
    "confidence": 0.87,
    "box_x1": 10.0,
    "box_y1": 60.0,
    "box_x2": 40.0,
    "box_y2": 140.0,
    "status": EventStatus.FLAGGED,
}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the browser ``browser``, so ``-m 'not browser'`` leaves them out."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker("browser")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the web and API tests on SQLite and on PostgreSQL; the browser tests on SQLite only.

    What a page or endpoint asks of the database is the same with or without a browser in
    front of it, and the browser tests are the slow ones.
    """
    chosen = any("web_database" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize"))
    if "web_database" in metafunc.fixturenames and not chosen:  # a test may choose its own databases
        kinds = ("sqlite",) if "browser" in metafunc.fixturenames else DATABASES
        metafunc.parametrize("web_database", kinds, indirect=True)


# --- settings, database, app -------------------------------------------------------------------


@pytest.fixture
def web_database(request: pytest.FixtureRequest) -> str | None:
    """The database URL of the test site: None for SQLite in its data folder, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        return None
    return fresh_postgres_database(request.getfixturevalue("postgres_server"), request)


@pytest.fixture
def web_settings(tmp_path: Path, web_database: str | None) -> Settings:
    gate = {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}
    return Settings(
        detector={"model": "yolo11n.pt"},
        database_url=web_database,
        data_dir=tmp_path / "data",
        timezone="Asia/Jakarta",
        language="en",
        cameras=[
            {"id": GATE, "name": "Main gate", "source": "0", "gate": gate},
            {"id": VEHICLE_GATE, "name": "Vehicle gate", "source": "1", "gate": gate},
        ],
    )


@pytest.fixture
def web_engine(web_settings: Settings, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    url = web_settings.effective_database_url
    database = sa.engine.make_url(url).database
    if url.startswith("sqlite") and database and not Path(database).exists():  # a copy of one migrated once
        fresh_sqlite_database(request.getfixturevalue("sqlite_template"), Path(database))
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        session.add(
            Camera(
                id=GATE,
                name="Main gate",
                source="0",
                connected=True,
                frames_per_second=12.5,
                last_frame_at=datetime.now(UTC),
            )
        )
        session.add(
            Camera(id=VEHICLE_GATE, name="Vehicle gate", source="1", reconnects=3, status_note="RTSP timeout")
        )
    yield engine
    engine.dispose()


@pytest.fixture
def app(web_settings: Settings, web_engine: sa.Engine) -> Flask:
    return create_app(web_settings, web_engine, testing=True)


@pytest.fixture(scope="session")
def hashed_password() -> str:
    """PASSWORD hashed once per run: werkzeug's scrypt costs 0.1 s of CPU, five times in every web test."""
    return generate_password_hash(PASSWORD)


@pytest.fixture
def accounts(web_engine: sa.Engine, hashed_password: str) -> dict[Role, str]:
    """One user per role, named after the role, all with PASSWORD (hashed once per run, with one salt)."""
    hashed_once = {PASSWORD: hashed_password}
    with session_scope(web_engine) as session, pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "generate_password_hash", lambda password: hashed_once.get(password)
                      or generate_password_hash(password))
        for role in Role:
            users.create_user(
                session,
                role.value,
                PASSWORD,
                role.value,
                full_name=f"Test {role.value}",
                actor="test",
                actor_role="test",
            )
    return {role: role.value for role in Role}


# --- clients -----------------------------------------------------------------------------------


@pytest.fixture
def client_for(app: Flask, accounts: dict[Role, str]) -> Callable[[Role], FlaskClient]:
    """A test client logged in as the user of a role."""

    def make(role: Role) -> FlaskClient:
        client = app.test_client()
        assert log_in(client, accounts[role]).status_code == 302
        return client

    return make


# --- evidence and events -----------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    jpeg: bytes
    mp4: bytes


def _frame(index: int, width: int, height: int) -> np.ndarray:
    """A grey yard with a box walking across it, so the clip visibly moves."""
    image = np.full((height, width, 3), 90, np.uint8)
    x = 10 + index * 6
    image[60:140, x : x + 30] = (230, 180, 40)
    return image


@pytest.fixture(scope="session")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Evidence:
    """A real JPEG snapshot and a 2-second H.264 MP4 clip, made once per test session."""
    width, height, fps = 320, 180, 10
    clip = tmp_path_factory.mktemp("evidence") / "clip.mp4"
    with av.open(str(clip), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(2 * fps):
            frame = av.VideoFrame.from_ndarray(_frame(index, width, height), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    snapshot = io.BytesIO()
    Image.fromarray(_frame(10, width, height)).save(snapshot, "JPEG", quality=85)
    return Evidence(snapshot.getvalue(), clip.read_bytes())


@pytest.fixture
def store_event(web_settings: Settings, web_engine: sa.Engine, evidence: Evidence) -> StoreEvent:
    """Store an event as the camera pipeline does: evidence files under data_dir, then the cross-check."""
    counter = iter(range(1, 10_000_000))

    def make(
        occurred_at: datetime,
        *,
        label: str = "person",
        direction: str = "entry",
        camera_id: str = GATE,
        with_evidence: bool = True,
    ) -> EntryEvent:
        number = next(counter)
        event = EntryEvent(
            camera_id=camera_id,
            track_id=number,
            frame_index=number,
            label=label,
            direction=direction,
            occurred_at=occurred_at,
            **_DETECTION,
        )
        if with_evidence:
            stem = Path("evidence") / camera_id / f"test-{number}"
            for suffix, data in ((".jpg", evidence.jpeg), (".mp4", evidence.mp4)):
                path = web_settings.data_dir / stem.with_suffix(suffix)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            event.snapshot_path = stem.with_suffix(".jpg").as_posix()
            event.clip_path = stem.with_suffix(".mp4").as_posix()
        with session_scope(web_engine) as session:
            session.add(event)
            check_event(session, event, web_settings)
        return event

    return make


@pytest.fixture
def token_for(web_engine: sa.Engine, accounts: dict[Role, str]) -> Callable[[Role], dict[str, str]]:
    """Authorization headers with a fresh API token acting as the user of a role."""

    def make(role: Role) -> dict[str, str]:
        with session_scope(web_engine) as session:
            user = session.exec(select(User).where(User.username == accounts[role])).one()
            _row, token = users.issue_token(
                session, user.id, f"{role} client", actor="test", actor_role="test"
            )
        return {"Authorization": f"Bearer {token}"}

    return make


# --- live server and browser -------------------------------------------------------------------


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real werkzeug server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Polled for shutdown every 20 ms, not every 0.5 s: the teardown of every browser test waited for it.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="live-server",
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests, not skip them
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_for(
    browser: Browser, live_server: str, accounts: dict[Role, str]
) -> Iterator[Callable[[Role], Page]]:
    """A browser page logged in (through the login form) as the user of a role."""
    contexts = []

    def make(role: Role) -> Page:
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("#f-username", accounts[role])
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"login as {role} failed"
        return page

    yield make
    for context in contexts:
        context.close()
