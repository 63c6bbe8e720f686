"""Administration of webhooks: the receivers of alerts, and the log of what was sent to them.

Admins only: a hook's URL may carry credentials and its deliveries say what happened at the
gate. A secret is asked for when a hook is created and never shown again (the page says "set");
editing a hook keeps it unless a new one is typed. URLs are shown with their passwords masked.
The dispatcher (``gatewatch worker --all`` or ``gatewatch alerts run``) does the sending; "send
test" queues a ``webhook.test`` delivery for it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gatewatch.alerts import outbox, webhooks
from gatewatch.alerts.feed import ALERT_NAMES
from gatewatch.models.enums import Role
from gatewatch.models.tables import Webhook
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, engine, settings
from gatewatch.web.transaction import commit_or_flash
from gatewatch.web.validation import FORM_ERROR

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

#: Deliveries the log shows.
LOG_LENGTH = 50


def webhook_error(error: webhooks.WebhookError) -> str:
    """Why a webhook change was refused, in the reader's language."""
    if isinstance(error, webhooks.InvalidUrl):
        return _("Give an http:// or https:// URL of at most %(count)d characters.", count=webhooks.MAX_URL_LENGTH)
    if isinstance(error, webhooks.InvalidSecret):
        return _("Give a secret of %(low)d to %(high)d characters, without spaces at either end.",
                 low=webhooks.MIN_SECRET_LENGTH, high=webhooks.MAX_SECRET_LENGTH)
    if isinstance(error, webhooks.InvalidEvents):
        return _("Choose at least one alert.")
    if isinstance(error, webhooks.HookNotFound):
        return _("There is no such webhook (any more).")
    return str(error)


def _form() -> dict[str, object]:
    return {"url": request.form.get("url", ""), "events": request.form.getlist("events"),
            "active": request.form.get("active") == "1"}


def _page(form: dict[str, object] | None = None, errors: dict[str, str] | None = None) -> str:
    session = db()
    return render_template(
        "admin_webhooks.html", hooks=webhooks.all_hooks(session), alert_names=ALERT_NAMES,
        events_of=webhooks.events_of, masked_url=webhooks.masked_url,
        log=webhooks.delivery_log(session, limit=LOG_LENGTH),
        form=form or {"events": list(ALERT_NAMES), "active": True}, errors=errors or {},
    )


@bp.get("")
@access.allow(Role.ADMIN)
def index() -> str:
    webhooks.seed_from_settings(engine(), settings())
    return _page()


@bp.post("")
@access.allow(Role.ADMIN)
def create() -> ResponseReturnValue:
    session = db()
    username, role = actor()
    form = _form()
    try:
        webhooks.create_hook(session, str(form["url"]), request.form.get("secret", ""), request.form.getlist("events"),
                             active=True, actor=username, role=role)
    except webhooks.WebhookError as error:
        session.rollback()
        return _page(form, {error.field or FORM_ERROR: webhook_error(error)}), 422
    session.commit()
    flash(_("Webhook saved."), "success")
    return redirect(url_for("webhooks.index"), 303)


def _edit_page(hook: Webhook, form: dict[str, object] | None = None, errors: dict[str, str] | None = None) -> str:
    return render_template(
        "admin_webhook.html", hook=hook, alert_names=ALERT_NAMES,
        form=form or {"url": webhooks.masked_url(hook.url), "events": webhooks.events_of(hook), "active": hook.active},
        errors=errors or {}, log=webhooks.delivery_log(db(), limit=LOG_LENGTH, hook_id=hook.id),
        masked_url=webhooks.masked_url,
    )


def _hook_or_404(hook_id: int) -> Webhook | None:
    return db().get(Webhook, hook_id)


@bp.get("/<int:hook_id>")
@access.allow(Role.ADMIN)
def edit(hook_id: int) -> ResponseReturnValue:
    hook = _hook_or_404(hook_id)
    if hook is None:
        return render_template("error.html", code=404), 404
    return _edit_page(hook)


# Not POST on the edit page's own URL: Werkzeug answers a POST there with an id beyond MAX_ID
# (which no <int> matches) 405 instead of 404, because the GET rule of the same path exists.
@bp.post("/<int:hook_id>/edit")
@access.allow(Role.ADMIN)
def update(hook_id: int) -> ResponseReturnValue:
    session = db()
    hook = _hook_or_404(hook_id)
    if hook is None:
        return render_template("error.html", code=404), 404
    username, role = actor()
    form = _form()
    # The page shows the URL with its password masked: sent back unchanged, it keeps the stored one.
    url = hook.url if form["url"] == webhooks.masked_url(hook.url) else str(form["url"])
    try:
        webhooks.update_hook(session, hook_id, url, request.form.get("secret", ""),
                             request.form.getlist("events"), active=bool(form["active"]), actor=username, role=role)
    except webhooks.WebhookError as error:
        session.rollback()
        return _edit_page(session.get(Webhook, hook_id) or hook, form,
                          {error.field or FORM_ERROR: webhook_error(error)}), 422
    session.commit()
    flash(_("Webhook saved."), "success")
    return redirect(url_for("webhooks.index"), 303)


@bp.post("/<int:hook_id>/delete")
@access.allow(Role.ADMIN)
def delete(hook_id: int) -> ResponseReturnValue:
    username, role = actor()
    deleted = commit_or_flash(
        lambda session: webhooks.delete_hook(session, hook_id, actor=username, role=role),
        webhooks.WebhookError, webhook_error,
    )
    if deleted is not None:
        flash(_("Webhook deleted, with its delivery log."), "success")
    return redirect(url_for("webhooks.index"), 303)


@bp.post("/<int:hook_id>/test")
@access.allow(Role.ADMIN)
def send_test(hook_id: int) -> ResponseReturnValue:
    username, _role = actor()
    queued = commit_or_flash(
        lambda session: outbox.queue_test(session, webhooks.get_hook(session, hook_id), actor=username),
        webhooks.WebhookError, webhook_error,
    )
    if queued is not None:
        flash(_("A test alert is queued; the delivery log shows how it went."), "success")
    return redirect(url_for("webhooks.index"), 303)
