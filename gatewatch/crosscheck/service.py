"""The cross-check against the database: gathers the facts for ``rules.judge`` and stores its verdict.

Nothing here commits: the caller owns the transaction. Usage of a visit or authorisation is the
number of entry events already linked to it, whatever their status (a flagged ``after_hours``
entry linked to a visit counts too: the people did come in), except events a person judged a
false alarm, which were never real people or vehicles.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.rules import (
    PERSON,
    VEHICLE,
    AuthorisationFacts,
    EntryFacts,
    EntryKind,
    VisitFacts,
    WatchlistFacts,
    judge,
)
from gatewatch.models.enums import OPEN_STATUSES, Direction, EventStatus, FlagReason, PlateStatus
from gatewatch.models.sql import plate_key_sql
from gatewatch.models.tables import Authorisation, EntryEvent, Visit, WatchlistPlate
from gatewatch.plates import match_key
from gatewatch.settings import VEHICLE_CLASSES, ConfigError, Settings

#: The fields of an event the cross-check sets and the audit trail records.
LINK_FIELDS = ("status", "flag", "visit_id", "authorisation_id")

_Usage = dict[int, Counter[EntryKind]]
_Facts = TypeVar("_Facts", VisitFacts, AuthorisationFacts)
_USAGE_FIELDS = ("used_persons", "used_vehicles")


def entry_kind(label: str) -> EntryKind:
    """Whether a detector label is a person or a vehicle for the cross-check."""
    if label == "person":
        return PERSON
    if label in VEHICLE_CLASSES:
        return VEHICLE
    raise ValueError(f"label {label!r} is neither a person nor a vehicle class")


def coverage_window(settings: Settings) -> tuple[timedelta, timedelta]:
    """How long before and after an entry a check-in still covers it."""
    minutes = settings.crosscheck
    return timedelta(minutes=minutes.window_before_minutes), timedelta(minutes=minutes.window_after_minutes)


def within_hours(event: EntryEvent, settings: Settings) -> bool:
    """Whether the event falls in its gate's operating hours, in the site's time zone.

    A camera no longer in the configuration has no hours to break.
    """
    try:
        hours = settings.camera(event.camera_id).hours
    except ConfigError:
        return True
    return hours is None or hours.contains(event.occurred_at.astimezone(settings.zone).time())


def _usage(session: Session, link: Any, owner_ids: Sequence[int], event: EntryEvent) -> _Usage:
    """Entry events linked through ``link`` to each owner, by kind, leaving ``event`` out."""
    usage: _Usage = defaultdict(Counter)
    if not owner_ids:
        return usage
    query = (
        select(link, EntryEvent.label, sa.func.count())
        .where(
            link.in_(owner_ids),
            EntryEvent.direction == Direction.ENTRY,
            EntryEvent.status != EventStatus.FALSE_ALARM,
        )
        .group_by(link, EntryEvent.label)
    )
    if event.id is not None:
        query = query.where(EntryEvent.id != event.id)
    for owner_id, label, count in session.exec(query):
        usage[owner_id][entry_kind(label)] += count
    return usage


def _with_usage(
    session: Session, event: EntryEvent, rows: Sequence[Any], link: Any, facts: type[_Facts]
) -> list[_Facts]:
    """``facts`` of each row: the row's attributes of the same names, and its usage through ``link``."""
    usage = _usage(session, link, [row.id for row in rows], event)
    names = [field.name for field in dataclasses.fields(facts) if field.name not in _USAGE_FIELDS]
    return [
        facts(
            **{name: getattr(row, name) for name in names},
            used_persons=usage[row.id][PERSON],
            used_vehicles=usage[row.id][VEHICLE],
        )
        for row in rows
    ]


def _visit_facts(
    session: Session, event: EntryEvent, window: tuple[timedelta, timedelta]
) -> list[VisitFacts]:
    t = event.occurred_at
    visits = session.exec(
        select(Visit).where(Visit.check_in_at >= t - window[0], Visit.check_in_at <= t + window[1])
    ).all()
    return _with_usage(session, event, visits, EntryEvent.visit_id, VisitFacts)


def _authorisation_facts(session: Session, event: EntryEvent) -> list[AuthorisationFacts]:
    t = event.occurred_at
    authorisations = session.exec(
        select(Authorisation).where(Authorisation.valid_from <= t, Authorisation.valid_until >= t)
    ).all()
    return _with_usage(session, event, authorisations, EntryEvent.authorisation_id, AuthorisationFacts)


def watch_entries(session: Session, plate: str) -> Sequence[WatchlistPlate]:
    """The active watch-list entries of ``plate`` (any spelling), found by their stored ``match_key``."""
    return session.exec(select(WatchlistPlate).where(
        WatchlistPlate.removed_at.is_(None), WatchlistPlate.plate_key == match_key(plate)
    )).all()


def _watchlist_facts(session: Session, plate: str) -> list[WatchlistFacts]:
    return [WatchlistFacts(id=row.id, plate=row.plate, reason=row.reason) for row in watch_entries(session, plate)]


def _entry_facts(event: EntryEvent, settings: Settings) -> EntryFacts:
    read = event.plate_status == PlateStatus.READ
    return EntryFacts(
        occurred_at=event.occurred_at,
        kind=entry_kind(event.label),
        camera_id=event.camera_id,
        within_hours=within_hours(event, settings),
        plate=event.plate_text if read else None,
        plate_unreadable=event.plate_status == PlateStatus.UNREADABLE,
    )


def check_event(session: Session, event: EntryEvent, settings: Settings) -> None:
    """Explain or flag ``event`` (a new or still open one) by setting its status and links.

    ``flag_detail`` gets the verdict's detail when the event is flagged and is cleared when it
    is explained (its visit or authorisation link says why). An event an operator has
    acknowledged stays acknowledged while it remains unexplained; only its flag and detail
    follow the new verdict.
    """
    if event.direction == Direction.EXIT:
        event.status, event.flag, event.flag_detail = EventStatus.EXIT, None, None
        event.visit_id = event.authorisation_id = None
        return
    window = coverage_window(settings)
    entry = _entry_facts(event, settings)
    visits = _visit_facts(session, event, window)
    watchlist = _watchlist_facts(session, entry.plate) if entry.plate else []
    verdict = judge(entry, visits, _authorisation_facts(session, event), *window, watchlist)
    flagged = verdict.status == EventStatus.FLAGGED
    if not (flagged and event.status == EventStatus.ACKNOWLEDGED):
        event.status = verdict.status
    event.flag = verdict.reason
    event.flag_detail = verdict.detail if flagged else None
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
