"""Standing authorisations: staff on duty, a carrier's scheduled deliveries, kept by admins.

An authorisation lets up to so many people and vehicles in through a gate (or any gate) on the
site dates, ISO weekdays and daily hours it names (``crosscheck.schedule``), instead of a visit
each time. Admins add and end them; everyone reads them, and the guard sees the ones in force.

Adding or ending one changes what explains the entries of its days, so the open flagged
entries of its whole span are checked again. Members' NIKs are personal data: the audit trail
keeps only a masked form (``mask_nik``). Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, time, tzinfo
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.schedule import ALL_WEEKDAYS, Schedule, format_weekdays, parse_weekdays
from gatewatch.crosscheck.service import in_force, plates_of, recheck_open_events, schedule_of, weekdays_of
from gatewatch.models.tables import Authorisation
from gatewatch.models.types import utcnow
from gatewatch.plates import normalise_plate
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from gatewatch.visitors.visits import (
    UnknownCamera,
    VisitLogError,
    _Blank,
    _camera_ids,
    _check_camera,
    _LogInput,
    validate_nik,
)

__all__ = [
    "AlreadyEnded",
    "AuthorisationError",
    "AuthorisationInput",
    "AuthorisationNotFound",
    "MemberInput",
    "UnknownCamera",
    "active_authorisations",
    "add_authorisation",
    "clock_text",
    "end_authorisation",
    "in_force",
    "list_authorisations",
    "mask_nik",
    "members_of",
    "parse_member",
    "plates_of",
    "schedule_of",
    "weekdays_of",
]

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
#: The dates an authorisation may name: a typo such as 0226 or 9999 is refused, not stored.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2999, 12, 31)


class AuthorisationError(VisitLogError):
    """An authorisation cannot be changed so; the message says why."""


class AuthorisationNotFound(AuthorisationError):
    pass


class AlreadyEnded(AuthorisationError):
    pass


# --- input -----------------------------------------------------------------------------------


def _clock(value: Any) -> Any:
    """"HH:MM" as a time; a time stays as it is."""
    if not isinstance(value, str):
        return value
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        raise PydanticCustomError("clock", "{text} is not a time of day HH:MM such as 08:00 or 16:30", {"text": repr(value)})
    return time(int(match.group(1)), int(match.group(2)))


def _weekday_list(value: Any) -> Any:
    """"1-5" or "1,3,5" (a form, the command line) as weekday numbers; a list stays as it is."""
    return parse_weekdays(value) if isinstance(value, str) else value


def _sorted_days(days: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(set(days)))


_Clock = Annotated[time | None, _Blank, BeforeValidator(_clock)]
_Weekday = Annotated[int, Field(ge=1, le=7)]
_Plate = Annotated[str, AfterValidator(normalise_plate)]


class MemberInput(BaseModel):
    """A person named on an authorisation, identified by their NIK."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    id_number: Annotated[str, AfterValidator(validate_nik)]


class AuthorisationInput(_LogInput):
    """A standing authorisation as an admin enters it: who, how many, which gate, which days and hours.

    Dates are site dates, both included; ``weekdays`` are ISO (1 Monday .. 7 Sunday); times are
    "HH:MM" at the site, both or neither (neither: all day), an end before the start spanning
    midnight.
    """

    holder: str = Field(min_length=1, max_length=200, description="who it is for: a unit, a person, a carrier")
    members: list[MemberInput] = Field(default_factory=list, max_length=500)
    max_persons: int = Field(0, ge=0, le=10_000, description="people it lets in at once")
    max_vehicles: int = Field(0, ge=0, le=10_000, validate_default=True, description="vehicles it lets in at once")
    plates: list[_Plate] = Field(default_factory=list, max_length=200, description="[] names no plate")
    valid_from: date = Field(ge=FIRST_DATE, le=LAST_DATE, description="first site date, YYYY-MM-DD")
    valid_until: date = Field(ge=FIRST_DATE, le=LAST_DATE, description="last site date, YYYY-MM-DD, included")
    weekdays: Annotated[
        tuple[_Weekday, ...], BeforeValidator(_weekday_list), AfterValidator(_sorted_days)
    ] = Field(ALL_WEEKDAYS, min_length=1, description="ISO weekdays, 1 Monday .. 7 Sunday")
    start_time: _Clock = Field(None, description='"HH:MM" site time; null with end_time: all day')
    end_time: _Clock = Field(None, validate_default=True, description='"HH:MM"; before start_time: ends the next day')

    @field_validator("max_vehicles")
    @classmethod
    def _lets_someone_in(cls, value: int, info: ValidationInfo) -> int:
        if value == 0 and info.data.get("max_persons") == 0:
            raise PydanticCustomError(
                "covers_nothing", "max_persons and max_vehicles are both 0: the authorisation would cover nothing"
            )
        return value

    @field_validator("valid_until")
    @classmethod
    def _not_before_start(cls, value: date, info: ValidationInfo) -> date:
        first = info.data.get("valid_from")
        if first is not None and value < first:
            raise PydanticCustomError(
                "until_before_from", "valid_until ({until}) is before valid_from ({first})",
                {"until": str(value), "first": str(first)},
            )
        return value

    @field_validator("end_time")
    @classmethod
    def _hours_together(cls, value: time | None, info: ValidationInfo) -> time | None:
        if "start_time" not in info.data:  # start_time itself was invalid and says so
            return value
        start = info.data["start_time"]
        if (start is None) != (value is None):
            raise PydanticCustomError(
                "hours_pair", "start_time and end_time go together: give both, or neither for all day"
            )
        if start is not None and start == value:
            raise PydanticCustomError(
                "hours_equal", "end_time equals start_time: a shift needs a length (neither time means all day)"
            )
        return value

    def schedule(self) -> Schedule:
        return Schedule(self.valid_from, self.valid_until, self.weekdays, self.start_time, self.end_time)


