"""The legal hold on an event's page: what holds its evidence, the auditor's forms to hold and
release it, and whether the recordings around the entry are being kept.

The event page includes ``_event_hold.html``, which asks ``hold_panel(event)`` (a template
global set here) for what to show, so the event's own view needs to know nothing of holds.
Holding and releasing are the auditor's (``access.PERMISSIONS["evidence.hold"]``), like
``POST /api/v1/events/{id}/hold`` and ``/release``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gatewatch.evidence import holds
from gatewatch.models.enums import OPEN_STATUSES
from gatewatch.models.tables import EntryEvent, EvidenceHold, RecordingSegment
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db
from gatewatch.web.transaction import commit_or_flash

bp = Blueprint("holds", __name__)
HOLDERS = access.PERMISSIONS["evidence.hold"]


@dataclass(frozen=True)
class HoldPanel:
    """What the event page shows about the hold and the recordings around the entry."""

    hold: EvidenceHold | None
    segments: Sequence[RecordingSegment]  # on disk, spanning the entry
    open: bool  # still waits for a person's decision

    @property
    def recordings_kept(self) -> bool:
        """Retention keeps the segments spanning the entry: it is open or held."""
        return bool(self.segments) and (self.open or self.hold is not None)


def hold_panel(event: EntryEvent) -> HoldPanel:
    session = db()
    assert event.id is not None
    return HoldPanel(
        hold=holds.active_hold(session, event.id),
        segments=holds.segments_around(session, event.camera_id, event.occurred_at),
        open=event.status in OPEN_STATUSES,
    )


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"hold_panel": hold_panel}


def hold_error(error: holds.HoldError) -> str:
    """Why a hold or a release was refused, in the reader's language."""
    if isinstance(error, holds.AlreadyHeld):
        return _("This entry's evidence is already held: release the hold first to hold it for another reason.")
    if isinstance(error, holds.NotHeld):
        return _("This entry's evidence is not held (any more).")
    if isinstance(error, holds.HoldEventNotFound):
        return _("There is no such entry.")
    if isinstance(error, holds.ReasonRequired):
        return _("Give the reason why the evidence must be kept.")
    if isinstance(error, holds.InvalidReason):
        return _("Give a reason of at most %(count)d characters.", count=holds.MAX_REASON_LENGTH)
    return str(error)


def _change(event_id: int, change: Callable[[Any], object], done: str) -> ResponseReturnValue:
    if db().get(EntryEvent, event_id) is None:
        abort(404)
    if commit_or_flash(change, holds.HoldError, hold_error) is not None:
        flash(done, "success")
    return redirect(url_for("events.detail", event_id=event_id) + "#hold", 303)


@bp.post("/events/<int:event_id>/hold")
@access.allow(HOLDERS)
def place(event_id: int) -> ResponseReturnValue:
    """An auditor holds the entry's evidence, for the reason given."""
    username, role = actor()
    reason = request.form.get("reason", "")
    return _change(event_id, lambda session: holds.place_hold(session, event_id, reason, actor=username, role=role),
                   _("The evidence is held until an auditor releases it."))


@bp.post("/events/<int:event_id>/release")
@access.allow(HOLDERS)
def release(event_id: int) -> ResponseReturnValue:
    """An auditor releases the hold: retention treats the evidence like any other from now on."""
    username, role = actor()
    reason = request.form.get("reason", "")
    return _change(
        event_id,
        lambda session: holds.release_holds(session, event_id, actor=username, role=role, reason=reason),
        _("Hold released: the evidence follows the retention period again."),
    )
