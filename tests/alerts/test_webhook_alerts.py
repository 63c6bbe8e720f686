"""Webhook alerts end to end, on SQLite and PostgreSQL: what the audit trail records becomes signed
POSTs to a real HTTP receiver, one per flagged passage, retried with the same delivery id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.alerts import dispatch, outbox, signing, webhooks
from gatewatch.alerts.feed import ALERT_NAMES, DECIDED, DISCONNECTED, FLAGGED
from gatewatch.camera.recording import store_event
from gatewatch.events.reviews import Decision, decide
from gatewatch.models.db import make_engine, session_scope
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import Camera, EntryEvent, Webhook, WebhookDelivery
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from tests.alerts.webhook_receiver import Received, Receiver
from tests.conftest import CAMERA_ID

SECRET = "test-secret-0123456789"
NIK = "3174051203850001"
#: 10:00 in Jakarta, inside the gate's hours: an entry nobody registered is flagged "unregistered".
MORNING = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
NOW = timedelta(0)  # no settling: the tests store a passage before they read the feed


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add(Camera(id=CAMERA_ID, name="Gate 1", source="rtsp://admin:hunter2@10.0.0.5/stream"))
    outbox.fan_out(engine)  # the feed starts at the trail's head, before what the test does
    yield engine
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def add_hook(engine: sa.Engine, url: str, events: tuple[str, ...] = ALERT_NAMES) -> int:
    with session_scope(engine) as session:
        return webhooks.create_hook(session, url, SECRET, events, actor="admin", role="admin").id or 0


def store(engine: sa.Engine, settings: Settings, at: datetime, track: int) -> int:
    """A person crossing at ``at``, stored as the camera pipeline stores it (passage, cross-check, audit)."""
    event = EntryEvent(camera_id=CAMERA_ID, source_key="test", track_id=track, label="person", direction="entry",
                       occurred_at=at, frame_index=track, confidence=0.9, box_x1=0.0, box_y1=0.0, box_x2=10.0,
                       box_y2=10.0, status=EventStatus.FLAGGED)
    with session_scope(engine) as session:
        store_event(session, event, settings)
        return event.id or 0


def assert_signed(request: Received, secret: str = SECRET) -> None:
    assert signing.verify(secret, request.body, request.headers[signing.SIGNATURE_HEADER])
    assert not signing.verify("another-secret-0123456", request.body, request.headers[signing.SIGNATURE_HEADER])
    body = request.json
    assert request.headers[signing.TIMESTAMP_HEADER] == str(body["timestamp"])
    assert abs(body["timestamp"] - time.time()) < 60
    assert body["delivery"] == request.delivery
    assert request.headers[signing.EVENT_HEADER] == body["alert"]


def test_a_flagged_passage_is_one_signed_delivery_listing_its_entries(
    engine: sa.Engine, settings: Settings, receiver: Receiver
) -> None:
    add_hook(engine, receiver.url.replace("http://", "http://relay:pa55word@"))
    add_hook(engine, receiver.url, (DECIDED,))  # not subscribed: gets nothing
    first = store(engine, settings, MORNING, 1)
    second = store(engine, settings, MORNING + timedelta(seconds=0.4), 2)
    alone = store(engine, settings, MORNING + timedelta(seconds=30), 3)

    assert outbox.fan_out(engine, settle=NOW) == 2
    assert outbox.fan_out(engine, settle=NOW) == 0  # the cursor moved with them
    assert dispatch.deliver_due(engine) == 2
    received = receiver.wait_for(2)

    for request in received:
        assert_signed(request)
        assert request.json["alert"] == FLAGGED
        assert request.headers["Authorization"] == "Basic cmVsYXk6cGE1NXdvcmQ="  # the URL's user:password
    by_passage = {request.json["passage_id"]: request.json for request in received}
    assert set(by_passage) == {first, alone}
    passage = by_passage[first]
    assert [entry["id"] for entry in passage["entries"]] == [first, second]
    assert passage["url"] == f"/events/{first}"
    assert passage["camera_id"] == CAMERA_ID
    assert passage["occurred_at"] == MORNING.isoformat()
    entry = passage["entries"][1]
    assert entry | {"flag_detail": None} == {
        "id": second, "camera_id": CAMERA_ID, "label": "person", "direction": "entry",
        "occurred_at": (MORNING + timedelta(seconds=0.4)).isoformat(), "status": "flagged", "flag": "unregistered",
        "flag_detail": None, "plate": None, "passage_id": first, "url": f"/events/{second}",
    }
    assert entry["flag_detail"].startswith("unregistered")

    # A late crossing of the same passage, seconds later, raises no second alert.
    late = store(engine, settings, MORNING + timedelta(seconds=0.8), 4)
    with Session(engine) as session:
        assert session.get(EntryEvent, late).passage_id == first
    assert outbox.fan_out(engine, settle=NOW) == 0


def test_a_flagged_record_waits_for_the_rest_of_its_passage(engine: sa.Engine, settings: Settings) -> None:
    add_hook(engine, "https://relay.example/hook")
    store(engine, settings, MORNING, 1)
    assert outbox.fan_out(engine) == 0  # stored just now: its passage may still be arriving
    assert outbox.fan_out(engine, settle=NOW) == 1


def test_a_decision_and_a_camera_outage_are_alerts_without_secrets_or_niks(
    engine: sa.Engine, settings: Settings, receiver: Receiver
) -> None:
    from gatewatch.camera.worker import CameraStatus

    add_hook(engine, receiver.url, (DECIDED, DISCONNECTED))
    event_id = store(engine, settings, MORNING, 1)
    with session_scope(engine) as session:
        decide(session, event_id, Decision.CONFIRM, actor="guard1", role="guard",
               note=f"stopped him, NIK {NIK}, see rtsp://admin:hunter2@10.0.0.5/")
    CameraStatus(engine, CAMERA_ID, live=True).disconnected(
        "could not open rtsp://admin:hunter2@10.0.0.5/stream: timeout", count_reconnect=True)

    assert outbox.fan_out(engine, settle=NOW) == 2  # the flagged event is not subscribed to
    dispatch.deliver_due(engine)
    received = {request.json["alert"]: request for request in receiver.wait_for(2)}
    for request in received.values():
        assert_signed(request)
        assert b"hunter2" not in request.body and NIK.encode() not in request.body
    decided = received[DECIDED].json
    assert (decided["decision"], decided["actor"], decided["status"], decided["event_id"]) == (
        "confirm", "guard1", "confirmed", event_id)
    assert decided["note"] == "stopped him, NIK ***, see rtsp://***@10.0.0.5/"
    assert [entry["id"] for entry in decided["entries"]] == [event_id]
    assert decided["url"] == f"/events/{event_id}"
    outage = received[DISCONNECTED].json
    assert (outage["camera_id"], outage["camera_name"]) == (CAMERA_ID, "Gate 1")
    assert outage["reason"] == "could not open rtsp://***@10.0.0.5/stream: timeout"
    assert datetime.fromisoformat(outage["occurred_at"]) > utcnow() - timedelta(minutes=1)


def test_a_failed_attempt_is_retried_with_the_same_delivery_id_and_both_are_logged(
    engine: sa.Engine, settings: Settings
) -> None:
    receiver = Receiver(statuses=[500]).start()
    try:
        add_hook(engine, receiver.url)
        store(engine, settings, MORNING, 1)
        assert outbox.fan_out(engine, settle=NOW) == 1
        assert dispatch.deliver_due(engine) == 1
        with Session(engine) as session:
            delivery = session.exec(select(WebhookDelivery)).one()
            assert (delivery.status, delivery.attempts) == ("pending", 1)
            assert timedelta(seconds=8) < delivery.next_attempt_at - utcnow() <= timedelta(seconds=10)
        assert dispatch.deliver_due(engine) == 0  # not due before its backoff
        with session_scope(engine) as session:  # ten seconds pass
            session.execute(sa.update(WebhookDelivery).values(next_attempt_at=utcnow()))
        assert dispatch.deliver_due(engine) == 1
        first, second = receiver.wait_for(2)
    finally:
        receiver.stop()
    assert first.delivery == second.delivery
    assert_signed(first)
    assert_signed(second)
    with Session(engine) as session:
        (logged,) = webhooks.delivery_log(session)
    assert logged.delivery.delivery_id == first.delivery
    assert (logged.delivery.status, logged.delivery.attempts) == ("delivered", 2)
    assert [attempt.status_code for attempt in logged.attempts] == [500, 200]
    assert logged.attempts[0].error == "HTTP 500 Internal Server Error"
    assert logged.delivery.payload == second.body.decode()  # the body as last signed and sent


def test_a_delivery_nobody_takes_for_a_day_fails_and_its_error_hides_the_password(
    engine: sa.Engine, settings: Settings
) -> None:
    closed = Receiver().start()
    port = closed.port
    closed.stop()  # nothing listens there now: the connection is refused
    add_hook(engine, f"http://relay:hunter2@127.0.0.1:{port}/hook")
    store(engine, settings, MORNING, 1)
    assert outbox.fan_out(engine, settle=NOW) == 1
    assert dispatch.deliver_due(engine) == 1
    with session_scope(engine) as session:
        session.execute(sa.update(WebhookDelivery).values(next_attempt_at=utcnow(),
                                                          created_at=utcnow() - timedelta(hours=24, minutes=1)))
    assert dispatch.deliver_due(engine) == 1
    assert dispatch.deliver_due(engine) == 0
    with Session(engine) as session:
        (logged,) = webhooks.delivery_log(session)
    assert (logged.delivery.status, logged.delivery.attempts) == ("failed", 2)
    assert all(attempt.status_code is None and "refused" in (attempt.error or "").lower()
               for attempt in logged.attempts), [attempt.error for attempt in logged.attempts]
    assert logged.url == f"http://***@127.0.0.1:{port}/hook"


def test_the_configuration_seeds_a_new_installation_once_and_the_page_wins(
    engine: sa.Engine, settings: Settings
) -> None:
    configured = Settings(detector={"model": "yolo11n.pt"}, data_dir=settings.data_dir, alerts={"webhooks": [
        {"url": "https://relay.example/hook", "secret": SECRET, "events": [FLAGGED]}]})
    assert webhooks.seed_from_settings(engine, configured) == 1
    assert webhooks.seed_from_settings(engine, configured) == 0
    with session_scope(engine) as session:
        (hook,) = webhooks.all_hooks(session)
        assert (hook.url, hook.secret, webhooks.events_of(hook), hook.updated_by) == (
            "https://relay.example/hook", SECRET, [FLAGGED], None)
        webhooks.delete_hook(session, hook.id, actor="admin", role="admin")
    assert webhooks.seed_from_settings(engine, configured) == 0  # deleted on the page: stays deleted
    with Session(engine) as session:
        assert session.exec(select(Webhook)).all() == []


def test_a_decision_on_a_whole_passage_is_one_alert_and_a_late_feed_still_lists_the_passage(
    engine: sa.Engine, settings: Settings
) -> None:
    add_hook(engine, "https://relay.example/hook", (FLAGGED, DECIDED))
    first = store(engine, settings, MORNING, 1)
    second = store(engine, settings, MORNING + timedelta(seconds=0.4), 2)
    with session_scope(engine) as session:  # decided before the feed read the passage
        decide(session, first, Decision.CONFIRM, actor="guard1", role="guard", note="both stopped")
    assert outbox.fan_out(engine, settle=NOW) == 2
    with Session(engine) as session:
        bodies = {row.event: json.loads(row.payload) for row in session.exec(select(WebhookDelivery)).all()}
    for name in (FLAGGED, DECIDED):
        assert [(e["id"], e["status"]) for e in bodies[name]["entries"]] == [(first, "confirmed"), (second, "confirmed")]
    assert (bodies[DECIDED]["event_id"], bodies[DECIDED]["note"]) == (first, "both stopped")
