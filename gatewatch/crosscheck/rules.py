"""The cross-check rules: does a visit or a standing authorisation explain an entry?

Pure functions of plain facts, no database: ``service.py`` gathers the facts (among them how
many explained people and vehicles are inside, from ``presence.py``), ``judge`` decides.

Choices the rules make:

* **Capacity is presence.** A visit explains up to its party size of people, and its one vehicle
  if it has one, inside at the same time; an authorisation up to its ``max_persons`` and
  ``max_vehicles``. The camera cannot tell whose place an exit frees, so the rules count the
  explained people (or vehicles) inside as one total (``presence.py``) and assume they fill the
  covers in force that could not explain the new entry first (another gate's visit, a truck's
  authorisation for a car): a new entry is flagged when the rest of them already fill every
  cover that could explain it. On a one-gate site that is simply: flagged when the explained
  people inside fill all the places in force.
* **A visit's cover** runs from ``window_after`` before its check-in (the guard types the
  registration just after the visitor walks through) until its check-out; with none recorded,
  until its expected check-out plus the grace, or with none expected, ``default_visit_hours``
  after check-in (``cover_until``). Its first entry must come at most ``window_before`` after
  check-in; once one is linked, later entries (a party stepping out and back) are covered until
  it ends.
* **An authorisation** covers while its schedule is in force (site dates, weekdays, hours) and it
  has not been ended. One that names plates covers only vehicles whose read plate is one of them.
* A passage is judged together: its members keep to the cover an earlier member took when it
  still covers them (a motorbike and its two riders on one visit with a party of 2).
  Otherwise a visit explains an entry before an authorisation does: a visit names a person, so
  the reviewer learns more from it. Among covering visits the one checked in closest to the
  entry wins (tie: lowest id); among covering authorisations the lowest id wins.
* An entry outside the gate's operating hours is flagged ``after_hours`` even when a visit or
  authorisation covers it, and the verdict still links what covers it: the people did come in,
  so they take its places like any other linked entry.
* When nothing covers an entry, the reason is ``over_party_size`` if some visit or
  authorisation could have but is full, else ``checked_out`` if a visit could have but had
  checked out, else ``unknown_plate`` if a vehicle visit or authorisation names another plate,
  else ``unregistered``.
* An authorisation whose limit for the entry's kind is 0 (``max_vehicles=0`` for a car) does not
  cover that kind at all, like a visit without a vehicle; it is not "full".
* A vehicle whose plate was read is covered only by a visit registering that plate
  (``plates_match``: tolerant of the reader's O/0, I/1, B/8 confusions). A vehicle whose plate
  could not be read is matched by vehicle alone: an unread plate is never a mismatch.
* A read plate on the watch list is flagged ``watchlist`` whatever else holds, even after hours
  or covered by a visit. The verdict then links nothing (a person decides), but its items name
  what would have covered the entry. So is an entry that a visit of a person on the persons
  watch list would explain (``WatchedVisitFacts``, by visit id: no NIK in the verdict).

The verdict's detail is data (``items``, see ``wording.py``), rendered in the reader's language
where it is shown; ``detail`` is its English text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal, TypeVar

from gatewatch.crosscheck import wording
from gatewatch.models.enums import EventStatus, FlagReason
from gatewatch.plates import key_matches, match_key

EntryKind = Literal["person", "vehicle"]
PERSON: EntryKind = "person"
VEHICLE: EntryKind = "vehicle"
CoverType = Literal["visit", "authorisation"]
Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryFacts:
    occurred_at: datetime  # aware, UTC
    kind: EntryKind
    camera_id: str
    within_hours: bool
    plate: str | None = None  # a vehicle's plate as read (or corrected); None when not read
    plate_unreadable: bool = False  # the reader looked and could not read it
    passage_cover: tuple[CoverType, int] | None = None  # what an earlier member of its passage is linked to
    inside: int = 0  # explained people (or vehicles, as the entry) inside when it came, not counting it


@dataclass(frozen=True, slots=True)
class VisitFacts:
    id: int
    visitor_name: str
    check_in_at: datetime
    cover_until: datetime  # when its cover ends unless checked out earlier
    party_size: int
    has_vehicle: bool
    camera_id: str | None  # None: any gate
    checked_out_at: datetime | None = None
    first_entry_at: datetime | None = None  # its earliest linked entry before the one judged
    vehicle_plate: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorisationFacts:
    id: int
    holder: str
    in_force: bool  # its schedule holds at the entry and it was not ended by then
    max_persons: int
    max_vehicles: int
    camera_id: str | None  # None: any gate
    plates: tuple[str, ...] = ()  # () names none: any vehicle


@dataclass(frozen=True, slots=True)
class WatchlistFacts:
    id: int
    plate: str
    reason: str


@dataclass(frozen=True, slots=True)
class WatchedVisitFacts:
    """A visit whose visitor's NIK is on the persons watch list (entry ``id``); the NIK itself stays out."""

    id: int
    visit_id: int
    reason: str


