"""Finding entry events: the flagged queue's filters and pages, and what a poller needs.

Written for a table of hundreds of thousands of events: every filter is a column of an index
(``ix_event_queue`` is status then time), a page is one query, and counts stop at
``COUNT_CAP`` so a page never counts the whole table.

The queue shows passages, not crossings: a motorbike and its two riders are one row. A passage
is named by ``COALESCE(passage_id, id)``, so an event stored before passages existed is a
passage of its own. A passage is listed when any of its members matches the filter, and shows
all its members.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from itertools import groupby
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.models.enums import OPEN_STATUSES, EventStatus, FlagReason
from gatewatch.models.filters import MAX_PAGE_SIZE, FilterError, day_bounds, parse_day
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import VEHICLE_CLASSES

#: Counts go this far and no further; the page then says "more than".
COUNT_CAP = 10_000

#: Status filter values beyond the statuses themselves.
OPEN = "open"  # waiting for a person: flagged or acknowledged
EVER_FLAGGED = "flagged_ever"  # every entry the cross-check flagged, whatever happened since
ANY = "any"
STATUS_FILTERS = (OPEN, EVER_FLAGGED, ANY, *(s.value for s in EventStatus))
#: A passage shows the worst status of its members: the first of these any member has.
WORST_FIRST = (
    EventStatus.FLAGGED,
    EventStatus.ACKNOWLEDGED,
    EventStatus.CONFIRMED,
    EventStatus.RESOLVED,
    EventStatus.FALSE_ALARM,
    EventStatus.EXPLAINED,
    EventStatus.EXIT,
)
Row = TypeVar("Row")


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
class Passage:
    """Crossings that belong together (riders with their bike, a party on foot), in crossing order."""

    members: tuple[EntryEvent, ...]

    @property
    def id(self) -> int:
        first = self.members[0]
        return first.passage_id or first.id  # type: ignore[return-value]

    @property
    def lead(self) -> EntryEvent:
        """The member a row shows and links to: the vehicle if there is one, else the first."""
        return next((m for m in self.members if m.label in VEHICLE_CLASSES), self.members[0])

    @property
    def occurred_at(self) -> datetime:
        return self.members[0].occurred_at

    @property
    def status(self) -> str:
        """The worst status of its members: flagged when any member is."""
        statuses = {m.status for m in self.members}
        return next((s.value for s in WORST_FIRST if s in statuses), self.lead.status)

    @property
    def flag(self) -> str | None:
        """The flag of its worst member."""
        status = self.status
        return next((m.flag for m in self.members if m.status == status and m.flag), self.lead.flag)

    @property
    def counts(self) -> list[tuple[str, int]]:
        """(class, how many) in the order a person reads them: vehicles, then people."""
        counted = Counter(m.label for m in self.members)
        return sorted(counted.items(), key=lambda pair: (pair[0] == "person", list(counted).index(pair[0])))


def passage_key() -> sa.ColumnElement[int]:
    """The passage an event belongs to; an event stored before passages existed is its own."""
    return sa.func.coalesce(EntryEvent.passage_id, EntryEvent.id)


def in_passage(passage_id: int | sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """The events of a passage, by conditions each an index can answer."""
    return sa.or_(
        EntryEvent.passage_id == passage_id,
        sa.and_(EntryEvent.passage_id.is_(None), EntryEvent.id == passage_id),
    )


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: Sequence[Row]
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


def capped_count(
    session: Session, where: list[sa.ColumnElement[bool]], *, per_passage: bool = False
) -> int:
    """How many events (or passages) match, counting no further than COUNT_CAP."""
    query = sa.select(sa.literal(1)).select_from(EntryEvent).where(*where)
    if per_passage:
        query = query.group_by(passage_key())
    limited = query.limit(COUNT_CAP).subquery()
    return session.execute(sa.select(sa.func.count()).select_from(limited)).scalar_one()


def _bounds(page: int, size: int) -> tuple[int, int]:
    """(page, size) kept to sensible values."""
    return max(1, page), max(1, min(size, MAX_PAGE_SIZE))


def find_events(
    session: Session, where_filter: EventFilter, zone: tzinfo, *, page: int = 1, size: int = 50
) -> Page[EntryEvent]:
    """One page of the events matching the filter, newest first."""
    page, size = _bounds(page, size)
    where = where_filter.conditions(zone)
    rows = session.exec(
        select(EntryEvent)
        .where(*where)
        .order_by(EntryEvent.occurred_at.desc(), EntryEvent.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return Page(rows, page, size, capped_count(session, where), where_filter)


def find_passages(
    session: Session, where_filter: EventFilter, zone: tzinfo, *, page: int = 1, size: int = 50
) -> Page[Passage]:
    """One page of the passages with a member matching the filter, newest first, each with all
    its members: one query for the page, one for the count."""
    page, size = _bounds(page, size)
    where = where_filter.conditions(zone)
    key = passage_key().label("passage")
    latest = sa.func.max(EntryEvent.occurred_at).label("latest")
    keys = (
        sa.select(key, latest)
        .where(*where)
        .group_by(key)
        .order_by(latest.desc(), key.desc())
        .offset((page - 1) * size)
        .limit(size)
        .subquery()
    )
    rows = session.execute(
        sa.select(EntryEvent, keys.c.passage)
        .join(keys, in_passage(keys.c.passage))
        .order_by(keys.c.latest.desc(), keys.c.passage.desc(), EntryEvent.occurred_at, EntryEvent.id)
    ).all()
    grouped = groupby(rows, key=lambda row: row[1])
    passages = [Passage(tuple(event for event, _key in group)) for _passage, group in grouped]
    return Page(passages, page, size, capped_count(session, where, per_passage=True), where_filter)


def passage_members(session: Session, event: EntryEvent) -> list[EntryEvent]:
    """Every event of ``event``'s passage, ``event`` among them, in crossing order."""
    key = event.passage_id or event.id
    return list(session.exec(
        select(EntryEvent).where(in_passage(key)).order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all())


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
