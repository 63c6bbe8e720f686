"""The visitor log under /api/v1/visits: look-up, registration, check-out and the auditor's reveal of a NIK.

NIKs are answered as the caller may see them (``visitors.nik_display``): in full to guards and
admins, masked to others, who match a NIK in ``q`` only whole.
"""

from __future__ import annotations

from flask import Response, request
from pydantic import ValidationError

from gatewatch.models.enums import Role
from gatewatch.models.filters import MAX_PAGE_SIZE
from gatewatch.models.tables import Visit
from gatewatch.visitors import reveal, visits
from gatewatch.visitors.visits import CheckOutInput, VisitInput
from gatewatch.web import access
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import DATE, TEXT, NotFound, bp, day_arg, error, json_body, json_response
from gatewatch.web.api.docs import Operation, Param, documented
from gatewatch.web.api.reveals import revealed
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import visit_error
from gatewatch.web.navigation import MAX_INT_ARG, int_arg
from gatewatch.web.registration import register
from gatewatch.web.validation import field_errors
from gatewatch.web.views.nik import REVEALERS, reader_sees_full_nik, shown_nik

VISIT_QUERY = (
    Param("date", DATE, "only visits checked in on this day at the site, YYYY-MM-DD, 2000-01-01 to 2999-12-31"),
    Param("q", TEXT, "part of the name, organisation, host or purpose, or of the NIK (for guards and admins; "
          "other roles match a NIK only whole). Your own logs keep the URLs you send, NIKs included"),
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
        whole_nik=not reader_sees_full_nik(),
    )
    return json_response(schemas.VisitListOut(items=[visit_out(v) for v in rows]))


def visit_out(visit: Visit, model: type[schemas.VisitOut] = schemas.VisitOut, **extra: object) -> schemas.VisitOut:
    """A visit as the caller may see it: its NIK masked unless the caller is a guard or an admin."""
    return model.model_validate({**visit.model_dump(), **extra, "id_number": shown_nik(visit.id_number)})


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
    out = visit_out(registration.visit, schemas.VisitCreatedOut,
                    explained_event_ids=[e.id for e in registration.explained],
                    watchlist=[{"entry_id": w.id, "reason": w.reason} for w in registration.watched])
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
    return json_response(visit_out(visit))


@bp.post("/visits/<int:visit_id>/reveal")
@access.allow(REVEALERS)
@documented(
    Operation(
        'Reveal a visit\'s NIK in full, with {"reason"}: for auditors, who see NIKs masked. Recorded in the '
        "audit trail (visit.revealed: who, which visit, the reason; the NIK masked)",
        schemas.RevealOut,
        body=schemas.RevealIn,
        errors=(400, 404, 422),
    )
)
def reveal_nik(visit_id: int) -> Response:
    visit = revealed(lambda session, reason, username, role: reveal.reveal_nik(
        session, visit_id, reason, actor=username, role=role), visits.VisitNotFound, f"there is no visit #{visit_id}")
    if isinstance(visit, Response):
        return visit
    return json_response(schemas.RevealOut(visit_id=visit_id, visitor_name=visit.visitor_name,
                                           id_number=visit.id_number))
