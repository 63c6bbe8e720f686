"""Events and camera status to an MQTT broker, for Home Assistant and whatever else subscribes.

The camera worker publishes: it is where events are stored and where a camera's state is known,
so the web app needs no broker. One client per process (the box runs every camera in one:
``shared_publisher``) connects on paho's own thread, which reconnects by itself. Publishing only
hands a message to that thread and never waits for the broker: a broker that is down or slow
never holds up analysis or the storing of events.

Topics, under ``mqtt.topic_prefix``:

- ``<prefix>/<camera_id>/events``: each new event as JSON once it is stored and cross-checked
  (QoS 1, not retained). While the broker is away they wait in paho's queue, at most
  ``MAX_QUEUED``, and go out when it is back; beyond that they are dropped (the database keeps
  them all).
- ``<prefix>/<camera_id>/status``: the camera's status row as JSON, retained, at each write.
  Only the newest counts, so it is not queued: each camera's newest is published again at every
  connect.
- ``<prefix>/availability``: ``online`` (retained) at every connect. The broker publishes the
  last will, ``offline`` (retained), when the connection dies without a goodbye (a killed
  process, a lost network); a clean shutdown publishes ``offline`` itself.

Payloads carry ids, times (ISO 8601, UTC) and the web app's paths of the evidence, never a
camera's source URL or a visitor's NIK. A failing connection is logged once per outage (and
again only for another reason), not at each attempt or message. The password goes to paho
only, whose own logger stays off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from gatewatch.alerts.payloads import clean_text, event_path
from gatewatch.alerts.payloads import iso as utc_iso
from gatewatch.camera.recording import StoredEvent
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import MqttSettings, Settings

log = logging.getLogger(__name__)

#: Events waiting for the broker at most; newer ones are dropped while it is away.
MAX_QUEUED = 1000
#: Seconds between reconnect attempts: the first, doubling up to the second.
RECONNECT_SECONDS = (1, 30)
#: A dead connection the network did not report is noticed within 1.5 times this.
KEEPALIVE_SECONDS = 30
#: How long a clean shutdown waits for ``offline`` to be sent.
CLOSE_SECONDS = 2.0
ONLINE, OFFLINE = "online", "offline"
#: The web app's evidence routes (``gatewatch.web.views.evidence``) and event page, by the event's
#: file that must exist; the camera layer cannot import the web app to build them.
EVIDENCE_URLS = {
    "snapshot_url": ("snapshot_path", "/evidence/{id}/snapshot.jpg"),
    "clip_url": ("clip_path", "/evidence/{id}/clip.mp4"),
    "plate_url": ("plate_crop_path", "/evidence/{id}/plate.jpg"),
}
#: CONNACK reasons that mean the credentials are wrong, whatever the protocol version calls them.
_CREDENTIALS_REFUSED = {"Bad user name or password", "Not authorized"}


def iso(value: datetime | None) -> str | None:
    """``value`` in ISO 8601, in UTC, as Home Assistant's templates like it ("...Z"); a time without
    an offset is taken to be UTC, as stored."""
    text = utc_iso(value if value is None or value.tzinfo else value.replace(tzinfo=UTC))
    return None if text is None else text.replace("+00:00", "Z")


def event_payload(event: EntryEvent) -> dict[str, Any]:
    """An event as published: what it is, when, how the cross-check judged it, where its evidence is."""
    urls = {name: (path.format(id=event.id) if getattr(event, field) else None)
            for name, (field, path) in EVIDENCE_URLS.items()}
    return {
        "id": event.id,
        "camera_id": event.camera_id,
        "label": event.label,
        "direction": event.direction,
        "occurred_at": iso(event.occurred_at),
        "confidence": event.confidence,
        "status": event.status,
        "flag": event.flag,
        "flag_detail": clean_text(event.flag_detail),  # as webhooks: no NIK, no URL password
        "plate_text": event.plate_text,
        "passage_id": event.passage_id or event.id,
        "rides_track_id": event.rides_track_id,
        "event_url": event_path(event.id or 0),
        **urls,
    }


def status_payload(row: Camera) -> dict[str, Any]:
    """A camera's status row as published (never its source, which may hold a password)."""
    return {
        "camera_id": row.id,
        "name": row.name,
        "connected": row.connected,
        "last_frame_at": iso(row.last_frame_at),
        "frames_per_second": row.frames_per_second,
        "analysis_load": row.analysis_load,
        "degraded": row.degraded,
        "lag_seconds": row.lag_seconds,
        "dropped_frames": row.dropped_frames,
        "detections": row.detections,
        "reconnects": row.reconnects,
        "tampered": row.tampered,
        "tamper_note": row.tamper_note,
        "status_note": row.status_note,
        "updated_at": iso(datetime.now(UTC)),
    }


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def client_id() -> str:
    """An id of this process's client: two clients with one id would throw each other off the broker."""
    return f"gatewatch-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class _Client(mqtt.Client):
    """paho's client, keeping why the last connect failed, which its ``on_connect_fail`` does not say."""

    last_error: OSError | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:  # refused, unreachable, a certificate not trusted: paho retries
            self.last_error = exc
            raise


