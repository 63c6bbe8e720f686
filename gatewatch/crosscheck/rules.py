"""The cross-check rules: does a visit or a standing authorisation explain an entry?

Pure functions of plain facts, no database: ``service.py`` gathers the facts, ``judge`` decides.

Choices the rules make:

* A visit explains an entry before an authorisation does: a visit names a person, so the
  reviewer learns more from it. Among covering visits the one checked in closest to the entry
  wins (tie: lowest id); among covering authorisations the lowest id wins.
* An entry outside the gate's operating hours is flagged ``after_hours`` even when a visit or
  authorisation covers it, and the verdict still names what covers it, so the reviewer sees who
  it probably was. Such a linked entry counts against that visit's or authorisation's capacity
  like any other linked entry: the people did come in, whatever the hour.
* When nothing covers an entry, the reason is ``over_party_size`` if some visit or
  authorisation could have but is used up, else ``checked_out`` if a visit could have but had
  checked out, else ``unregistered``.
* An authorisation whose limit for the entry's kind is 0 (``max_vehicles=0`` for a car) does not
  cover that kind at all, like a visit without a vehicle; it is not "used up".
* A vehicle whose plate was read is covered only by a visit registering that plate
  (``plates_match``: tolerant of the reader's O/0, I/1, B/8 confusions); authorisations name no
  plates and cover it as before. When nothing covers it and a visit in the window registers a
  vehicle under another plate (or none), the reason is ``unknown_plate``, not ``unregistered``.
  A vehicle whose plate could not be read is matched as before, by any visit with a vehicle:
  an unread plate is never a mismatch.
* A read plate on the watch list is flagged ``watchlist`` whatever else holds, even after hours
  or covered by a visit. The verdict then links nothing (a person decides), but its detail
  names what would have covered the entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Literal, TypeVar

from gatewatch.models.enums import EventStatus, FlagReason
from gatewatch.plates import key_matches, match_key

EntryKind = Literal["person", "vehicle"]
PERSON: EntryKind = "person"
VEHICLE: EntryKind = "vehicle"


@dataclass(frozen=True, slots=True)
class EntryFacts:
    occurred_at: datetime  # aware, UTC
    kind: EntryKind
    camera_id: str
    within_hours: bool
    plate: str | None = None  # a vehicle's plate as read (or corrected); None when not read
    plate_unreadable: bool = False  # the reader looked and could not read it


@dataclass(frozen=True, slots=True)
class VisitFacts:
    id: int
    visitor_name: str
    check_in_at: datetime
    checked_out_at: datetime | None
    party_size: int
    has_vehicle: bool
    camera_id: str | None  # None: any gate
    used_persons: int = 0  # entries already linked to it, not counting the one judged
    used_vehicles: int = 0
    vehicle_plate: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorisationFacts:
    id: int
    holder: str
    valid_from: datetime
    valid_until: datetime
    max_persons: int
    max_vehicles: int
    camera_id: str | None  # None: any gate
    used_persons: int = 0
    used_vehicles: int = 0


@dataclass(frozen=True, slots=True)
class WatchlistFacts:
    id: int
    plate: str
    reason: str


_Candidate = TypeVar("_Candidate", VisitFacts, AuthorisationFacts)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: EventStatus  # EXPLAINED or FLAGGED
    reason: FlagReason | None
    visit_id: int | None
    authorisation_id: int | None
    detail: str  # a headline, then one line per visit or authorisation considered


class _Fit(Enum):
    COVERS = "covers"
    FULL = "full"  # could cover it, but its capacity is used up
    CHECKED_OUT = "checked_out"  # could cover it, but had checked out by then
    OTHER_PLATE = "other_plate"  # registers a vehicle, but not the plate read
    NO_MATCH = "no_match"  # other gate, outside the window or validity, or not this kind


@dataclass(frozen=True, slots=True)
class _Assessment:
    fit: _Fit
    note: str


def _clock(moment: datetime, reference: datetime) -> str:
    """UTC time of day, with the date when it is not the reference's date."""
    moment, reference = moment.astimezone(UTC), reference.astimezone(UTC)
    pattern = "%H:%M UTC" if moment.date() == reference.date() else "%Y-%m-%d %H:%M UTC"
    return moment.strftime(pattern)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _visit_label(visit: VisitFacts) -> str:
    return f"visit #{visit.id} ({visit.visitor_name})"