def parse_member(text: str) -> dict[str, str]:
    """ "NAME:NIK" (the command line's ``--member``, a line of the page's form) as a member's fields."""
    name, separator, nik = text.rpartition(":")
    if not separator or not name.strip() or not nik.strip():
        raise ValueError(f"{text!r} is not NAME:NIK, such as 'Budi Santoso:3174051203850001'")
    return {"name": name.strip(), "id_number": nik.strip()}


# --- reading the stored row ------------------------------------------------------------------


def mask_nik(nik: str) -> str:
    """The NIK masked as everywhere else (``nik_display.masked_nik``): ``1671 **** **** 0005``."""
    return masked_nik(nik)


def members_of(authorisation: Authorisation, *, masked: bool = False) -> list[dict[str, str]]:
    """The members as {"name", "id_number"}; ``masked`` hides their NIKs but the first and last four digits."""
    members = json.loads(authorisation.members or "[]")
    if masked:
        return [{**member, "id_number": mask_nik(member["id_number"])} for member in members]
    return members


def clock_text(value: time | None) -> str | None:
    """A stored start or end time as "HH:MM", as it is entered."""
    return None if value is None else value.strftime("%H:%M")


def _audit_values(authorisation: Authorisation) -> dict[str, Any]:
    """The row for the audit trail: members' NIKs masked, lists as lists, times as "HH:MM"."""
    values = trail.row_values(authorisation)
    values["members"] = members_of(authorisation, masked=True)
    values["plates"] = plates_of(authorisation)
    values.update(start_time=clock_text(authorisation.start_time), end_time=clock_text(authorisation.end_time))
    return values


# --- changes ---------------------------------------------------------------------------------


def _recheck(session: Session, settings: Settings, authorisation: Authorisation) -> None:
    """Judge again the open entries of every shift the authorisation could have."""
    since, until = schedule_of(authorisation).span(settings.zone)
    recheck_open_events(session, settings, since=since, until=until)


def add_authorisation(
    session: Session, data: AuthorisationInput, *, actor: str, role: str, settings: Settings
) -> Authorisation:
    """Store an authorisation (audit ``authorisation.created``) and let it explain the open entries it covers.

    UnknownCamera when ``camera_id`` names no camera.
    """
    _check_camera(data.camera_id, _camera_ids(session))
    fields = data.model_dump(exclude={"members", "plates", "weekdays"})
    authorisation = Authorisation(
        **fields,
        members=json.dumps([member.model_dump() for member in data.members], ensure_ascii=False),
        plates=json.dumps(list(data.plates), ensure_ascii=False),
        weekdays=format_weekdays(data.weekdays),
        created_by=actor,
    )
    session.add(authorisation)
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=role,
        action="authorisation.created",
        entity=Authorisation.__tablename__,
        entity_id=authorisation.id,
        after=_audit_values(authorisation),
    )
    _recheck(session, settings, authorisation)
    return authorisation


def end_authorisation(
    session: Session,
    authorisation_id: int,
    *,
    actor: str,
    role: str,
    settings: Settings,
    at: datetime | None = None,
) -> Authorisation:
    """End an authorisation now or ``at`` (aware); audit ``authorisation.ended``. It is kept, never deleted."""
    authorisation = session.get(Authorisation, authorisation_id)
    if authorisation is None:
        raise AuthorisationNotFound(f"there is no authorisation #{authorisation_id}")
    if authorisation.ended_at is not None:
        raise AlreadyEnded(
            f"authorisation #{authorisation_id} ({authorisation.holder}) was already ended "
            f"at {authorisation.ended_at:%Y-%m-%d %H:%M} UTC by {authorisation.ended_by}"
        )
    moment = utcnow() if at is None else at
    if moment.tzinfo is None:
        raise ValueError(f"end time {moment.isoformat()} has no time zone")
    before = trail.row_values(authorisation, ["ended_at", "ended_by"])
    authorisation.ended_at, authorisation.ended_by = moment, actor
    session.flush()
    trail.record(
        session,
        actor=actor,
        role=role,
        action="authorisation.ended",
        entity=Authorisation.__tablename__,
        entity_id=authorisation_id,
        before=before,
        after=trail.row_values(authorisation, ["ended_at", "ended_by"]),
    )
    _recheck(session, settings, authorisation)
    return authorisation


# --- look-up ---------------------------------------------------------------------------------


def list_authorisations(
    session: Session, *, active_at: datetime | None = None, zone: tzinfo | None = None
) -> list[Authorisation]:
    """Every authorisation, newest first; with ``active_at`` (aware) only those in force then (``zone`` required)."""
    query = select(Authorisation).order_by(Authorisation.valid_from.desc(), Authorisation.id.desc())
    if active_at is None:
        return list(session.exec(query).all())
    if zone is None:
        raise ValueError("active_at is judged by the site's dates and hours: give the site's time zone too")
    day = active_at.astimezone(zone).date()
    # A night shift that started on the day before is still in force.
    query = query.where(
        Authorisation.valid_from <= day,
        Authorisation.valid_until >= date.fromordinal(day.toordinal() - 1),
        sa.or_(Authorisation.ended_at.is_(None), Authorisation.ended_at > active_at),
    )
    return [row for row in session.exec(query).all() if in_force(row, active_at, zone)]


def active_authorisations(session: Session, moment: datetime, zone: tzinfo) -> Sequence[Authorisation]:
    """The authorisations in force at ``moment``: what the guard at the gate should know of."""
    return list_authorisations(session, active_at=moment, zone=zone)