_Candidate = TypeVar("_Candidate", VisitFacts, AuthorisationFacts)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: EventStatus  # EXPLAINED or FLAGGED
    reason: FlagReason | None
    visit_id: int | None
    authorisation_id: int | None
    items: list[Item]  # the headline, then watch-list entries, then one per cover considered

    @property
    def detail(self) -> str:
        """The items as English text, a line each."""
        return wording.render(self.items)


class _Fit(Enum):
    COVERS = "covers"  # could cover it, if the people inside leave it a place
    CHECKED_OUT = "checked_out"  # could cover it, but had checked out by then
    OTHER_PLATE = "other_plate"  # registers a vehicle, but not the plate read
    NO_MATCH = "no_match"  # other gate, outside its cover or schedule, or not this kind


@dataclass(frozen=True, slots=True)
class _Assessment:
    fit: _Fit
    item: Item
    places: int = 0  # of the entry's kind, while in force at the entry


def _cover(kind: CoverType, candidate: VisitFacts | AuthorisationFacts) -> Item:
    name = candidate.visitor_name if isinstance(candidate, VisitFacts) else candidate.holder
    return {"type": kind, "id": candidate.id, "name": name}


def _item(code: str, cover: Item, **numbers: Any) -> Item:
    return {"code": code, "cover": cover, **{k: _plain(v) for k, v in numbers.items()}}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _other_gate(cover: Item, camera_id: str | None, entry: EntryFacts) -> _Assessment | None:
    if camera_id is None or camera_id == entry.camera_id:
        return None
    return _Assessment(_Fit.NO_MATCH, _item("other_gate", cover, camera=camera_id, entry_camera=entry.camera_id))


def _places(cover: Item, kind: EntryKind, capacity: int) -> _Assessment:
    return _Assessment(_Fit.COVERS, _item("places", cover, kind=kind, capacity=capacity), capacity)


def _elsewhere(assessment: _Assessment, places: int) -> _Assessment:
    """``assessment`` of a cover in force that cannot explain the entry: its ``places`` hold others first."""
    return _Assessment(assessment.fit, assessment.item, places)


def _read_key(entry: EntryFacts) -> str | None:
    """The ``match_key`` of a vehicle's read plate, worked out once per judgement; None when none was read."""
    return match_key(entry.plate) if entry.kind == VEHICLE and entry.plate else None


def _assess_visit(
    entry: EntryFacts, read_key: str | None, visit: VisitFacts, before: timedelta, after: timedelta
) -> _Assessment:
    cover, t = _cover("visit", visit), entry.occurred_at
    places = visit.party_size if entry.kind == PERSON else int(visit.has_vehicle)
    if other_gate := _other_gate(cover, visit.camera_id, entry):
        return _elsewhere(other_gate, places if _visit_in_force(visit, t, after) else 0)
    if t < visit.check_in_at - after:
        return _Assessment(_Fit.NO_MATCH, _item("checked_in_later", cover, check_in=visit.check_in_at))
    if entry.kind == VEHICLE and not visit.has_vehicle:
        return _Assessment(_Fit.NO_MATCH, _item("no_vehicle", cover))
    # A visit naming no plate is not the vehicle whose plate was read.
    if read_key is not None and not key_matches(read_key, visit.vehicle_plate):
        other = _Assessment(_Fit.OTHER_PLATE, _item("other_plate", cover, registered=visit.vehicle_plate,
                                                    read=entry.plate))
        return _elsewhere(other, places if _visit_in_force(visit, t, after) else 0)
    if visit.checked_out_at is not None and visit.checked_out_at <= t:
        return _Assessment(_Fit.CHECKED_OUT, _item("checked_out", cover, checked_out=visit.checked_out_at))
    if t >= visit.cover_until:
        return _Assessment(_Fit.NO_MATCH, _item("cover_ended", cover, until=visit.cover_until))
    if visit.first_entry_at is None and t > visit.check_in_at + before:
        return _Assessment(_Fit.NO_MATCH, _item("first_entry_late", cover, check_in=visit.check_in_at,
                                                minutes=round(before.total_seconds() / 60)))
    return _places(cover, entry.kind, places)


def _visit_in_force(visit: VisitFacts, t: datetime, after: timedelta) -> bool:
    """Whether the visit's cover holds at ``t``, whatever the entry: its people may be inside."""
    ended = min(visit.cover_until, visit.checked_out_at or visit.cover_until)
    return visit.check_in_at - after <= t < ended


