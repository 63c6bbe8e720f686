"""The visitor log under /api/v1/visits: look-up, registration and check-out."""

from __future__ import annotations

from flask import Response, request
from pydantic import ValidationError

from gatewatch.models.enums import Role
from gatewatch.models.filters import MAX_PAGE_SIZE
from gatewatch.models.tables import Visit
from gatewatch.visitors import visits
from gatewatch.visitors.visits import CheckOutInput, VisitInput
from gatewatch.web import access
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import DATE, TEXT, NotFound, bp, day_arg, error, json_body, json_response
from gatewatch.web.api.docs import Operation, Param, documented
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import visit_error
from gatewatch.web.navigation import MAX_INT_ARG, int_arg
from gatewatch.web.registration import register
from gatewatch.web.validation import field_errors

VISIT_QUERY = (
    Param("date", DATE, "only visits checked in on this day at the site, YYYY-MM-DD, 2000-01-01 to 2999-12-31"),
    Param("q", TEXT, "part of the name, NIK, organisation, host or purpose"),
    Param("plate", TEXT, "part of a number plate; spaces and dashes are ignored"),
    Param("open", {"type": "boolean", "default": False}, "only visits not checked out"),
    Param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 100},
        "at most this many",
    ),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_INT_ARG, "default": 0}, "skip this many"),
)


@bp.get("/visits")
@access.allow(access.EVERYONE)
@documented(
    Operation(
        "The visitor log, newest check-in first", schemas.VisitListOut, query=VISIT_QUERY, errors=(400,)
    )
)
def list_visits() -> Response:
    day = day_arg() if request.args.get("date") else None
    rows = visits.list_visits(
        db(),
        on_date=day,
        zone=settings().zone,
        search=request.args.get("q") or None,
        plate=request.args.get("plate") or None,
        open_only=request.args.get("open", "").lower() in ("1", "true"),
        limit=int_arg("limit", 100, 1, MAX_PAGE_SIZE, strict=True),
        offset=int_arg("offset", 0, 0, MAX_INT_ARG, strict=True),
    )
    return json_response(schemas.VisitListOut(items=[schemas.VisitOut.model_validate(v) for v in rows]))


@bp.post("/visits")
@access.allow(Role.GUARD)
@documented(
    Operation(
        "Register a visit; times without an offset are site time. Re-checks the open entries it may explain",
        schemas.VisitCreatedOut,
        status=201,
        body=VisitInput,
        errors=(400, 422, 503),
        checked=("camera_id", "vehicle_plate", "check_in_at", "expected_check_out_at"),
    )
)
def create_visit() -> Response:
    registration = register(json_body(), form_fields_only=False)
    if registration.busy:
        return error(503, "the database is busy (a large import may be running); nothing was saved: send it again")
    if registration.visit is None:
        return error(422, "invalid visit", registration.errors)
    out = schemas.VisitCreatedOut.model_validate(
        {**registration.visit.model_dump(), "explained_event_ids": [e.id for e in registration.explained],
         "watchlist": [{"entry_id": w.id, "reason": w.reason} for w in registration.watched]}
    )
    return json_response(out, 201)


@bp.post("/visits/<int:visit_id>/check-out")
@access.allow(Role.GUARD)
@documented(
    Operation(
        'Check a visit out, now or at the time given in {"at": ISO 8601} (without an offset: site time), '
        "for a check-out recorded late",
        schemas.VisitOut,
        body=CheckOutInput,
        body_required=False,
        errors=(400, 404, 409, 422),
        checked=("at",),
    )
)
def check_out(visit_id: int) -> Response:
    try:
        moment = CheckOutInput.parse(json_body(), settings().zone).at
    except ValidationError as problem:
        return error(422, "invalid check-out", field_errors(problem))
    session = db()
    username, role = actor()
    try:
        visit = visits.check_out(session, visit_id, actor=username, role=role, at=moment)
    except visits.VisitNotFound:
        raise NotFound(f"there is no visit #{visit_id}") from None
    except visits.InvalidCheckOutTime as problem:
        session.rollback()
        return error(422, "invalid check-out", {"at": str(problem)})
    except visits.VisitLogError as problem:
        session.rollback()
        return error(409, visit_error(problem, session.get(Visit, visit_id)))
    session.commit()
    return json_response(schemas.VisitOut.model_validate(visit))
