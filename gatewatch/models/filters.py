"""What every query of stored records shares: filter values read from a query string or form,
a page's largest size, and the instants a day at the site starts and ends.

Low enough for audit/ and events/ alike; it knows no table.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

#: The most rows one page of a list may hold.
MAX_PAGE_SIZE = 200


class FilterError(ValueError):
    """A filter value is not one the query knows; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def parse_day(text: str | None, field: str) -> date | None:
    """The day in ``text``, YYYY-MM-DD; None when it is blank.

    Raises FilterError naming ``field`` when ``text`` is not a date; the caller decides what a
    person is told (a page may ignore it, the API answers 400 naming the field).
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(field, f"{text!r} is not a date such as 2026-11-20") from None


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants a site day starts and ends (a day at the site is not a UTC day)."""
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)
