"""When a standing authorisation is in force: site dates, ISO weekdays and daily hours.

Pure: plain values in, instants out. An authorisation is valid on the site dates from
``valid_from`` to ``valid_until``, both included, on the ISO weekdays it names, from its start
time to its end time in the site's zone. An end before the start spans midnight: the shift
belongs to the day it starts on (a Friday night shift 22:00-06:00 ends on Saturday morning, and
the Friday must be a valid weekday and date). No times means all day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True, slots=True)
class Schedule:
    valid_from: date
    valid_until: date
    weekdays: Collection[int] = ALL_WEEKDAYS
    start_time: time | None = None
    end_time: time | None = None

    def shift_at(self, moment: datetime, zone: tzinfo) -> tuple[datetime, datetime] | None:
        """The [start, end) of the shift in force at ``moment`` (aware), in UTC; None when off duty."""
        local = moment.astimezone(zone)
        for day in (local.date(), local.date() - timedelta(days=1)):
            shift = self._shift_of(day, zone)
            if shift is not None and shift[0] <= moment < shift[1]:
                return shift
        return None

    def in_force(self, moment: datetime, zone: tzinfo) -> bool:
        return self.shift_at(moment, zone) is not None

    def shift_ends(self, since: datetime, until: datetime, zone: tzinfo) -> list[datetime]:
        """The ends of its shifts that end in (``since``, ``until``] (aware), in UTC, in order."""
        day, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date()
        ends = []
        while day <= last:
            shift = self._shift_of(day, zone)
            if shift is not None and since < shift[1] <= until:
                ends.append(shift[1])
            day += timedelta(days=1)
        return ends

    def span(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The first instant it can be in force and the instant after the last, in UTC."""
        start = _at(self.valid_from, time(0), zone)
        end = _at(self.valid_until + timedelta(days=2), time(0), zone)  # a night shift may end the day after
        return start, end

    def _shift_of(self, day: date, zone: tzinfo) -> tuple[datetime, datetime] | None:
        """The shift that starts on site date ``day``, if the schedule has one."""
        if not (self.valid_from <= day <= self.valid_until) or day.isoweekday() not in self.weekdays:
            return None
        start_time = self.start_time or time(0)
        end_time = self.end_time or time(0)
        end_day = day if end_time > start_time else day + timedelta(days=1)
        return _at(day, start_time, zone), _at(end_day, end_time, zone)


def _at(day: date, clock: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def parse_weekdays(text: str) -> tuple[int, ...]:
    """ISO weekdays from "1-5", "1,3,5" or "6-7,1"; ValueError naming what is wrong."""
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"weekdays: {part!r} is not a weekday number 1-7 or a range like 1-5") from None
        if not (1 <= low <= high <= 7):
            raise ValueError(f"weekdays: {part!r} is not within 1 (Monday) to 7 (Sunday)")
        days.update(range(low, high + 1))
    return tuple(sorted(days))


def format_weekdays(days: Collection[int]) -> str:
    return ",".join(str(day) for day in sorted(days))
