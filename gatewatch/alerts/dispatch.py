"""Sending the outbox: each due delivery POSTed, signed, and its attempt recorded; retried with backoff.

A delivery is claimed before it is sent: its ``next_attempt_at`` moves ``CLAIM`` ahead in a short
transaction of its own (on PostgreSQL the due rows are picked ``FOR UPDATE SKIP LOCKED``, so two
dispatchers never claim the same one), then it is POSTed outside any transaction, then the
attempt is recorded. A dispatcher that dies mid-send leaves its claim to lapse: the delivery
is sent again later, with the same ``X-Gatewatch-Delivery`` id, for the receiver to drop.

A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection, a
redirect: none is followed) is retried after ``BACKOFF`` (then hourly), until an attempt fails
``GIVE_UP_AFTER`` or more after the delivery was queued: then it is ``failed``.

Every attempt is a ``WebhookAttempt``: the status code, or the error with any URL's password masked.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlmodel import select

from gatewatch.alerts import signing
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Webhook, WebhookAttempt, WebhookDelivery
from gatewatch.models.types import utcnow
from gatewatch.vision.redaction import redact_url

log = logging.getLogger(__name__)

#: Seconds a receiver has to answer.
TIMEOUT = 5.0
#: Seconds before the retry after the 1st, 2nd, ... failed attempt; then every hour.
BACKOFF = (10, 30, 60, 300, 900, 3600)
#: Retries go on at least this long after a delivery was queued.
GIVE_UP_AFTER = timedelta(hours=24)
#: How long a claimed delivery is left to its sender before it is due again.
CLAIM = timedelta(minutes=2)
#: Deliveries claimed at a time.
CLAIM_BATCH = 10
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for sending, with what sending it needs."""

    id: int
    delivery_id: str
    event: str
    payload: str
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    at: datetime
    status_code: int | None
    error: str | None
    seconds: float
    body: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt a delivery is tried again."""
    return timedelta(seconds=BACKOFF[attempts - 1] if attempts <= len(BACKOFF) else BACKOFF[-1])


def claim_due(engine: sa.Engine, *, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries of active hooks, oldest due first."""
    now = utcnow()
    with session_scope(engine) as session:
        query = (
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now, Webhook.active)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        claimed = []
        for delivery, hook in session.exec(query).all():
            delivery.next_attempt_at = now + CLAIM
            session.add(delivery)
            claimed.append(Claimed(delivery.id or 0, delivery.delivery_id, delivery.event, delivery.payload,
                                   hook.url, hook.secret))
    return claimed


def unclaim(engine: sa.Engine, ids: list[int]) -> None:
    """Make claimed deliveries due again now (a dispatcher stopping before it sent them)."""
    if ids:
        with session_scope(engine) as session:
            session.execute(sa.update(WebhookDelivery)
                            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == PENDING)
                            .values(next_attempt_at=utcnow()))


def with_timestamp(payload: str, timestamp: int) -> str:
    """The stored body with ``timestamp`` set to the send time (the signature covers it)."""
    values = json.loads(payload)
    values["timestamp"] = timestamp
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # a redirect is an answer like any other non-2xx: urllib raises it as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without ``user:password@``, and the Basic authorisation header they make."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, {}
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return urlunsplit(parts._replace(netloc=netloc)), {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def send(claimed: Claimed, *, timeout: float = TIMEOUT) -> Outcome:
    """POST the delivery once; never raises for what the receiver or the network does."""
    at, started = utcnow(), time.monotonic()
    timestamp = int(time.time())
    text = with_timestamp(claimed.payload, timestamp)
    data = text.encode("utf-8")
    status: int | None = None
    error: str | None = None
    try:
        url, auth = _split_credentials(claimed.url)
        request = urllib.request.Request(url, data=data, method="POST", headers={
            **signing.headers(claimed.secret, data, delivery_id=claimed.delivery_id, event=claimed.event,
                              timestamp=timestamp), **auth})
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as answer:
        status = answer.code
        error = f"HTTP {answer.code} {answer.reason}"
        answer.close()
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as failure:
        reason = failure.reason if isinstance(failure, urllib.error.URLError) else failure
        error = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    if error is not None:
        error = redact_url(error).replace(claimed.secret, "***")[:500]
    return Outcome(at, status, error, round(time.monotonic() - started, 3), text)


def record(engine: sa.Engine, claimed: Claimed, outcome: Outcome) -> str:
    """Write the attempt and where the delivery stands after it; returns its status."""
    with session_scope(engine) as session:
        delivery = session.get(WebhookDelivery, claimed.id)
        if delivery is None:  # its hook was deleted while it was being sent
            return FAILED
        delivery.attempts += 1
        delivery.payload = outcome.body
        now = utcnow()
        if outcome.delivered:
            delivery.status, delivery.delivered_at = DELIVERED, now
        elif now - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = FAILED
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        session.add(delivery)
        session.add(WebhookAttempt(delivery_id=claimed.id, at=outcome.at, status_code=outcome.status_code,
                                   error=outcome.error, seconds=outcome.seconds))
        return delivery.status


def deliver_due(engine: sa.Engine, *, still_mine: Callable[[], bool] = lambda: True,
                timeout: float = TIMEOUT, stop: Callable[[], bool] = lambda: False) -> int:
    """Send every due delivery, a claim at a time; returns how many attempts were made.

    ``still_mine`` is asked before each send (a lease refreshed); False stops the round.
    """
    attempts = 0
    while not stop():
        claimed = claim_due(engine)
        for index, delivery in enumerate(claimed):
            if stop() or not still_mine():
                unclaim(engine, [c.id for c in claimed[index:]])
                return attempts
            outcome = send(delivery, timeout=timeout)
            status = record(engine, delivery, outcome)
            attempts += 1
            if not outcome.delivered:
                log.warning("webhook delivery %s (%s) to %s: %s; %s", delivery.delivery_id, delivery.event,
                            redact_url(delivery.url), outcome.error or outcome.status_code, status)
        if len(claimed) < CLAIM_BATCH:
            return attempts
    return attempts