class Publisher:
    """One connection to the broker, publishing events and statuses without ever waiting for it.

    ``start`` connects in the background; ``close`` says ``offline`` and disconnects.
    ``problem`` says why it is not connected, if it tried and failed; ``dropped`` counts events
    that found the queue full.
    """

    def __init__(self, settings: MqttSettings, *, max_queued: int = MAX_QUEUED,
                 reconnect_seconds: tuple[float, float] = RECONNECT_SECONDS) -> None:
        self.settings = settings
        self.prefix = settings.topic_prefix.rstrip("/")
        self.where = f"{settings.host}:{settings.port}"
        self.max_queued = max_queued
        self.client_id = client_id()
        self.problem: str | None = None
        self.dropped = 0
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._statuses: dict[str, bytes] = {}  # each camera's newest status, published again at each connect
        self._down_since: float | None = None  # time.monotonic() of this outage's first failure
        self._logged: set[str] = set()  # the problems logged in this outage
        self._dropped_since_up = 0
        self._closed = False
        self._client = self._make_client(reconnect_seconds)

    @property
    def availability_topic(self) -> str:
        return f"{self.prefix}/availability"

    def topic(self, camera_id: str, leaf: str) -> str:
        return f"{self.prefix}/{camera_id}/{leaf}"

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def _make_client(self, reconnect_seconds: tuple[float, float]) -> _Client:
        settings = self.settings
        client = _Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311)
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password is not None else None
            client.username_pw_set(settings.username, password)
        if settings.tls:
            client.tls_set()  # the system's CA certificates (or SSL_CERT_FILE's); the broker's name is checked
        client.will_set(self.availability_topic, OFFLINE, qos=1, retain=True)
        client.max_queued_messages_set(self.max_queued)
        client.reconnect_delay_set(*reconnect_seconds)  # type: ignore[arg-type]  # paho sleeps any number
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        return client

    def start(self) -> None:
        """Connect on paho's thread, which goes on trying until ``close``."""
        self._client.connect_async(self.settings.host, self.settings.port, KEEPALIVE_SECONDS)
        self._client.loop_start()

    def event(self, stored: StoredEvent) -> None:
        """Publish a newly stored event (one stored by an earlier run of the same footage is not new)."""
        if not stored.created:
            return
        try:
            info = self._client.publish(self.topic(stored.event.camera_id, "events"),
                                        _json(event_payload(stored.event)), qos=1)
        except Exception:  # publishing must never cost the event its storing
            log.exception("MQTT: publishing event %s failed", stored.event.id)
            return
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self._drop()

    def status(self, row: Camera) -> None:
        """Publish ``row``, the camera's status as just written, retained; kept for the next connect."""
        try:
            payload = _json(status_payload(row))
            with self._lock:
                self._statuses[row.id] = payload
                up = self._up.is_set()
            if up:  # otherwise the next connect publishes it
                self._client.publish(self.topic(row.id, "status"), payload, qos=0, retain=True)
        except Exception:  # a status is written again within seconds
            log.exception("MQTT: publishing %s's status failed", row.id)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Publish ``offline`` (retained) and disconnect; the broker drops the last will of a clean goodbye."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._up.is_set():
            info = self._client.publish(self.availability_topic, OFFLINE, qos=0, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._up.clear()

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode,
                    _properties: object) -> None:
        if reason.is_failure:
            hint = " (check mqtt.username and mqtt.password)" if str(reason) in _CREDENTIALS_REFUSED else ""
            self._trouble(f"the MQTT broker at {self.where} refused the connection: {reason}{hint}")
            return
        with self._lock:
            outage = self._down_since is not None and bool(self._logged)
            seconds = time.monotonic() - self._down_since if self._down_since is not None else 0.0
            dropped, self._dropped_since_up = self._dropped_since_up, 0
            self._down_since, self.problem = None, None
            self._logged = set()
            statuses = list(self._statuses.items())
            self._up.set()
        # QoS 0: sent at once, ahead of the events that waited, and never refused by a full queue.
        client.publish(self.availability_topic, ONLINE, qos=0, retain=True)
        for camera_id, payload in statuses:
            client.publish(self.topic(camera_id, "status"), payload, qos=0, retain=True)
        if outage:
            log.info("MQTT: connected to the broker at %s as %s after %.0f s without it; %d events were dropped "
                     "meanwhile", self.where, self.client_id, seconds, dropped)
        else:
            log.info("MQTT: connected to the broker at %s as %s", self.where, self.client_id)

    def _on_connect_fail(self, client: _Client, _userdata: object) -> None:
        why = f": {client.last_error}" if client.last_error is not None else ""
        self._trouble(f"cannot connect to the MQTT broker at {self.where}{why}")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode,
                       _properties: object) -> None:
        with self._lock:
            was_up = self._up.is_set()
            self._up.clear()
            closing = self._closed
        if was_up and not closing:
            self._trouble(f"lost the connection to the MQTT broker at {self.where}: {reason}")

    def _trouble(self, problem: str) -> None:
        """Not connected, for ``problem``: logged once per outage and reason, not at every attempt."""
        with self._lock:
            self._up.clear()
            self.problem = problem
            if self._down_since is None:
                self._down_since = time.monotonic()
            new = problem not in self._logged
            self._logged.add(problem)
        if new:
            log.error("MQTT: %s; trying again in the background (up to %d events wait)", problem, self.max_queued)

    def _drop(self) -> None:
        with self._lock:
            self.dropped += 1
            self._dropped_since_up += 1
            first = self._dropped_since_up == 1
        if first:
            log.warning("MQTT: %d events wait for the broker at %s; newer ones are dropped until it is back "
                        "(the database keeps them)", self.max_queued, self.where)


_shared: dict[tuple[object, ...], Publisher] = {}
_shared_lock = threading.Lock()


def shared_publisher(settings: Settings) -> Publisher | None:
    """This process's publisher to ``settings.mqtt``, started at the first call; None without an ``mqtt:`` section.

    Every camera of the process publishes through it; it says ``offline`` when the process ends.
    """
    mqtt_settings = settings.mqtt
    if mqtt_settings is None:
        return None
    password = mqtt_settings.password.get_secret_value() if mqtt_settings.password is not None else None
    key = (mqtt_settings.host, mqtt_settings.port, mqtt_settings.username, password, mqtt_settings.tls,
           mqtt_settings.topic_prefix)
    with _shared_lock:
        publisher = _shared.get(key)
        if publisher is None:
            if not _shared:
                atexit.register(close_shared_publishers)
            publisher = _shared[key] = Publisher(mqtt_settings)
            publisher.start()
    return publisher


def close_shared_publishers() -> None:
    """Close the publishers ``shared_publisher`` started (at exit, and in tests)."""
    with _shared_lock:
        publishers = list(_shared.values())
        _shared.clear()
        atexit.unregister(close_shared_publishers)
    for publisher in publishers:
        publisher.close()
