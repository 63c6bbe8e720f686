"""The outbox: each alert becomes one ``WebhookDelivery`` per active hook subscribed to it.

The deliveries are written in the same transaction that moves the feed's cursor
(``AlertCursor`` ``webhooks``) past the records they come from, so a crash or restart neither
loses an alert nor queues it twice. On PostgreSQL the cursor row is locked ``FOR UPDATE SKIP
LOCKED``: while one process fans out, the others skip the round. On SQLite the dispatcher's
lease (``runner``) lets only one process here at all.

A new installation's cursor starts at the trail's head: alerts are about what happens from
then on, not the history.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.alerts import feed
from gatewatch.alerts.webhooks import events_of
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AlertCursor, Webhook, WebhookDelivery
from gatewatch.models.types import utcnow

CURSOR = "webhooks"
#: A delivery sent from the admin page's "send test" button.
TEST_ALERT = "webhook.test"


def body(name: str, delivery_id: str, payload: dict[str, Any], timestamp: int) -> str:
    """A delivery's JSON body: the alert's name, the delivery's id and the send time, then the payload."""
    return json.dumps({"alert": name, "delivery": delivery_id, "timestamp": timestamp, **payload},
                      ensure_ascii=False, separators=(",", ":"))


def new_delivery(hook: Webhook, name: str, payload: dict[str, Any]) -> WebhookDelivery:
    delivery_id = str(uuid.uuid4())
    now = utcnow()
    return WebhookDelivery(delivery_id=delivery_id, webhook_id=hook.id or 0, event=name,
                           payload=body(name, delivery_id, payload, int(now.timestamp())),
                           next_attempt_at=now, created_at=now)


def _locked_cursor(session: Session) -> AlertCursor | None:
    """The feed's cursor row, locked; None when another process holds it (or it was just created)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    query = select(AlertCursor).where(AlertCursor.name == CURSOR)
    cursor = session.exec(query.with_for_update(skip_locked=True) if postgres else query).first()
    if cursor is None and session.exec(select(AlertCursor.name).where(AlertCursor.name == CURSOR)).first() is None:
        session.add(AlertCursor(name=CURSOR, last_seq=feed.head_seq(session)))
    return cursor


def fan_out(engine: sa.Engine, *, settle: timedelta = feed.SETTLE, limit: int = feed.BATCH) -> int:
    """Read the next alerts and queue their deliveries; returns how many deliveries were queued."""
    with session_scope(engine) as session:
        cursor = _locked_cursor(session)
        if cursor is None:
            return 0
        batch = feed.read(session, cursor.last_seq, limit=limit, settle=settle)
        if batch.last_seq == cursor.last_seq:
            return 0
        hooks = session.exec(select(Webhook).where(Webhook.active).order_by(Webhook.id)).all()
        subscribed = {hook.id: set(events_of(hook)) for hook in hooks}
        queued = 0
        for alert in batch.alerts:
            for hook in hooks:
                if alert.name in subscribed[hook.id]:
                    session.add(new_delivery(hook, alert.name, alert.payload))
                    queued += 1
        cursor.last_seq, cursor.updated_at = batch.last_seq, utcnow()
        session.add(cursor)
    return queued


def queue_test(session: Session, hook: Webhook, *, actor: str) -> WebhookDelivery:
    """Queue a test delivery to ``hook`` (the dispatcher sends it like any other)."""
    now = utcnow()
    delivery = new_delivery(hook, TEST_ALERT, {"at": now.isoformat(), "occurred_at": now.isoformat(),
                                               "camera_id": None, "requested_by": actor})
    session.add(delivery)
    return delivery


def outbox_depth(session: Session) -> int:
    """Deliveries still to send."""
    return session.exec(select(sa.func.count()).select_from(WebhookDelivery)
                        .where(WebhookDelivery.status == "pending")).one()
