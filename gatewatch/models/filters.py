"""What every query of stored records shares: filter values read from a query string or form,
a page's largest size, and the instants a day at the site starts and ends.

Low enough for audit/ and events/ alike; it knows no table.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

#: The most rows one page of a list may hold.
MAX_PAGE_SIZE = 200
#: The largest id of a record: a PostgreSQL integer's. A larger one names no record.
MAX_ID = 2**31 - 1
#: The days a filter takes: a year outside 2000-2999 is a typo, and the edges of what ``date``
#: holds (0001-01-01, 9999-12-31) would overflow the day after or site midnight in UTC.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
#: The same rule for the OpenAPI document: a ``format: date`` string whose year is 2000-2999.
DAY_PATTERN = "^2[0-9]{3}-"
#: YYYY-MM-DD only: ``date.fromisoformat`` would also read 20261120 and 2026-W47-5.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FilterError(ValueError):
    """A filter value is not one the query knows; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def parse_day(text: str | None, field: str) -> date | None:
    """The day in ``text``, YYYY-MM-DD, from FIRST_DAY to LAST_DAY; None when it is blank.

    Raises FilterError naming ``field`` when ``text`` is not such a date; the caller decides what
    a person is told (a page may ignore it, the API answers 400 naming the field).
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise FilterError(field, f"{text!r} is not a date such as 2026-11-20")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(field, f"{text} is not a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants a site day starts and ends (a day at the site is not a UTC day)."""
    return datetime.combine(day, time(), zone), datetime.combine(day + timedelta(days=1), time(), zone)
