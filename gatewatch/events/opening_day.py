"""Which day a page opens on when the reader names none: today at the site, unless today has
nothing to show and another day does.

A new installation tried on recorded footage (the demo's is dated 2026-11-20), or a quiet gate
first thing in the morning, would otherwise open on a page of zeros. The page then shows the
latest day with records instead, and says so; a day the reader names always wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.models.filters import day_bounds
from gatewatch.models.tables import EntryEvent, Visit


@dataclass(frozen=True)
class OpeningDay:
    day: date  # the day to show
    today: date  # today at the site

    @property
    def instead_of_today(self) -> bool:
        """Today has nothing, so another day is shown: the page must say so."""
        return self.day != self.today


def event_day(session: Session, zone: tzinfo, now: datetime, camera_id: str | None = None) -> OpeningDay:
    """Today, or the latest day with entry or exit events (of ``camera_id``'s gate, if given) when
    today has none."""
    where = [EntryEvent.camera_id == camera_id] if camera_id else []
    return _opening_day(session, EntryEvent.occurred_at, where, zone, now)


def visit_day(session: Session, zone: tzinfo, now: datetime) -> OpeningDay:
    """Today, or the latest day a visitor checked in when nobody has today."""
    return _opening_day(session, Visit.check_in_at, [], zone, now)


def _opening_day(session: Session, moment: sa.ColumnElement[datetime], where: list[sa.ColumnElement[bool]],
                 zone: tzinfo, now: datetime) -> OpeningDay:
    """Two indexed look-ups at most: one row of today's, else the latest row of all."""
    today = now.astimezone(zone).date()
    start, end = day_bounds(today, zone)
    if session.execute(sa.select(moment).where(moment >= start, moment < end, *where).limit(1)).first():
        return OpeningDay(today, today)
    latest = session.execute(sa.select(moment).where(*where).order_by(moment.desc()).limit(1)).scalar()
    return OpeningDay(today if latest is None else latest.astimezone(zone).date(), today)
