"""Finding entry events: the flagged queue's filters and pages, and what a poller needs.

Written for a table of hundreds of thousands of events: every filter is a column of an index
(``ix_event_queue`` is status then time), a page is one query, and counts stop at
``COUNT_CAP`` so a page never counts the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.models.enums import OPEN_STATUSES, EventStatus, FlagReason
from gatewatch.models.filters import MAX_PAGE_SIZE, FilterError, day_bounds, parse_day
from gatewatch.models.tables import Camera, EntryEvent

#: Counts go this far and no further; the page then says "more than".
COUNT_CAP = 10_000

#: Status filter values beyond the statuses themselves.
OPEN = "open"  # waiting for a person: flagged or acknowledged
EVER_FLAGGED = "flagged_ever"  # every entry the cross-check flagged, whatever happened since
ANY = "any"
STATUS_FILTERS = (OPEN, EVER_FLAGGED, ANY, *(s.value for s in EventStatus))


@dataclass(frozen=True)
class EventFilter:
    camera_id: str | None = None
    reason: FlagReason | None = None
    status: str = OPEN
    day: date | None = None  # a day at the site

    @classmethod
    def parse(cls, args: Any) -> EventFilter:
        """From query-string style ``args`` (a mapping of strings); blank values mean no filter."""

        def value(name: str) -> str | None:
            text = (args.get(name) or "").strip()
            return text or None

        reason = value("reason")
        if reason is not None and reason not in FlagReason.__members__.values():
            raise FilterError("reason", f"unknown reason {reason!r}")
        status = value("status") or OPEN
        if status not in STATUS_FILTERS:
            raise FilterError("status", f"unknown status {status!r}")
        return cls(
            camera_id=value("camera"),
            reason=FlagReason(reason) if reason else None,
            status=status,
            day=parse_day(args.get("date"), "date"),
        )

    def conditions(self, zone: tzinfo) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.status == OPEN:
            where.append(_is_open())
        elif self.status == EVER_FLAGGED:
            where.append(EntryEvent.flag.is_not(None))
        elif self.status != ANY:
            where.append(EntryEvent.status == self.status)
        if self.camera_id:
            where.append(EntryEvent.camera_id == self.camera_id)
        if self.reason:
            where.append(EntryEvent.flag == self.reason.value)
        if self.day:
            start, end = day_bounds(self.day, zone)
            where += [EntryEvent.occurred_at >= start, EntryEvent.occurred_at < end]
        return where

    def as_args(self) -> dict[str, str]:
        """Back to query-string values, for links to other pages of the same list."""
        args = {
            "camera": self.camera_id or "",
            "reason": self.reason.value if self.reason else "",
            "status": self.status,
            "date": self.day.isoformat() if self.day else "",
        }
        return {k: v for k, v in args.items() if v}


def _is_open() -> sa.ColumnElement[bool]:
    return EntryEvent.status.in_([s.value for s in OPEN_STATUSES])


@dataclass(frozen=True)
class Page:
    events: Sequence[EntryEvent]
    number: int  # from 1
    size: int
    total: int  # capped at COUNT_CAP
    filter: EventFilter = field(default_factory=EventFilter)

    @property
    def total_is_capped(self) -> bool:
        return self.total >= COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def capped_count(session: Session, where: list[sa.ColumnElement[bool]]) -> int:
    """How many events match, counting no further than COUNT_CAP."""
    limited = sa.select(sa.literal(1)).select_from(EntryEvent).where(*where).limit(COUNT_CAP).subquery()
    return session.execute(sa.select(sa.func.count()).select_from(limited)).scalar_one()


def find_events(
    session: Session, where_filter: EventFilter, zone: tzinfo, *, page: int = 1, size: int = 50
) -> Page:
    """One page of the events matching the filter, newest first."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    page = max(1, page)
    where = where_filter.conditions(zone)
    rows = session.exec(
        select(EntryEvent)
        .where(*where)
        .order_by(EntryEvent.occurred_at.desc(), EntryEvent.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return Page(rows, page, size, capped_count(session, where), where_filter)


@dataclass(frozen=True)
class QueueState:
    """What a page polls to learn that the queue changed: cheap to compute, changes when it does."""

    newest_open_id: int | None
    open_count: int


def queue_state(session: Session) -> QueueState:
    where = [_is_open()]
    newest = session.execute(sa.select(sa.func.max(EntryEvent.id)).where(*where)).scalar_one()
    return QueueState(newest, capped_count(session, where))


def cameras_by_id(session: Session) -> dict[str, Camera]:
    """Every camera, by id, in name order: for filters and for naming the gate of each row."""
    return {camera.id: camera for camera in session.exec(select(Camera).order_by(Camera.name)).all()}
