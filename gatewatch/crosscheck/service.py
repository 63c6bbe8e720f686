"""The cross-check against the database: gathers the facts for ``rules.judge`` and stores its verdict.

Nothing here commits: the caller owns the transaction. The explained people and vehicles inside
are counted by ``presence.explained_inside`` from the day's crossings since the last
``presence_reset``: entries linked to a visit or authorisation, whatever their status (a flagged
``after_hours`` entry linked to a visit counts too: the people did come in), and exits; events
a person judged a false alarm were never real people or vehicles and count for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.presence import Capacity, Movement, explained_inside
from gatewatch.crosscheck.rules import (
    PERSON,
    VEHICLE,
    AuthorisationFacts,
    EntryFacts,
    EntryKind,
    VisitFacts,
    WatchedVisitFacts,
    WatchlistFacts,
    judge,
)
from gatewatch.crosscheck.schedule import Schedule, parse_weekdays
from gatewatch.models.enums import OPEN_STATUSES, Direction, EventStatus, FlagReason, PlateStatus
from gatewatch.models.sql import plate_key_sql
from gatewatch.models.tables import Authorisation, EntryEvent, Visit, WatchlistPerson, WatchlistPlate
from gatewatch.models.types import UTCDateTime
from gatewatch.plates import match_key
from gatewatch.settings import VEHICLE_CLASSES, ConfigError, Settings

#: The fields of an event the cross-check sets and the audit trail records.
LINK_FIELDS = ("status", "flag", "visit_id", "authorisation_id")
#: A visit checked in longer ago than this covers nothing, whatever its expected check-out says.
MAX_VISIT_DAYS = 7


def entry_kind(label: str) -> EntryKind:
    """Whether a detector label is a person or a vehicle for the cross-check."""
    if label == "person":
        return PERSON
    if label in VEHICLE_CLASSES:
        return VEHICLE
    raise ValueError(f"label {label!r} is neither a person nor a vehicle class")


def coverage_window(settings: Settings) -> tuple[timedelta, timedelta]:
    """How long after a check-in a visit's first entry may come, and how long before it one is covered."""
    minutes = settings.crosscheck
    return timedelta(minutes=minutes.window_before_minutes), timedelta(minutes=minutes.window_after_minutes)


def cover_until(visit: Visit, settings: Settings) -> datetime:
    """When a visit's cover ends unless it checks out first: its expected check-out plus the
    grace, or ``default_visit_hours`` after check-in."""
    crosscheck = settings.crosscheck
    if visit.expected_check_out_at is not None:
        return visit.expected_check_out_at + timedelta(minutes=crosscheck.checkout_grace_minutes)
    return visit.check_in_at + timedelta(hours=crosscheck.default_visit_hours)


def cover_end(visit: Visit, settings: Settings) -> datetime:
    """When a visit's cover ends: its check-out, or ``cover_until``."""
    until = cover_until(visit, settings)
    return min(visit.checked_out_at, until) if visit.checked_out_at is not None else until


def presence_day_start(moment: datetime, settings: Settings) -> datetime:
    """The last ``presence_reset`` at or before ``moment``, in UTC: the count of people inside starts there."""
    local = moment.astimezone(settings.zone)
    start = datetime.combine(local.date(), settings.crosscheck.presence_reset, tzinfo=settings.zone)
    if start > local:
        start = datetime.combine(local.date() - timedelta(days=1), settings.crosscheck.presence_reset,
                                 tzinfo=settings.zone)
    return start.astimezone(UTC)


def plates_of(authorisation: Authorisation) -> list[str]:
    """The plates an authorisation names, in display form; none: any vehicle."""
    return json.loads(authorisation.plates or "[]")


def weekdays_of(authorisation: Authorisation) -> tuple[int, ...]:
    return parse_weekdays(authorisation.weekdays)


def schedule_of(authorisation: Authorisation) -> Schedule:
    return Schedule(authorisation.valid_from, authorisation.valid_until, weekdays_of(authorisation),
                    authorisation.start_time, authorisation.end_time)


def in_force(authorisation: Authorisation, moment: datetime, zone: tzinfo) -> bool:
    """Whether ``authorisation`` covers entries at ``moment``: its schedule holds and it was not ended."""
    if authorisation.ended_at is not None and authorisation.ended_at <= moment:
        return False
    return schedule_of(authorisation).in_force(moment, zone)


def within_hours(event: EntryEvent, settings: Settings) -> bool:
    """Whether the event falls in its gate's operating hours, in the site's time zone.

    A camera no longer in the configuration has no hours to break.
    """
    try:
        hours = settings.camera(event.camera_id).hours
    except ConfigError:
        return True
    return hours is None or hours.contains(event.occurred_at.astimezone(settings.zone).time())


