"""Events under /api/v1/events: the queue's list and filters, one event, reviews of it, and the
legal hold on its evidence (auditors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request, url_for
from pydantic import ValidationError

from gatewatch.events import reviews
from gatewatch.events.queries import STATUS_FILTERS, EventFilter, find_events, queue_state
from gatewatch.events.reviews import DECISIONS, Decision
from gatewatch.evidence import holds
from gatewatch.models.enums import FlagReason
from gatewatch.models.filters import MAX_PAGE_SIZE
from gatewatch.models.tables import EntryEvent
from gatewatch.web import access
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import (
    CAMERA,
    DATE,
    NotFound,
    bp,
    error,
    json_body,
    json_response,
)
from gatewatch.web.api.docs import Operation, Param, documented
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.navigation import int_arg
from gatewatch.web.validation import field_errors
from gatewatch.web.views.events import decision_error
from gatewatch.web.views.holds import hold_error

#: The last page the list serves: beyond it the offset would be more than the database holds.
MAX_PAGE = 1_000_000
EVENT_QUERY = (
    CAMERA,
    Param("reason", {"type": "string", "enum": [r.value for r in FlagReason]}, "only this flag reason"),
    Param(
        "status",
        {"type": "string", "enum": list(STATUS_FILTERS), "default": "open"},
        "open (flagged or acknowledged), flagged_ever, any, or one status",
    ),
    Param("date", DATE, "only this day at the site, YYYY-MM-DD, 2000-01-01 to 2999-12-31"),
    Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "page number"),
    Param(
        "size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50}, "events per page"
    ),
)


def _event_out(event: EntryEvent, model: type[schemas.EventOut] = schemas.EventOut, **extra: Any) -> Any:
    urls = {
        "snapshot_url": url_for("evidence.snapshot", event_id=event.id) if event.snapshot_path else None,
        "clip_url": url_for("evidence.clip", event_id=event.id) if event.clip_path else None,
        "plate_url": url_for("evidence.plate", event_id=event.id) if event.plate_crop_path else None,
    }
    passage = {"passage_id": event.passage_id or event.id}
    return model.model_validate({**event.model_dump(), **urls, **passage, **extra})


@bp.get("/events")
@access.allow(access.EVERYONE)
@documented(
    Operation(
        "Entry and exit events, newest first, filtered like the flagged queue",
        schemas.EventPageOut,
        query=EVENT_QUERY,
        errors=(400,),
    )
)
def list_events() -> Response:
    event_filter = EventFilter.parse(request.args)  # a FilterError answers 400 naming the field
    page = find_events(
        db(),
        event_filter,
        settings().zone,
        page=int_arg("page", 1, 1, MAX_PAGE, strict=True),
        size=int_arg("size", 50, 1, MAX_PAGE_SIZE, strict=True),
    )
    return json_response(
        schemas.EventPageOut(
            items=[_event_out(e) for e in page.rows],
            page=page.number,
            size=page.size,
            total=page.total,
            total_is_capped=page.total_is_capped,
        )
    )


@bp.get("/events/queue-state")
@access.allow(access.EVERYONE)
@documented(
    Operation(
        "The newest open event and how many are open: poll this to learn the queue changed",
        schemas.QueueStateOut,
    )
)
def events_queue_state() -> Response:
    state = queue_state(db())
    return json_response(
        schemas.QueueStateOut(newest_open_id=state.newest_open_id, open_count=state.open_count)
    )


def _event_or_404(event_id: int) -> EntryEvent:
    event = db().get(EntryEvent, event_id)
    if event is None:
        raise NotFound(f"there is no event #{event_id}")
    return event


@bp.get("/events/<int:event_id>")
@access.allow(access.EVERYONE)
@documented(Operation("One event with its review history", schemas.EventDetailOut, errors=(404,)))
def event_detail(event_id: int) -> Response:
    event = _event_or_404(event_id)
    history = [schemas.ReviewOut.model_validate(r) for r in reviews.history(db(), event_id)]
    hold = holds.active_hold(db(), event_id)
    return json_response(_event_out(event, schemas.EventDetailOut, reviews=history,
                                    hold=schemas.EventHoldOut.model_validate(hold) if hold else None))


_REVIEW_STATUS = {reviews.TransitionRefused: 409, reviews.EventNotFound: 404}
_REVIEW_FIELD = {
    reviews.NoteRequired: "note",
    reviews.VisitNotFound: "visit_id",
    reviews.VisitDoesNotCover: "visit_id",
}


#: The body each decision documents: what it requires beyond the shared ``ReviewIn``.
_REVIEW_BODY: dict[Decision, type[schemas.ReviewIn]] = {
    **{d: schemas.NoteReviewIn for d, rule in DECISIONS.items() if rule.note_required},
    Decision.LINK: schemas.LinkReviewIn,
}


def _review_view(decision: Decision) -> Callable[[int], Response]:
    def review(event_id: int) -> Response:
        try:
            body = schemas.ReviewIn.model_validate(json_body())
        except ValidationError as problem:
            return error(422, "invalid review", field_errors(problem))
        session = db()
        username, role = actor()
        try:
            row = reviews.decide(
                session, event_id, decision, actor=username, role=role, note=body.note,
                visit_id=body.visit_id, settings=settings(),
            )[0]
        except reviews.ReviewError as problem:
            session.rollback()
            event = session.get(EntryEvent, event_id)
            message = decision_error(problem, event.status if event else "")
            status = _REVIEW_STATUS.get(type(problem), 422)
            field = _REVIEW_FIELD.get(type(problem), "note")
            return error(status, message, {field: message} if status == 422 else None)
        session.commit()
        return json_response(schemas.ReviewOut.model_validate(row), 201)

    review.__name__ = f"review_{decision.value}"
    operation = Operation(
        f"Review the event: {decision.value.replace('_', ' ')}"
        + ("" if DECISIONS[decision].to_status is None else "; applies to every open member of its passage"),
        schemas.ReviewOut,
        status=201,
        body=_REVIEW_BODY.get(decision, schemas.ReviewIn),
        body_required=decision in _REVIEW_BODY,
        errors=(400, 404, 409, 422),
        checked=("visit_id",) if decision is Decision.LINK else (),
    )
    return access.allow(DECISIONS[decision].roles)(documented(operation)(review))


for _decision in Decision:
    bp.add_url_rule(
        f"/events/<int:event_id>/reviews/{_decision.slug}",
        view_func=_review_view(_decision),
        methods=["POST"],
    )


_HOLD_STATUS = {holds.HoldEventNotFound: 404, holds.AlreadyHeld: 409, holds.NotHeld: 409}


def _hold_change(change: Callable[[], list[Any]], status: int) -> Response:
    """Run a hold or release in the request's session: the hold as JSON, or the refusal."""
    session = db()
    try:
        hold = change()[0]
    except holds.HoldError as problem:
        session.rollback()
        code = _HOLD_STATUS.get(type(problem), 422)
        message = hold_error(problem)
        return error(code, message, {"reason": message} if code == 422 else None)
    session.commit()
    return json_response(schemas.HoldOut.model_validate(hold), status)


