"""Standing authorisations under /api/v1/authorisations: everyone reads them, admins add and end them.

Members' NIKs are shown in full to guards and admins; other roles see them masked (``nik_display``),
and an auditor reveals them with a reason (``POST /authorisations/{id}/reveal``, audited).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field

from gatewatch.models.enums import Role
from gatewatch.models.tables import Authorisation
from gatewatch.visitors import authorisations, reveal
from gatewatch.visitors.authorisations import AuthorisationInput
from gatewatch.web import access
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import NotFound, bp, error, json_body, json_response
from gatewatch.web.api.docs import Operation, Param, documented
from gatewatch.web.api.reveals import revealed
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.views.authorisations import authorisation_error, reveals_nik, save
from gatewatch.web.views.nik import REVEALERS

ACTIVE = Param("active", {"type": "boolean", "default": False}, "only those in force now")


class MemberOut(BaseModel):
    name: str
    id_number: str = Field(description='the NIK; masked ("1671 **** **** 0005") unless the caller is a guard or an admin')


class AuthorisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    holder: str
    organisation: str
    purpose: str
    members: list[MemberOut]
    max_persons: int
    max_vehicles: int
    plates: list[str] = Field(description='plates in display form, "BG 1234 AB"; [] names none')
    camera_id: str | None = Field(description="null: any gate")
    valid_from: date = Field(description="first site date")
    valid_until: date = Field(description="last site date, included")
    weekdays: list[int] = Field(description="ISO weekdays, 1 Monday .. 7 Sunday")
    start_time: str | None = Field(description='"HH:MM" site time; null: all day')
    end_time: str | None = Field(description='"HH:MM"; before start_time: the shift ends the next day')
    created_by: str
    created_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    active_now: bool = Field(description="in force at the time of the answer: on shift and not ended")


class AuthorisationListOut(BaseModel):
    items: list[AuthorisationOut]


def authorisation_out(row: Authorisation, now: datetime | None = None) -> AuthorisationOut:
    """``row`` as the API shows it to the current user."""
    moment = now or datetime.now(UTC)
    return AuthorisationOut.model_validate({
        **row.model_dump(),
        "members": authorisations.members_of(row, masked=not reveals_nik()),
        "plates": authorisations.plates_of(row),
        "weekdays": list(authorisations.weekdays_of(row)),
        "start_time": authorisations.clock_text(row.start_time),
        "end_time": authorisations.clock_text(row.end_time),
        "active_now": authorisations.in_force(row, moment, settings().zone),
    })


@bp.get("/authorisations")
@access.allow(access.EVERYONE)
@documented(Operation("Standing authorisations, the latest first", AuthorisationListOut, query=(ACTIVE,)))
def list_authorisations() -> Response:
    now = datetime.now(UTC)
    active = request.args.get("active", "").lower() in ("1", "true")
    rows = authorisations.list_authorisations(db(), active_at=now if active else None, zone=settings().zone)
    return json_response(AuthorisationListOut(items=[authorisation_out(row, now) for row in rows]))


@bp.post("/authorisations")
@access.allow(Role.ADMIN)
@documented(
    Operation(
        "Add a standing authorisation; dates and times are the site's. Re-checks the open entries it may explain",
        AuthorisationOut,
        status=201,
        body=AuthorisationInput,
        errors=(400, 422),
        checked=("camera_id", "plates", "max_vehicles", "valid_until", "weekdays", "end_time"),
    )
)
def create_authorisation() -> Response:
    saved = save(json_body(), nested=True)
    if saved.authorisation is None:
        return error(422, "invalid authorisation", saved.errors)
    return json_response(authorisation_out(saved.authorisation), 201)


@bp.post("/authorisations/<int:authorisation_id>/end")
@access.allow(Role.ADMIN)
@documented(Operation("End a standing authorisation now; it is kept", AuthorisationOut, errors=(404, 409)))
def end_authorisation(authorisation_id: int) -> Response:
    session = db()
    username, role = actor()
    try:
        row = authorisations.end_authorisation(
            session, authorisation_id, actor=username, role=role, settings=settings()
        )
    except authorisations.AuthorisationNotFound:
        raise NotFound(f"there is no authorisation #{authorisation_id}") from None
    except authorisations.AuthorisationError as problem:
        session.rollback()
        return error(409, authorisation_error(problem))
    session.commit()
    return json_response(authorisation_out(row))


class MembersRevealOut(BaseModel):
    """An authorisation's members with their NIKs in full, revealed to an auditor (authorisation.revealed)."""

    authorisation_id: int
    holder: str
    members: list[MemberOut] = Field(description="every member, the NIK in full")


@bp.post("/authorisations/<int:authorisation_id>/reveal")
@access.allow(REVEALERS)
@documented(Operation(
    'Reveal the NIKs of an authorisation\'s members in full, with {"reason"}: for auditors, who see them '
    "masked. Recorded in the audit trail (authorisation.revealed: who, which, the reason; the NIKs masked)",
    MembersRevealOut, body=schemas.RevealIn, errors=(400, 404, 422),
))
def reveal_members(authorisation_id: int) -> Response:
    row = revealed(lambda session, reason, username, role: reveal.reveal_members(
        session, authorisation_id, reason, actor=username, role=role), authorisations.AuthorisationNotFound,
        f"there is no authorisation #{authorisation_id}")
    if isinstance(row, Response):
        return row
    return json_response(MembersRevealOut(authorisation_id=authorisation_id, holder=row.holder,
                                          members=authorisations.members_of(row)))