def _before(event: EntryEvent) -> Any:
    """Events that happened before ``event``: earlier, or at the same moment and stored first."""
    earlier = EntryEvent.occurred_at < event.occurred_at
    if event.id is None:
        return EntryEvent.occurred_at <= event.occurred_at
    return sa.or_(earlier, sa.and_(EntryEvent.occurred_at == event.occurred_at, EntryEvent.id < event.id))


class _Facts:
    """Everything ``judge`` needs about one event (or the presence at a moment), read from the database."""

    def __init__(self, session: Session, settings: Settings, moment: datetime, event: EntryEvent | None = None
                 ) -> None:
        self.session, self.event, self.settings = session, event, settings
        self.t = moment
        self.visits = self._visits()
        self.authorisations = self._authorisations()
        self.inside = self._inside()

    def _earlier(self) -> Any:
        """Events before the one judged, or up to the moment asked about."""
        return _before(self.event) if self.event is not None else EntryEvent.occurred_at <= self.t

    def _visits(self) -> Sequence[Visit]:
        _before_window, after = coverage_window(self.settings)
        day_start = presence_day_start(self.t, self.settings)
        return self.session.exec(select(Visit).where(
            Visit.check_in_at <= self.t + after,
            Visit.check_in_at >= self.t - timedelta(days=MAX_VISIT_DAYS),
            sa.or_(Visit.checked_out_at.is_(None), Visit.checked_out_at >= day_start),
        )).all()

    def _authorisations(self) -> Sequence[Authorisation]:
        """Every authorisation that may be in force from the day's presence reset to the entry."""
        zone = self.settings.zone
        first_day = presence_day_start(self.t, self.settings).astimezone(zone).date()
        return self.session.exec(select(Authorisation).where(
            Authorisation.valid_from <= self.t.astimezone(zone).date(),
            Authorisation.valid_until >= first_day - timedelta(days=1),  # a night shift runs into the next day
        )).all()

    def _inside(self) -> Any:
        day_start = presence_day_start(self.t, self.settings)
        rows = self.session.exec(
            select(EntryEvent.occurred_at, EntryEvent.label, EntryEvent.direction, EntryEvent.visit_id,
                   EntryEvent.authorisation_id)
            .where(
                EntryEvent.occurred_at >= day_start,
                self._earlier(),
                EntryEvent.status != EventStatus.FALSE_ALARM,
                EntryEvent.label.in_(("person", *VEHICLE_CLASSES)),
            )
            .order_by(EntryEvent.occurred_at, EntryEvent.id)
        ).all()
        movements = [
            Movement(at, entry_kind(label), direction == Direction.EXIT, bool(visit_id or authorisation_id))
            for at, label, direction, visit_id, authorisation_id in rows
        ]
        day_visits = self._day_visits(day_start)
        return explained_inside(movements, self._capacity(day_visits), self.t, self._cover_ends(day_visits, day_start))

    def _capacity(self, day_visits: Sequence[Visit]) -> Capacity:
        """The places of the covers in force at a moment of the day, by kind."""
        _before_window, after = coverage_window(self.settings)
        visits = [(v.check_in_at - after, cover_end(v, self.settings), v.party_size, int(v.has_vehicle))
                  for v in day_visits]
        zone = self.settings.zone
        # Parsed once: capacity is asked at every movement of the day and at every cover's end.
        shifts = [(schedule_of(a), a.ended_at, a.max_persons, a.max_vehicles) for a in self.authorisations]

        def capacity(kind: str, moment: datetime) -> int:
            total = sum(persons if kind == PERSON else vehicles
                        for start, end, persons, vehicles in visits if start <= moment < end)
            return total + sum(persons if kind == PERSON else vehicles
                               for schedule, ended, persons, vehicles in shifts
                               if (ended is None or moment < ended) and schedule.in_force(moment, zone))

        return capacity

    def _cover_ends(self, day_visits: Sequence[Visit], day_start: datetime) -> list[datetime]:
        """When covers ended from ``day_start`` to the entry: check-outs, ends of visits' covers and of
        shifts, authorisations ended. The count inside drops then, even with no one crossing."""
        ends = [cover_end(visit, self.settings) for visit in day_visits]
        for authorisation in self.authorisations:
            ends += schedule_of(authorisation).shift_ends(day_start, self.t, self.settings.zone)
            if authorisation.ended_at is not None:
                ends.append(authorisation.ended_at)
        return [end for end in ends if day_start < end <= self.t]

    def _day_visits(self, day_start: datetime) -> list[Visit]:
        """Every visit whose cover holds at some time from ``day_start`` to the entry."""
        _before_window, after = coverage_window(self.settings)
        rows = self.session.exec(select(Visit).where(
            Visit.check_in_at <= self.t + after,
            Visit.check_in_at >= day_start - timedelta(days=MAX_VISIT_DAYS),
        )).all()
        return [v for v in rows if cover_end(v, self.settings) > day_start]

    def first_entries(self) -> dict[int, datetime]:
        ids = [visit.id for visit in self.visits]
        if not ids:
            return {}
        query = (
            select(EntryEvent.visit_id, sa.type_coerce(sa.func.min(EntryEvent.occurred_at), UTCDateTime()))
            .where(EntryEvent.visit_id.in_(ids), EntryEvent.direction == Direction.ENTRY,
                   EntryEvent.status != EventStatus.FALSE_ALARM, self._earlier())
            .group_by(EntryEvent.visit_id)
        )
        return dict(self.session.exec(query).all())

    def visit_facts(self) -> list[VisitFacts]:
        first = self.first_entries()
        return [
            VisitFacts(
                id=visit.id, visitor_name=visit.visitor_name, check_in_at=visit.check_in_at,
                cover_until=cover_until(visit, self.settings), party_size=visit.party_size,
                has_vehicle=visit.has_vehicle, camera_id=visit.camera_id, checked_out_at=visit.checked_out_at,
                first_entry_at=first.get(visit.id), vehicle_plate=visit.vehicle_plate,
            )
            for visit in self.visits
        ]

    def authorisation_facts(self) -> list[AuthorisationFacts]:
        return [
            AuthorisationFacts(
                id=a.id, holder=a.holder, in_force=in_force(a, self.t, self.settings.zone),
                max_persons=a.max_persons, max_vehicles=a.max_vehicles, camera_id=a.camera_id,
                plates=tuple(plates_of(a)),
            )
            for a in self.authorisations
        ]

    def passage_cover(self) -> tuple[Any, int] | None:
        """What the passage's other members are linked to, the earliest first."""
        if self.event is None or self.event.passage_id is None:
            return None
        query = (
            select(EntryEvent.visit_id, EntryEvent.authorisation_id)
            .where(sa.or_(EntryEvent.passage_id == self.event.passage_id, EntryEvent.id == self.event.passage_id),
                   sa.or_(EntryEvent.visit_id.is_not(None), EntryEvent.authorisation_id.is_not(None)))
            .order_by(EntryEvent.occurred_at, EntryEvent.id)
        )
        if self.event.id is not None:
            query = query.where(EntryEvent.id != self.event.id)
        row = self.session.exec(query).first()
        if row is None:
            return None
        return ("visit", row[0]) if row[0] else ("authorisation", row[1])


