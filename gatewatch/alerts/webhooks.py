"""The webhook receivers: kept in the database, edited on the admin page, seeded from the configuration.

``alerts.webhooks`` in the configuration seeds a new installation: while no hook was ever saved
and the table is empty, the configured hooks are copied in once (``updated_by`` None says so).
From the first edit on the page (or the seeding), the marker cursor ``webhooks.seeded`` exists
and the configuration is not read again: the page wins, even when it deletes every hook.

A hook's secret is written once and never shown again; the audit trail records each change
(``webhook.created``, ``webhook.updated``, ``webhook.deleted``) with the URL's password masked
and without the secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.alerts.feed import ALERT_NAMES
from gatewatch.audit import trail
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AlertCursor, Webhook, WebhookAttempt, WebhookDelivery
from gatewatch.settings import Settings
from gatewatch.vision.redaction import redact_url

#: The marker cursor: once it exists, the configuration seeds no hook again.
SEEDED = "webhooks.seeded"
MAX_URL_LENGTH = 1000
MIN_SECRET_LENGTH, MAX_SECRET_LENGTH = 16, 200
_ENTITY = "webhook"


class WebhookError(Exception):
    """A change refused; ``field`` names the form field at fault."""

    field: str | None = None


class InvalidUrl(WebhookError):
    field = "url"


class InvalidSecret(WebhookError):
    field = "secret"


class InvalidEvents(WebhookError):
    field = "events"


class HookNotFound(WebhookError):
    pass


def check_url(text: str) -> str:
    """The URL as stored: an http or https URL with a host, at most ``MAX_URL_LENGTH`` characters."""
    url = text.strip()
    if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidUrl(f"give an http:// or https:// URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidUrl("this URL cannot be read") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidUrl("give an http:// or https:// URL with a host")
    return url


def check_secret(text: str) -> str:
    if not MIN_SECRET_LENGTH <= len(text) <= MAX_SECRET_LENGTH or text != text.strip():
        raise InvalidSecret(f"give a secret of {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters, "
                            "without spaces at either end")
    return text


def check_events(names: Iterable[str]) -> list[str]:
    chosen = set(names)
    if not chosen or chosen - set(ALERT_NAMES):
        raise InvalidEvents("choose at least one of: " + ", ".join(ALERT_NAMES))
    return [name for name in ALERT_NAMES if name in chosen]


def events_of(hook: Webhook) -> list[str]:
    """The alert names ``hook`` subscribes to."""
    value = json.loads(hook.events or "[]")
    return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []


def masked_url(url: str) -> str:
    """The URL as pages, logs and the audit trail show it: its password and secret parameters masked."""
    return redact_url(url)


def _audited(hook: Webhook) -> dict[str, object]:
    return {"url": masked_url(hook.url), "events": events_of(hook), "active": hook.active}


def _mark_edited(session: Session) -> None:
    if session.get(AlertCursor, SEEDED) is None:
        session.add(AlertCursor(name=SEEDED))


def all_hooks(session: Session) -> Sequence[Webhook]:
    return session.exec(select(Webhook).order_by(Webhook.id)).all()


def get_hook(session: Session, hook_id: int) -> Webhook:
    hook = session.get(Webhook, hook_id)
    if hook is None:
        raise HookNotFound(f"there is no webhook #{hook_id}")
    return hook


def create_hook(session: Session, url: str, secret: str, events: Iterable[str], *, active: bool = True,
                actor: str, role: str) -> Webhook:
    hook = Webhook(url=check_url(url), secret=check_secret(secret), events=json.dumps(check_events(events)),
                   active=active, updated_by=actor)
    session.add(hook)
    session.flush()
    _mark_edited(session)
    trail.record(session, actor=actor, role=role, action="webhook.created", entity=_ENTITY, entity_id=hook.id,
                 after=_audited(hook))
    return hook


def update_hook(session: Session, hook_id: int, url: str, secret: str | None, events: Iterable[str], *,
                active: bool, actor: str, role: str) -> Webhook:
    """Change a hook; an empty or None ``secret`` keeps the one it has."""
    hook = get_hook(session, hook_id)
    before = _audited(hook)
    hook.url, hook.events, hook.active = check_url(url), json.dumps(check_events(events)), active
    if secret:
        hook.secret = check_secret(secret)
    hook.updated_by = actor
    session.add(hook)
    session.flush()
    _mark_edited(session)
    trail.record(session, actor=actor, role=role, action="webhook.updated", entity=_ENTITY, entity_id=hook.id,
                 before=before, after={**_audited(hook), "secret_changed": bool(secret)})
    return hook


def delete_hook(session: Session, hook_id: int, *, actor: str, role: str) -> Webhook:
    """Delete a hook with its deliveries and their attempts."""
    hook = get_hook(session, hook_id)
    before = _audited(hook)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == hook_id)
    session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id))
    session.delete(hook)
    session.flush()
    _mark_edited(session)
    trail.record(session, actor=actor, role=role, action="webhook.deleted", entity=_ENTITY, entity_id=hook_id,
                 before=before)
    return hook


def seed_from_settings(engine: sa.Engine, settings: Settings) -> int:
    """Copy the configured hooks into a new installation's empty table, once; returns how many."""
    if not settings.alerts.webhooks:
        return 0
    try:
        with session_scope(engine) as session:
            if session.get(AlertCursor, SEEDED) is not None or session.exec(select(Webhook.id).limit(1)).first():
                return 0
            for configured in settings.alerts.webhooks:
                session.add(Webhook(url=configured.url, secret=configured.secret.get_secret_value(),
                                    events=json.dumps(list(configured.events)), active=True, updated_by=None))
            session.add(AlertCursor(name=SEEDED))
        return len(settings.alerts.webhooks)
    except sa.exc.IntegrityError:  # another process seeded at the same moment
        return 0


@dataclass(frozen=True)
class LoggedDelivery:
    """A delivery as the log shows it, with its hook's masked URL and every attempt, oldest first."""

    delivery: WebhookDelivery
    url: str
    attempts: list[WebhookAttempt]


def delivery_log(session: Session, *, limit: int = 50, hook_id: int | None = None) -> list[LoggedDelivery]:
    """The newest deliveries, newest first."""
    query = select(WebhookDelivery, Webhook.url).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
    if hook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == hook_id)
    rows = session.exec(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    ids = [delivery.id for delivery, _url in rows]
    attempts: dict[int, list[WebhookAttempt]] = {}
    if ids:
        for attempt in session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
                                    .order_by(WebhookAttempt.id)).all():
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [LoggedDelivery(delivery, masked_url(url), attempts.get(delivery.id or 0, [])) for delivery, url in rows]