def _authorisation_label(authorisation: AuthorisationFacts) -> str:
    return f"authorisation #{authorisation.id} ({authorisation.holder})"


def _other_gate(label: str, camera_id: str | None, entry: EntryFacts) -> _Assessment | None:
    if camera_id is None or camera_id == entry.camera_id:
        return None
    return _Assessment(_Fit.NO_MATCH, f"{label}: registered for camera {camera_id}, not {entry.camera_id}")


def _capacity(label: str, used: int, capacity: int, limit: str, covers: str) -> _Assessment:
    if used >= capacity:
        return _Assessment(_Fit.FULL, f"{label}: {limit} already used by {_plural(used, 'entry', 'entries')}")
    return _Assessment(_Fit.COVERS, f"{label}: {covers}")


def _read_key(entry: EntryFacts) -> str | None:
    """The ``match_key`` of a vehicle's read plate, worked out once per judgement; None when none was read."""
    return match_key(entry.plate) if entry.kind == VEHICLE and entry.plate else None


def _assess_visit(
    entry: EntryFacts, read_key: str | None, visit: VisitFacts, window: tuple[datetime, datetime]
) -> _Assessment:
    label = _visit_label(visit)
    t = entry.occurred_at
    check_in = _clock(visit.check_in_at, t)
    if other_gate := _other_gate(label, visit.camera_id, entry):
        return other_gate
    if not window[0] <= visit.check_in_at <= window[1]:
        span = f"{_clock(window[0], t)} to {_clock(window[1], t)}"
        return _Assessment(_Fit.NO_MATCH, f"{label}: checked in at {check_in}, outside the window {span}")
    if entry.kind == VEHICLE and not visit.has_vehicle:
        return _Assessment(_Fit.NO_MATCH, f"{label}: no vehicle registered")
    # A visit naming no plate is not the vehicle whose plate was read.
    if read_key is not None and not key_matches(read_key, visit.vehicle_plate):
        registered = f"plate {visit.vehicle_plate}" if visit.vehicle_plate else "a vehicle without a plate"
        return _Assessment(_Fit.OTHER_PLATE, f"{label}: registered {registered}, not {entry.plate}")
    if visit.checked_out_at is not None and visit.checked_out_at <= t:
        return _Assessment(
            _Fit.CHECKED_OUT, f"{label}: checked out at {_clock(visit.checked_out_at, t)}, before the entry"
        )
    covers = f"checked in at {check_in}, covers the entry"
    if entry.kind == PERSON:
        return _capacity(label, visit.used_persons, visit.party_size, f"party of {visit.party_size}", covers)
    return _capacity(label, visit.used_vehicles, 1, "its one vehicle", covers)


def _assess_authorisation(entry: EntryFacts, authorisation: AuthorisationFacts) -> _Assessment:
    label = _authorisation_label(authorisation)
    t = entry.occurred_at
    if other_gate := _other_gate(label, authorisation.camera_id, entry):
        return other_gate
    validity = f"valid {_clock(authorisation.valid_from, t)} to {_clock(authorisation.valid_until, t)}"
    if not authorisation.valid_from <= t <= authorisation.valid_until:
        return _Assessment(_Fit.NO_MATCH, f"{label}: {validity}, not at the entry")
    if entry.kind == PERSON:
        used, capacity = authorisation.used_persons, authorisation.max_persons
    else:
        used, capacity = authorisation.used_vehicles, authorisation.max_vehicles
    if capacity == 0:
        return _Assessment(_Fit.NO_MATCH, f"{label}: allows no {entry.kind}s")
    limit = f"up to {_plural(capacity, entry.kind, entry.kind + 's')}"
    return _capacity(label, used, capacity, limit, f"{validity}, covers the entry")


def _first_covering(
    candidates: Sequence[_Candidate], assessments: Sequence[_Assessment]
) -> _Candidate | None:
    return next((c for c, a in zip(candidates, assessments, strict=True) if a.fit is _Fit.COVERS), None)


def _reason(entry: EntryFacts, watched: bool, covered: bool, fits: set[_Fit]) -> FlagReason | None:
    if watched:
        return FlagReason.WATCHLIST
    if not entry.within_hours:
        return FlagReason.AFTER_HOURS
    if covered:
        return None
    if _Fit.FULL in fits:
        return FlagReason.OVER_PARTY_SIZE
    if _Fit.CHECKED_OUT in fits:
        return FlagReason.CHECKED_OUT
    if _Fit.OTHER_PLATE in fits:
        return FlagReason.UNKNOWN_PLATE
    return FlagReason.UNREGISTERED


