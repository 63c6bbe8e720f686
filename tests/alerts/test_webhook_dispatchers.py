"""However many dispatchers run, each delivery is sent once; and a delivery queued while its
receiver is down survives the dispatcher's process being killed and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from gatewatch.alerts import outbox, signing
from gatewatch.alerts.feed import FLAGGED
from gatewatch.alerts.runner import run_dispatcher
from gatewatch.camera.recording import store_event
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import AlertCursor, Camera, EntryEvent, Webhook, WebhookAttempt, WebhookDelivery
from gatewatch.settings import Settings, load_settings
from tests.alerts.webhook_receiver import Receiver
from tests.conftest import CAMERA_ID
from tests.shared_files import ROOT

SECRET = "test-secret-0123456789"
DELIVERIES = 24


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def test_two_dispatchers_at_once_send_each_delivery_once(database_url: str, settings: Settings) -> None:
    receiver = Receiver(delay=0.03).start()
    engines = [make_engine(database_url) for _ in range(3)]
    with session_scope(engines[0]) as session:
        hook = Webhook(url=receiver.url, secret=SECRET, events=f'["{FLAGGED}"]', updated_by="admin")
        session.add(hook)
        session.flush()
        for number in range(DELIVERIES):
            session.add(outbox.new_delivery(hook, FLAGGED, {"number": number}))
    stop = threading.Event()
    threads = [threading.Thread(target=run_dispatcher, args=(engine, settings, stop), kwargs={"poll": 0.05})
               for engine in engines[1:]]
    try:
        for thread in threads:
            thread.start()
        receiver.wait_for(DELIVERIES, timeout=20)
        time.sleep(0.5)  # room for a duplicate to arrive
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        receiver.stop()
    sent = Counter(request.delivery for request in receiver.received)
    assert len(sent) == DELIVERIES and set(sent.values()) == {1}
    assert all(signing.verify(SECRET, request.body, request.headers[signing.SIGNATURE_HEADER])
               for request in receiver.received)
    with Session(engines[0]) as session:
        rows = session.exec(select(WebhookDelivery)).all()
        assert {(row.status, row.attempts) for row in rows} == {("delivered", 1)}
        assert len(session.exec(select(WebhookAttempt)).all()) == DELIVERIES
    for engine in engines:
        engine.dispose()


def _dispatcher(config: Path) -> subprocess.Popen[bytes]:
    with (config.parent / "dispatcher.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "gatewatch", "-v", "alerts", "run", "--config", str(config),
                                 "--poll", "0.2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.timeout(90)
def test_a_delivery_queued_while_the_receiver_is_down_survives_a_killed_dispatcher(tmp_path: Path) -> None:
    """The configured hook points at a port nobody listens on yet; the dispatcher process fails to
    deliver, is killed (SIGKILL, no goodbye) and started again, and the receiver, up by then, gets
    the delivery: signed, with the id the outbox gave it."""
    down = Receiver().start()
    port = down.port
    down.stop()
    url = f"sqlite:///{tmp_path / 'gatewatch.db'}"
    config = tmp_path / "gatewatch.yaml"
    config.write_text(yaml.safe_dump({
        "detector": {"model": "yolo11n.pt"}, "data_dir": str(tmp_path / "data"), "database_url": url,
        "timezone": "Asia/Jakarta",
        "cameras": [{"id": CAMERA_ID, "name": "Gate 1", "source": "0",
                     "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}}],
        "alerts": {"webhooks": [{"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET, "events": [FLAGGED]}]},
    }))
    settings = load_settings(config)
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        session.add(Camera(id=CAMERA_ID, name="Gate 1", source="0"))

    def rows(table: type) -> list:
        with Session(engine) as session:
            return list(session.exec(select(table)).all())

    first = _dispatcher(config)
    receiver = None
    second = None
    try:
        wait_until(lambda: any(c.name == outbox.CURSOR for c in rows(AlertCursor)), 30, "the dispatcher started")
        assert [hook.url for hook in rows(Webhook)] == [f"http://127.0.0.1:{port}/hook"]  # seeded
        event = EntryEvent(camera_id=CAMERA_ID, source_key="test", track_id=1, label="person", direction="entry",
                           occurred_at=datetime.now(UTC), frame_index=1, confidence=0.9, box_x1=0.0, box_y1=0.0,
                           box_x2=10.0, box_y2=10.0, status=EventStatus.FLAGGED)
        with session_scope(engine) as session:
            store_event(session, event, settings)
        wait_until(lambda: len(rows(WebhookAttempt)) == 1, 15, "a first, refused attempt")
        (delivery,) = rows(WebhookDelivery)
        assert delivery.status == "pending"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        receiver = Receiver(port=port).start()
        second = _dispatcher(config)
        (request,) = receiver.wait_for(1, timeout=40)
        assert request.delivery == delivery.delivery_id
        assert signing.verify(SECRET, request.body, request.headers[signing.SIGNATURE_HEADER])
        assert [entry["id"] for entry in request.json["entries"]] == [event.id]
        wait_until(lambda: rows(WebhookDelivery)[0].status == "delivered", 10, "the delivery recorded")
        assert [attempt.status_code for attempt in rows(WebhookAttempt)] == [None, 200]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        if receiver is not None:
            receiver.stop()
        engine.dispose()
    assert second.returncode == 0, (tmp_path / "dispatcher.log").read_text()
