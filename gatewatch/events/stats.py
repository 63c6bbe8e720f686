"""Figures for the overview: crossings per hour, flags by reason, and who is still inside."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, tzinfo

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.models.enums import Direction, FlagReason
from gatewatch.models.filters import day_bounds
from gatewatch.models.tables import EntryEvent, Visit


@dataclass(frozen=True)
class HourCount:
    hour: int  # 0-23, site time
    entries: int
    exits: int


def _day_conditions(day: date, zone: tzinfo, camera_id: str | None) -> list[sa.ColumnElement[bool]]:
    start, end = day_bounds(day, zone)
    where = [EntryEvent.occurred_at >= start, EntryEvent.occurred_at < end]
    if camera_id:
        where.append(EntryEvent.camera_id == camera_id)
    return where


def hourly_counts(session: Session, day: date, zone: tzinfo, camera_id: str | None = None) -> list[HourCount]:
    """Entries and exits in each hour of a site day, all 24 hours.

    Hours are bucketed here, not in SQL, because the site's offset need not be whole hours and
    SQLite and PostgreSQL convert zones differently; a day is a few thousand rows at most.
    """
    counts: dict[tuple[int, str], int] = defaultdict(int)
    rows = session.execute(
        sa.select(EntryEvent.occurred_at, EntryEvent.direction).where(*_day_conditions(day, zone, camera_id))
    )
    for occurred_at, direction in rows:
        counts[(occurred_at.astimezone(zone).hour, direction)] += 1
    return [HourCount(h, counts[(h, Direction.ENTRY)], counts[(h, Direction.EXIT)]) for h in range(24)]


def flag_counts(
    session: Session, day: date, zone: tzinfo, camera_id: str | None = None
) -> dict[FlagReason, int]:
    """How many entries of the site day were flagged, by reason (every reason, zeros included)."""
    rows = session.execute(
        sa.select(EntryEvent.flag, sa.func.count())
        .where(*_day_conditions(day, zone, camera_id), EntryEvent.flag.is_not(None))
        .group_by(EntryEvent.flag)
    )
    found = {flag: count for flag, count in rows}
    return {reason: found.get(reason.value, 0) for reason in FlagReason}


@dataclass(frozen=True)
class Inside:
    visit: Visit
    entries: list[EntryEvent]  # the entry events linked to the visit, oldest first


def count_inside(session: Session) -> int:
    """How many visits are not checked out."""
    return session.execute(
        sa.select(sa.func.count()).select_from(Visit).where(Visit.checked_out_at.is_(None))
    ).scalar_one()


def still_inside(session: Session, limit: int = 500) -> list[Inside]:
    """Visits not checked out, longest inside first, with their linked entries (two queries)."""
    visits = session.exec(
        select(Visit).where(Visit.checked_out_at.is_(None)).order_by(Visit.check_in_at, Visit.id).limit(limit)
    ).all()
    linked: dict[int, list[EntryEvent]] = defaultdict(list)
    if visits:
        events = session.exec(
            select(EntryEvent)
            .where(EntryEvent.visit_id.in_([v.id for v in visits]), EntryEvent.direction == Direction.ENTRY)
            .order_by(EntryEvent.occurred_at, EntryEvent.id)
        ).all()
        for event in events:
            linked[event.visit_id].append(event)
    return [Inside(visit, linked[visit.id]) for visit in visits]