def _watched(read_key: str | None, watchlist: Sequence[WatchlistFacts]) -> list[WatchlistFacts]:
    """The active watch-list entries the read plate matches; none when no plate was read."""
    if read_key is None:
        return []
    return sorted((w for w in watchlist if key_matches(read_key, w.plate)), key=lambda w: w.id)


def _plate_note(entry: EntryFacts) -> list[str]:
    return ["plate unreadable: matched by vehicle only"] if entry.kind == VEHICLE and entry.plate_unreadable else []


def _would_cover(cover: str | None) -> str:
    return f"{cover} would cover it" if cover else "no visit or authorisation covers it"


def _headline(
    entry: EntryFacts, reason: FlagReason | None, cover: str | None, window: tuple[datetime, datetime]
) -> str:
    t = entry.occurred_at
    plate = f" with plate {entry.plate}" if entry.kind == VEHICLE and entry.plate else ""
    what = f"{entry.kind} entry{plate} at {_clock(t, t)} on camera {entry.camera_id}"
    span = f"{_clock(window[0], t)} and {_clock(window[1], t)}"
    match reason:
        case None:
            return f"{what}: explained by {cover}"
        case FlagReason.WATCHLIST:
            return f"watch list: the {what} is on the watch list; {_would_cover(cover)}"
        case FlagReason.AFTER_HOURS:
            return f"after hours: {what} is outside the gate's operating hours; {_would_cover(cover)}"
        case FlagReason.OVER_PARTY_SIZE:
            return f"over party size: no visit or authorisation that could cover the {what} has room left"
        case FlagReason.CHECKED_OUT:
            return f"checked out: the only visits that could cover the {what} had checked out before it"
        case FlagReason.UNKNOWN_PLATE:
            return (f"unknown plate: the visits checked in between {span} register other vehicles, "
                    f"and no authorisation covers the {what}")
        case _:
            return f"unregistered: no visit checked in between {span} and no authorisation covers the {what}"


def judge(
    entry: EntryFacts,
    visits: Sequence[VisitFacts],
    authorisations: Sequence[AuthorisationFacts],
    window_before: timedelta,
    window_after: timedelta,
    watchlist: Sequence[WatchlistFacts] = (),
) -> Verdict:
    """Explain ``entry`` by one of ``visits`` or ``authorisations``, or flag it with a reason.

    A visit covers an entry at t when it was checked in within [t - window_before,
    t + window_after] at this gate (or any gate), had not checked out at or before t, brings
    the entry's kind (a vehicle entry needs a visit with a vehicle, with the plate read when
    one was) and has capacity left: fewer linked person entries than its party size, or no
    linked vehicle entry yet. ``watchlist`` holds the active watch-list entries.
    """
    t = entry.occurred_at
    window = (t - window_before, t + window_after)
    ranked_visits = sorted(visits, key=lambda visit: (abs(visit.check_in_at - t), visit.id))
    ranked_authorisations = sorted(authorisations, key=lambda authorisation: authorisation.id)
    read_key = _read_key(entry)
    visit_fits = [_assess_visit(entry, read_key, visit, window) for visit in ranked_visits]
    authorisation_fits = [_assess_authorisation(entry, a) for a in ranked_authorisations]
    visit = _first_covering(ranked_visits, visit_fits)
    authorisation = None if visit else _first_covering(ranked_authorisations, authorisation_fits)
    cover = _visit_label(visit) if visit else _authorisation_label(authorisation) if authorisation else None
    assessments = visit_fits + authorisation_fits
    watched = _watched(read_key, watchlist)
    reason = _reason(entry, bool(watched), cover is not None, {a.fit for a in assessments})
    notes = [f"watch list entry #{w.id} ({w.plate}): {w.reason}" for w in watched]
    return Verdict(
        status=EventStatus.EXPLAINED if reason is None else EventStatus.FLAGGED,
        reason=reason,
        visit_id=visit.id if visit and not watched else None,
        authorisation_id=authorisation.id if authorisation and not watched else None,
        detail="\n".join([_headline(entry, reason, cover, window), *notes, *_plate_note(entry),
                          *(a.note for a in assessments)]),
    )
