"""The webhooks admin page, on SQLite and PostgreSQL: a hook added, its secret and URL password
never shown, edited without retyping the secret, and the delivery log of a real receiver's answers."""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.alerts import dispatch, webhooks
from gatewatch.alerts.feed import DISCONNECTED, FLAGGED
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Webhook, WebhookDelivery
from gatewatch.models.types import utcnow
from tests.alerts.webhook_receiver import Receiver
from tests.web_helpers import count_rows, csrf_token

SECRET = "page-secret-0123456789"
PAGE = "/admin/webhooks"


def test_an_admin_adds_a_webhook_never_sees_its_secret_and_reads_the_delivery_log(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    receiver = Receiver(statuses=[500]).start()
    url = receiver.url.replace("http://", "http://relay:hunter2@")
    masked = receiver.url.replace("http://", "http://***@")
    admin = client_for(Role.ADMIN)
    token = csrf_token(admin, PAGE)
    try:
        page = admin.get(PAGE).get_data(as_text=True)
        assert f'href="{PAGE}"' in page and "No webhooks yet." in page

        refused = admin.post(PAGE, data={"csrf_token": token, "url": "ftp://relay.example/", "secret": SECRET,
                                         "events": [FLAGGED]})
        assert refused.status_code == 422
        assert "Give an http:// or https:// URL" in refused.get_data(as_text=True)
        assert admin.post(PAGE, data={"csrf_token": token, "url": url, "secret": "short",
                                      "events": [FLAGGED]}).status_code == 422
        assert admin.post(PAGE, data={"url": url, "secret": SECRET, "events": [FLAGGED]}).status_code == 400
        assert count_rows(web_engine, Webhook) == 0

        added = admin.post(PAGE, data={"csrf_token": token, "url": url, "secret": SECRET,
                                       "events": [FLAGGED, DISCONNECTED]})
        assert added.status_code == 303
        with Session(web_engine) as session:
            hook = session.exec(select(Webhook)).one()
        assert (hook.url, hook.secret, webhooks.events_of(hook)) == (url, SECRET, [FLAGGED, DISCONNECTED])

        page = admin.get(PAGE).get_data(as_text=True)
        assert masked in page and "hunter2" not in page and SECRET not in page
        edit = admin.get(f"{PAGE}/{hook.id}").get_data(as_text=True)
        assert masked in edit and "hunter2" not in edit and SECRET not in edit

        # "Send test": queued, then sent by the dispatcher; the receiver answers 500, then 200.
        assert admin.post(f"{PAGE}/{hook.id}/test", data={"csrf_token": token}).status_code == 303
        assert dispatch.deliver_due(web_engine) == 1
        with session_scope(web_engine) as session:  # its backoff passes
            session.execute(sa.update(WebhookDelivery).values(next_attempt_at=utcnow()))
        assert dispatch.deliver_due(web_engine) == 1
        first, second = receiver.wait_for(2)
    finally:
        receiver.stop()
    assert first.delivery == second.delivery and first.json["alert"] == "webhook.test"
    assert first.headers["Authorization"].startswith("Basic ")
    page = admin.get(PAGE).get_data(as_text=True)
    log = page[page.index('id="delivery-log"'):]
    assert first.delivery in log and "webhook.test" in log
    assert "HTTP 500" in log and "HTTP 200" in log and "Delivered" in log
    assert log.index("HTTP 500") < log.index("HTTP 200")

    # Edited without retyping the secret, the masked URL sent back unchanged: both are kept.
    assert admin.post(f"{PAGE}/{hook.id}/edit", data={"csrf_token": token, "url": masked, "secret": "",
                                                 "events": [FLAGGED]}).status_code == 303
    with Session(web_engine) as session:
        hook = session.get(Webhook, hook.id)
        assert (hook.url, hook.secret, webhooks.events_of(hook), hook.active) == (url, SECRET, [FLAGGED], False)
        assert hook.updated_by == "admin"
        records = session.exec(select(AuditRecord).where(AuditRecord.entity == "webhook")
                               .order_by(AuditRecord.id)).all()
    assert [record.action for record in records] == ["webhook.created", "webhook.updated"]
    assert json.loads(records[1].after) == {"url": masked, "events": [FLAGGED], "active": False,
                                            "secret_changed": False}
    assert not any(SECRET in (r.before or "") + (r.after or "") or "hunter2" in (r.after or "") for r in records)

    assert admin.post(f"{PAGE}/{hook.id}/delete", data={"csrf_token": token}).status_code == 303
    assert count_rows(web_engine, Webhook) == count_rows(web_engine, WebhookDelivery) == 0
    assert "No webhooks yet." in admin.get(PAGE).get_data(as_text=True)


def test_the_page_is_for_admins_only(client_for: Callable[[Role], FlaskClient]) -> None:
    auditor = client_for(Role.AUDITOR)
    assert auditor.get(PAGE).status_code == 403
    assert f'href="{PAGE}"' not in auditor.get("/", follow_redirects=True).get_data(as_text=True)