def _assess_authorisation(entry: EntryFacts, read_key: str | None, authorisation: AuthorisationFacts) -> _Assessment:
    cover = _cover("authorisation", authorisation)
    capacity = authorisation.max_persons if entry.kind == PERSON else authorisation.max_vehicles
    if other_gate := _other_gate(cover, authorisation.camera_id, entry):
        return _elsewhere(other_gate, capacity if authorisation.in_force else 0)
    if not authorisation.in_force:
        return _Assessment(_Fit.NO_MATCH, _item("off_duty", cover))
    if capacity == 0:
        return _Assessment(_Fit.NO_MATCH, _item("allows_none", cover, kind=entry.kind))
    if read_key is not None and authorisation.plates and not any(key_matches(read_key, p) for p in authorisation.plates):
        other = _Assessment(_Fit.OTHER_PLATE, _item("other_plate", cover, registered=", ".join(authorisation.plates),
                                                    read=entry.plate))
        return _elsewhere(other, capacity)
    return _places(cover, entry.kind, capacity)


def _room(entry: EntryFacts, assessments: Sequence[_Assessment]) -> tuple[int, int]:
    """(places of the covers that could explain the entry, how many of them are free).

    The explained people inside fill the places that could not hold this entry first.
    """
    could = sum(a.places for a in assessments if a.fit is _Fit.COVERS)
    elsewhere = sum(a.places for a in assessments if a.fit is not _Fit.COVERS)
    return could, could - max(0, entry.inside - elsewhere)


def _choose(
    entry: EntryFacts, candidates: Sequence[tuple[CoverType, _Candidate, _Assessment]]
) -> tuple[CoverType, _Candidate] | None:
    covering = [(kind, c) for kind, c, a in candidates if a.fit is _Fit.COVERS]
    same_passage = [(kind, c) for kind, c in covering if (kind, c.id) == entry.passage_cover]
    return (same_passage or covering or [None])[0]


def _reason(entry: EntryFacts, watched: bool, covered: bool, fits: set[_Fit]) -> FlagReason | None:
    if watched:
        return FlagReason.WATCHLIST
    if not entry.within_hours:
        return FlagReason.AFTER_HOURS
    if covered:
        return None
    if _Fit.COVERS in fits:  # could have, but the people inside fill it
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


def _headline(entry: EntryFacts, reason: FlagReason | None, cover: Item | None, places: int) -> Item:
    return {
        "code": reason.value if reason else "explained",
        "kind": entry.kind,
        "plate": entry.plate if entry.kind == VEHICLE else None,
        "at": entry.occurred_at.isoformat(),
        "camera": entry.camera_id,
        "cover": cover,
        "inside": entry.inside,
        "capacity": places,
    }


def judge(
    entry: EntryFacts,
    visits: Sequence[VisitFacts],
    authorisations: Sequence[AuthorisationFacts],
    window_before: timedelta,
    window_after: timedelta,
    watchlist: Sequence[WatchlistFacts] = (),
    watched_visits: Sequence[WatchedVisitFacts] = (),
) -> Verdict:
    """Explain ``entry`` by one of ``visits`` or ``authorisations``, or flag it with a reason.

    ``watchlist`` holds the active watch-list entries; ``watched_visits`` the visits whose visitor
    is on the persons watch list: an entry one of them would explain is flagged ``watchlist`` as for
    plates. The module docstring has the rules.
    """
    t = entry.occurred_at
    read_key = _read_key(entry)
    candidates: list[tuple[CoverType, Any, _Assessment]] = [
        ("visit", v, _assess_visit(entry, read_key, v, window_before, window_after))
        for v in sorted(visits, key=lambda visit: (abs(visit.check_in_at - t), visit.id))
    ]
    candidates += [
        ("authorisation", a, _assess_authorisation(entry, read_key, a))
        for a in sorted(authorisations, key=lambda authorisation: authorisation.id)
    ]
    places, free = _room(entry, [a for _, _, a in candidates])
    chosen = _choose(entry, candidates) if free > 0 else None
    watched = _watched(read_key, watchlist)
    persons = [w for w in watched_visits if chosen and chosen[0] == "visit" and w.visit_id == chosen[1].id]
    reason = _reason(entry, bool(watched or persons), chosen is not None, {a.fit for _, _, a in candidates})
    linked = chosen if chosen and not (watched or persons) else None
    items = [_headline(entry, reason, _cover(*chosen) if chosen else None, places)]
    items += [{"code": "watchlist_entry", "id": w.id, "plate": w.plate, "reason": w.reason} for w in watched]
    items += [{"code": "watchlist_person", "id": w.id, "visit": w.visit_id, "reason": w.reason} for w in persons]
    items += [{"code": "plate_unreadable"}] if entry.kind == VEHICLE and entry.plate_unreadable else []
    items += [a.item for _, _, a in candidates]
    return Verdict(
        status=EventStatus.EXPLAINED if reason is None else EventStatus.FLAGGED,
        reason=reason,
        visit_id=linked[1].id if linked and linked[0] == "visit" else None,
        authorisation_id=linked[1].id if linked and linked[0] == "authorisation" else None,
        items=items,
    )