@bp.post("/events/<int:event_id>/hold")
@access.allow(access.PERMISSIONS["evidence.hold"])
@documented(Operation(
    "Hold the event's evidence: retention keeps it, and the recordings and visit around it, until released",
    schemas.HoldOut, status=201, body=schemas.HoldIn, errors=(400, 404, 409, 422),
))
def hold_event(event_id: int) -> Response:
    try:
        body = schemas.HoldIn.model_validate(json_body())
    except ValidationError as problem:
        return error(422, "invalid hold", field_errors(problem))
    username, role = actor()
    return _hold_change(
        lambda: [holds.place_hold(db(), event_id, body.reason, actor=username, role=role)], 201)


@bp.post("/events/<int:event_id>/release")
@access.allow(access.PERMISSIONS["evidence.hold"])
@documented(Operation(
    "Release the event's hold: its evidence follows retention again", schemas.HoldOut,
    body=schemas.ReleaseIn, body_required=False, errors=(400, 404, 409, 422),
))
def release_event(event_id: int) -> Response:
    try:
        body = schemas.ReleaseIn.model_validate(json_body())
    except ValidationError as problem:
        return error(422, "invalid release", field_errors(problem))
    username, role = actor()
    return _hold_change(
        lambda: holds.release_holds(db(), event_id, actor=username, role=role, reason=body.reason), 200)