def explained_inside_at(session: Session, settings: Settings, moment: datetime) -> dict[EntryKind, int]:
    """The explained people and vehicles inside at ``moment``, as the cross-check counts them."""
    inside = _Facts(session, settings, moment).inside
    return {PERSON: inside[PERSON], VEHICLE: inside[VEHICLE]}


def watch_entries(session: Session, plate: str) -> Sequence[WatchlistPlate]:
    """The active watch-list entries of ``plate`` (any spelling), found by their stored ``match_key``."""
    return session.exec(select(WatchlistPlate).where(
        WatchlistPlate.removed_at.is_(None), WatchlistPlate.plate_key == match_key(plate)
    )).all()


def _watchlist_facts(session: Session, plate: str) -> list[WatchlistFacts]:
    return [WatchlistFacts(id=row.id, plate=row.plate, reason=row.reason) for row in watch_entries(session, plate)]


def watched_niks(session: Session, niks: Collection[str]) -> Sequence[WatchlistPerson]:
    """The active persons watch-list entries of any of ``niks``, oldest first."""
    if not niks:
        return []
    return session.exec(select(WatchlistPerson).where(
        WatchlistPerson.removed_at.is_(None), WatchlistPerson.nik.in_(sorted(niks))
    ).order_by(WatchlistPerson.id)).all()


def _watched_visit_facts(session: Session, visits: Sequence[Visit]) -> list[WatchedVisitFacts]:
    entries = watched_niks(session, {visit.id_number for visit in visits if visit.id_number})
    return [WatchedVisitFacts(id=entry.id, visit_id=visit.id, reason=entry.reason)
            for visit in visits for entry in entries if entry.nik == visit.id_number]


def _entry_facts(
    event: EntryEvent, settings: Settings, passage_cover: tuple[Any, int] | None, inside: int
) -> EntryFacts:
    read = event.plate_status == PlateStatus.READ
    return EntryFacts(
        occurred_at=event.occurred_at,
        kind=entry_kind(event.label),
        camera_id=event.camera_id,
        within_hours=within_hours(event, settings),
        plate=event.plate_text if read else None,
        plate_unreadable=event.plate_status == PlateStatus.UNREADABLE,
        passage_cover=passage_cover,
        inside=inside,
    )


