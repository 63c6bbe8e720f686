"""MQTT against a real Mosquitto broker (tests/mosquitto.py): a camera's events and status as Home
Assistant would receive them, availability through the last will, credentials, and a broker that is
down while events come."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, select

from gatewatch.camera import mqtt as gw_mqtt
from gatewatch.camera.mqtt import Publisher, close_shared_publishers, iso, shared_publisher
from gatewatch.camera.recording import StoredEvent
from gatewatch.camera.worker import run_camera
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import MqttSettings
from tests.camera.test_copied_evidence import MOTORCYCLE_GATE, MOTORCYCLES, footage_settings
from tests.mosquitto import MosquittoBroker, certificates
from tests.shared_files import ROOT

PASSWORD = "pw-Xy7-never-logged"
#: Reconnect attempts in tests: at once, then every fraction of a second.
QUICK = (0.1, 0.3)


class Subscriber:
    """A client of the broker, as Home Assistant would be: every message it receives on ``topic``."""

    def __init__(self, broker: MosquittoBroker, topic: str, *, client_id: str = "", clean_session: bool = True,
                 username: str | None = None, password: str | None = None) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._changed = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(5), "no SUBACK from the broker"

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(self, done: Callable[[list[mqtt.MQTTMessage]], bool], timeout: float = 5.0) -> list[mqtt.MQTTMessage]:
        with self._changed:
            assert self._changed.wait_for(lambda: done(self.messages), timeout), [
                (m.topic, m.payload, m.retain) for m in self.messages]
            return list(self.messages)

    def payloads(self) -> list[str]:
        with self._changed:
            return [m.payload.decode() for m in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscribers() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def subscribe(*args: object, **kwargs: object) -> Subscriber:
        made.append(Subscriber(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield subscribe
    for subscriber in made:
        subscriber.close()
    close_shared_publishers()


def _event(event_id: int, **fields: object) -> StoredEvent:
    """An event as the store returns one (not in a database: publishing needs only its fields)."""
    event = EntryEvent(id=event_id, camera_id="gate-1", source_key="test", track_id=event_id, label="person",
                       direction="entry", occurred_at=datetime(2026, 11, 20, 3, 0, event_id, tzinfo=UTC),
                       frame_index=event_id, confidence=0.9, box_x1=0, box_y1=0, box_x2=1, box_y2=1,
                       status="flagged", flag="unregistered", **fields)
    return StoredEvent(event, created=True)


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _records(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == gw_mqtt.__name__ and r.levelno == level and text in r.getMessage()]


@pytest.mark.slow
def test_a_camera_publishes_its_stored_events_its_status_retained_and_its_availability(
    tmp_path: Path, mosquitto: Callable[..., MosquittoBroker], subscribers: Callable[..., Subscriber]
) -> None:
    broker = mosquitto()
    events_seen = subscribers(broker, "gatewatch/+/events")
    settings = footage_settings(tmp_path / "data", MOTORCYCLES, MOTORCYCLE_GATE, ["person", "motorcycle", "car"])
    assert shared_publisher(settings) is None  # no mqtt section: no MQTT
    settings = settings.model_copy(update={  # plates are not this test's business: no OCR, faster
        "mqtt": MqttSettings(host=broker.host, port=broker.port),
        "plates": settings.plates.model_copy(update={"enabled": False})})
    engine = make_engine(f"sqlite:///{tmp_path / 'gatewatch.db'}")
    migrate(engine)

    run_camera(engine, settings, settings.cameras[0], threading.Event())

    with Session(engine) as session:
        stored = list(session.exec(select(EntryEvent).order_by(EntryEvent.id)).all())
        row = session.get(Camera, "gate-1")
    assert len(stored) >= 5
    received = events_seen.wait_for(lambda messages: len(messages) >= len(stored))
    assert {m.topic for m in received} == {"gatewatch/gate-1/events"}
    assert not any(m.retain for m in received)
    published = [json.loads(m.payload) for m in received]
    assert sorted(p["id"] for p in published) == [e.id for e in stored]  # each once
    for payload, event in zip(sorted(published, key=lambda p: p["id"]), stored, strict=True):
        assert payload == {
            "id": event.id, "camera_id": "gate-1", "label": event.label, "direction": event.direction,
            "occurred_at": iso(event.occurred_at), "confidence": event.confidence, "status": event.status,
            "flag": event.flag, "flag_detail": event.flag_detail, "plate_text": event.plate_text,
            "passage_id": event.passage_id, "rides_track_id": event.rides_track_id,
            "event_url": f"/events/{event.id}",
            "snapshot_url": f"/evidence/{event.id}/snapshot.jpg", "clip_url": f"/evidence/{event.id}/clip.mp4",
            "plate_url": f"/evidence/{event.id}/plate.jpg" if event.plate_crop_path else None,
        }
        assert payload["occurred_at"].endswith("Z")
    assert any(p["status"] == "flagged" and p["flag"] for p in published)  # nobody registered: flagged
    assert all(str(MOTORCYCLES) not in m.payload.decode() for m in received)  # never the camera's source

    # A new subscriber (Home Assistant starting) gets the camera's status, retained, as the row holds it.
    status = subscribers(broker, "gatewatch/gate-1/status").wait_for(
        lambda messages: bool(messages) and json.loads(messages[-1].payload)["connected"] is False)
    assert status[0].retain
    current = json.loads(status[-1].payload)
    assert row is not None
    assert current["camera_id"] == "gate-1" and current["name"] == "Gate 1"
    assert (current["frames_per_second"], current["last_frame_at"]) == (row.frames_per_second, iso(row.last_frame_at))
    assert (current["degraded"], current["tampered"], current["status_note"]) == (row.degraded, row.tampered,
                                                                                row.status_note)
    assert "source" not in current

    # Online while the worker's process runs; a clean shutdown says offline itself.
    availability = subscribers(broker, "gatewatch/availability")
    assert [m.payload for m in availability.wait_for(bool)] == [b"online"]
    assert availability.messages[0].retain
    close_shared_publishers()
    availability.wait_for(lambda messages: messages[-1].payload == b"offline")
    retained = subscribers(broker, "gatewatch/availability").wait_for(bool)
    assert [(m.payload, m.retain) for m in retained] == [(b"offline", True)]


PUBLISHING_PROCESS = """
import sys, time
from gatewatch.camera.mqtt import Publisher
from gatewatch.settings import MqttSettings
publisher = Publisher(MqttSettings(host=sys.argv[1], port=int(sys.argv[2])))
publisher.start()
assert publisher.wait_connected(10)
print(publisher.client_id, flush=True)
time.sleep(60)
"""


def test_a_killed_process_goes_offline_through_its_last_will(
    mosquitto: Callable[..., MosquittoBroker], subscribers: Callable[..., Subscriber]
) -> None:
    broker = mosquitto()
    availability = subscribers(broker, "gatewatch/availability")
    process = subprocess.Popen([sys.executable, "-c", PUBLISHING_PROCESS, broker.host, str(broker.port)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        client_id = process.stdout.readline().strip()  # type: ignore[union-attr]
        assert client_id.startswith("gatewatch-") and f"-{process.pid}-" in client_id
        assert client_id != Publisher(MqttSettings(host=broker.host)).client_id  # one per process
        availability.wait_for(lambda messages: [m.payload for m in messages] == [b"online"])
        os.kill(process.pid, signal.SIGKILL)  # no goodbye: the broker publishes the will
        availability.wait_for(lambda messages: [m.payload for m in messages] == [b"online", b"offline"])
    finally:
        process.kill()
        process.wait()
    retained = subscribers(broker, "gatewatch/availability").wait_for(bool)
    assert [(m.payload, m.retain) for m in retained] == [(b"offline", True)]


def test_wrong_credentials_are_reported_once_and_the_right_ones_work(
    mosquitto: Callable[..., MosquittoBroker], subscribers: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # paho's own logging too, were it on
    broker = mosquitto(users={"gatewatch": PASSWORD, "homeassistant": "ha-pw"})
    wrong = Publisher(MqttSettings(host=broker.host, port=broker.port, username="gatewatch", password="guess"),
                      reconnect_seconds=QUICK)
    wrong.start()
    try:
        _until(lambda: broker.log.read_text().count("disconnected, not authorised") >= 3)  # 3 attempts refused
        for event_id in range(1, 4):
            wrong.event(_event(event_id))  # they wait: nothing is logged per message
    finally:
        wrong.close()
    assert not wrong.connected
    assert wrong.problem == (f"the MQTT broker at {broker.host}:{broker.port} refused the connection: "
                             "Not authorized (check mqtt.username and mqtt.password)")
    assert _records(caplog, logging.ERROR, "") == [
        f"MQTT: {wrong.problem}; trying again in the background (up to 1000 events wait)"]

    events = subscribers(broker, "gatewatch/+/events", username="homeassistant", password="ha-pw")
    right = Publisher(MqttSettings(host=broker.host, port=broker.port, username="gatewatch", password=PASSWORD))
    right.start()
    try:
        assert right.wait_connected(5) and right.problem is None
        right.event(_event(4, plate_text="BG 1234 AB"))
        [message] = events.wait_for(bool)
        assert json.loads(message.payload)["plate_text"] == "BG 1234 AB"
    finally:
        right.close()
    assert _records(caplog, logging.INFO, f"connected to the broker at {broker.host}:{broker.port} as gatewatch-")
    assert PASSWORD not in caplog.text and "guess" not in caplog.text


def test_events_wait_for_a_broker_that_is_down_and_beyond_the_bound_are_dropped(
    mosquitto: Callable[..., MosquittoBroker], subscribers: Callable[..., Subscriber],
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    broker = mosquitto(persistence=True)
    # Home Assistant's session outlives the broker's restart: it receives what was published meanwhile.
    subscribers(broker, "gatewatch/#", client_id="home-assistant", clean_session=False).close()
    broker.stop()
    publisher = Publisher(MqttSettings(host=broker.host, port=broker.port), max_queued=3, reconnect_seconds=QUICK)
    publisher.start()
    try:
        _until(lambda: publisher.problem is not None)
        camera = Camera(id="gate-1", name="Gate 1", source="rtsp://admin:pw@cam/1", connected=True,
                        frames_per_second=12.5)
        publisher.status(camera)  # kept for the connect, not queued
        started = time.monotonic()
        for event_id in range(1, 6):
            publisher.event(_event(event_id))
        assert time.monotonic() - started < 0.5  # publishing never waits for the broker
        assert publisher.dropped == 2
        time.sleep(0.5)  # a few more attempts fail
        broker.start()
        assert publisher.wait_connected(5)
        home = subscribers(broker, "gatewatch/#", client_id="home-assistant", clean_session=False)
        received = home.wait_for(lambda messages: len([m for m in messages if m.topic.endswith("/events")]) == 3)
    finally:
        publisher.close()
    assert [json.loads(m.payload)["id"] for m in received if m.topic == "gatewatch/gate-1/events"] == [1, 2, 3]
    status = subscribers(broker, "gatewatch/gate-1/status").wait_for(bool)
    assert json.loads(status[0].payload)["frames_per_second"] == 12.5 and status[0].retain
    assert "rtsp" not in status[0].payload.decode()
    where = f"{broker.host}:{broker.port}"
    refused = f"cannot connect to the MQTT broker at {where}: [Errno 111] Connection refused"
    assert _records(caplog, logging.ERROR, "") == [
        f"MQTT: {refused}; trying again in the background (up to 3 events wait)"]
    assert len(_records(caplog, logging.WARNING, "newer ones are dropped")) == 1
    [back] = _records(caplog, logging.INFO, "without it")
    assert back.startswith(f"MQTT: connected to the broker at {where} as {publisher.client_id} after ")
    assert back.endswith(" s without it; 2 events were dropped meanwhile")


def test_tls_checks_the_brokers_certificate(
    tmp_path: Path, mosquitto: Callable[..., MosquittoBroker], subscribers: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certificate, key = certificates(tmp_path)
    broker = mosquitto(tls=(certificate, key))
    settings = MqttSettings(host=broker.host, port=broker.port, tls=True)
    untrusted = Publisher(settings, reconnect_seconds=QUICK)  # the system's CAs do not know the test's CA
    untrusted.start()
    try:
        _until(lambda: untrusted.problem is not None)
    finally:
        untrusted.close()
    assert untrusted.problem is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.problem
    assert not untrusted.connected

    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # a private CA, as a site with its own broker has
    trusted = Publisher(settings)
    trusted.start()
    try:
        assert trusted.wait_connected(5) and trusted.problem is None
    finally:
        trusted.close()