def check_event(session: Session, event: EntryEvent, settings: Settings) -> None:
    """Explain or flag ``event`` (a new or still open one) by setting its status and links.

    ``flag_detail`` and ``flag_items`` get the verdict's detail when the event is flagged and
    are cleared when it is explained (its visit or authorisation link says why). An event an
    operator has acknowledged stays acknowledged while it remains unexplained; only its flag and
    detail follow the new verdict.
    """
    if event.direction == Direction.EXIT:
        event.status, event.flag, event.flag_detail, event.flag_items = EventStatus.EXIT, None, None, None
        event.visit_id = event.authorisation_id = None
        return
    facts = _Facts(session, settings, event.occurred_at, event)
    entry = _entry_facts(event, settings, facts.passage_cover(), facts.inside[entry_kind(event.label)])
    watchlist = _watchlist_facts(session, entry.plate) if entry.plate else []
    verdict = judge(entry, facts.visit_facts(), facts.authorisation_facts(), *coverage_window(settings), watchlist,
                    _watched_visit_facts(session, facts.visits))
    flagged = verdict.status == EventStatus.FLAGGED
    if not (flagged and event.status == EventStatus.ACKNOWLEDGED):
        event.status = verdict.status
    event.flag = verdict.reason
    event.flag_detail = verdict.detail if flagged else None
    event.flag_items = json.dumps(verdict.items, ensure_ascii=False) if flagged else None
    event.visit_id = verdict.visit_id
    event.authorisation_id = verdict.authorisation_id


def _open_events(*conditions: Any) -> Any:
    return select(EntryEvent).where(EntryEvent.status.in_(OPEN_STATUSES), *conditions).order_by(
        EntryEvent.occurred_at, EntryEvent.id
    )


def recheck_open_events(
    session: Session, settings: Settings, *, since: datetime, until: datetime
) -> list[EntryEvent]:
    """Check again, oldest first, the open events in [since, until]; return those now explained.

    Run after a registration that may explain them, or a change of the watch list. ``after_hours``
    flags stay: a registration does not make an entry at night acceptable. Each event explained
    now gets an audit record ``event.auto_resolved`` by the system; one still flagged whose
    status, flag or links changed (say, put on or taken off the watch list) gets ``event.rechecked``.
    """
    events = session.exec(_open_events(
        sa.or_(EntryEvent.flag.is_(None), EntryEvent.flag != FlagReason.AFTER_HOURS),
        EntryEvent.occurred_at >= since,
        EntryEvent.occurred_at <= until,
    )).all()
    return _recheck(session, settings, events)


def recheck_plate(session: Session, settings: Settings, plate: str) -> list[EntryEvent]:
    """Check again the open events whose plate was read as ``plate``, after a watch-list change.

    Unlike a registration, the watch list outranks ``after_hours``, so those are checked too.
    """
    events = session.exec(_open_events(
        EntryEvent.plate_status == PlateStatus.READ,
        plate_key_sql(EntryEvent.plate_text) == match_key(plate),
    )).all()
    return _recheck(session, settings, events)


def recheck_visits(session: Session, settings: Settings, visits: Sequence[Visit]) -> list[EntryEvent]:
    """Check again the open events in the covers of ``visits``, after a change of the persons watch
    list; like ``recheck_plate``, ``after_hours`` flags too: the watch list outranks them."""
    _before_window, after = coverage_window(settings)
    events: dict[int, EntryEvent] = {}
    for visit in visits:
        for event in session.exec(_open_events(EntryEvent.occurred_at >= visit.check_in_at - after,
                                               EntryEvent.occurred_at <= cover_end(visit, settings))).all():
            events.setdefault(event.id, event)
    return _recheck(session, settings, sorted(events.values(), key=lambda e: (e.occurred_at, e.id)))


def _recheck(session: Session, settings: Settings, events: Sequence[EntryEvent]) -> list[EntryEvent]:
    resolved = []
    for event in events:
        before = trail.row_values(event, LINK_FIELDS)
        check_event(session, event, settings)
        # The next event's usage counts must see this one's new link.
        session.flush()
        after = trail.row_values(event, LINK_FIELDS)
        explained = event.status == EventStatus.EXPLAINED
        if explained or after != before:
            trail.record(
                session,
                actor=trail.SYSTEM,
                role=trail.SYSTEM,
                action="event.auto_resolved" if explained else "event.rechecked",
                entity="event",
                entity_id=event.id,
                before=before,
                after=after,
            )
        if explained:
            resolved.append(event)
    return resolved
