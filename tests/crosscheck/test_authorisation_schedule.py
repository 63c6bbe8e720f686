"""When an authorisation is in force: site dates both included, ISO weekdays, daily hours (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gatewatch.crosscheck.schedule import Schedule, format_weekdays, parse_weekdays

JAKARTA = ZoneInfo("Asia/Jakarta")  # UTC+7, no daylight saving
FRIDAY = date(2024, 5, 3)


def site(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A site time in Jakarta, as the aware UTC instant the service passes."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=JAKARTA).astimezone(UTC)


def days(n: int) -> timedelta:
    return timedelta(days=n)


@pytest.mark.parametrize(
    ("moment", "in_force"),
    [
        (site(FRIDAY - days(2), 0, 0), True),  # first date, from its first second in Jakarta
        (site(FRIDAY - days(2), 0, 0) - timedelta(seconds=1), False),  # 23:59:59 the evening before
        (site(FRIDAY, 23, 59, 59), True),  # the last date is included
        (site(FRIDAY + days(1), 0, 0), False),
    ],
)
def test_dates_are_site_dates_both_included(moment: datetime, in_force: bool) -> None:
    schedule = Schedule(valid_from=FRIDAY - days(2), valid_until=FRIDAY)

    assert schedule.in_force(moment, JAKARTA) is in_force


def test_the_first_site_date_starts_at_midnight_in_jakarta_not_utc() -> None:
    schedule = Schedule(valid_from=FRIDAY, valid_until=FRIDAY)

    # 18:00 UTC on Thursday is 01:00 on Friday in Jakarta; 16:00 UTC on Friday is 23:00 there.
    assert schedule.in_force(datetime(2024, 5, 2, 18, 0, tzinfo=UTC), JAKARTA)
    assert schedule.in_force(datetime(2024, 5, 3, 16, 0, tzinfo=UTC), JAKARTA)
    assert not schedule.in_force(datetime(2024, 5, 3, 18, 0, tzinfo=UTC), JAKARTA)


def test_only_the_named_weekdays() -> None:
    weekdays = Schedule(valid_from=date(2024, 4, 29), valid_until=date(2024, 5, 12), weekdays=(1, 2, 3, 4, 5))

    assert weekdays.in_force(site(FRIDAY, 12), JAKARTA)  # Friday: ISO 5
    assert not weekdays.in_force(site(FRIDAY + days(1), 12), JAKARTA)  # Saturday
    assert not weekdays.in_force(site(FRIDAY + days(2), 12), JAKARTA)  # Sunday: ISO 7
    assert weekdays.in_force(site(FRIDAY + days(3), 12), JAKARTA)  # Monday: ISO 1


def test_daily_hours_from_start_to_end() -> None:
    office = Schedule(valid_from=FRIDAY, valid_until=FRIDAY, start_time=time(8, 0), end_time=time(16, 30))

    assert not office.in_force(site(FRIDAY, 7, 59, 59), JAKARTA)
    assert office.in_force(site(FRIDAY, 8, 0), JAKARTA)
    assert office.in_force(site(FRIDAY, 16, 29, 59), JAKARTA)
    assert not office.in_force(site(FRIDAY, 16, 30), JAKARTA)
    assert office.shift_at(site(FRIDAY, 12), JAKARTA) == (site(FRIDAY, 8), site(FRIDAY, 16, 30))


def test_a_night_shift_belongs_to_the_day_it_starts_on() -> None:
    friday_nights = Schedule(valid_from=date(2024, 4, 1), valid_until=date(2024, 5, 31), weekdays=(5,),
                             start_time=time(22, 0), end_time=time(6, 0))
    saturday = FRIDAY + days(1)

    assert not friday_nights.in_force(site(FRIDAY, 21, 59), JAKARTA)
    assert friday_nights.in_force(site(FRIDAY, 22, 0), JAKARTA)
    assert friday_nights.in_force(site(saturday, 5, 59), JAKARTA)  # Saturday morning, Friday's shift
    assert not friday_nights.in_force(site(saturday, 6, 0), JAKARTA)
    assert not friday_nights.in_force(site(saturday, 23, 0), JAKARTA)  # Saturday is not a shift day
    assert not friday_nights.in_force(site(FRIDAY, 3, 0), JAKARTA)  # Thursday's night: Thursday is not one
    assert friday_nights.shift_at(site(saturday, 2), JAKARTA) == (site(FRIDAY, 22), site(saturday, 6))


def test_a_night_shift_on_the_last_date_runs_into_the_next_morning_but_not_one_before_the_first() -> None:
    only_friday = Schedule(valid_from=FRIDAY, valid_until=FRIDAY, start_time=time(22, 0), end_time=time(6, 0))

    assert only_friday.in_force(site(FRIDAY + days(1), 3), JAKARTA)
    assert not only_friday.in_force(site(FRIDAY, 3), JAKARTA)  # Thursday's shift: before valid_from


def test_no_times_means_all_day() -> None:
    all_day = Schedule(valid_from=FRIDAY, valid_until=FRIDAY)

    assert all_day.shift_at(site(FRIDAY, 13), JAKARTA) == (site(FRIDAY, 0), site(FRIDAY + days(1), 0))
    assert all_day.shift_at(site(FRIDAY + days(1), 0), JAKARTA) is None


def test_span_reaches_the_morning_after_the_last_date() -> None:
    schedule = Schedule(valid_from=FRIDAY, valid_until=FRIDAY, start_time=time(22, 0), end_time=time(6, 0))

    start, end = schedule.span(JAKARTA)

    assert start <= site(FRIDAY, 22) and end >= site(FRIDAY + days(1), 6)


def test_shift_ends_lists_the_shifts_ending_in_a_stretch_of_time() -> None:
    nights = Schedule(valid_from=date(2024, 5, 1), valid_until=date(2024, 5, 31), weekdays=(3, 5),
                      start_time=time(22, 0), end_time=time(6, 0))
    wednesday = FRIDAY - days(2)

    ends = nights.shift_ends(site(wednesday, 4), site(FRIDAY + days(1), 6), JAKARTA)

    assert ends == [site(wednesday + days(1), 6), site(FRIDAY + days(1), 6)]
    assert nights.shift_ends(site(wednesday, 4), site(FRIDAY + days(1), 5, 59), JAKARTA) == ends[:1]


@pytest.mark.parametrize(
    ("text", "weekdays"),
    [
        ("1-5", (1, 2, 3, 4, 5)),
        ("1,3,5", (1, 3, 5)),
        ("6-7,1", (1, 6, 7)),
        (" 2 , 4 ", (2, 4)),
        ("7", (7,)),
        ("1-3,2-4", (1, 2, 3, 4)),
    ],
)
def test_parse_weekdays(text: str, weekdays: tuple[int, ...]) -> None:
    assert parse_weekdays(text) == weekdays


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "within 1 (Monday) to 7 (Sunday)"),
        ("8", "within 1 (Monday) to 7 (Sunday)"),
        ("5-1", "within 1 (Monday) to 7 (Sunday)"),
        ("mon", "not a weekday number 1-7 or a range like 1-5"),
        ("", "not a weekday number 1-7 or a range like 1-5"),
        ("1,,2", "not a weekday number 1-7 or a range like 1-5"),
        ("1-", "not a weekday number 1-7 or a range like 1-5"),  # not Monday alone: a range cut short
    ],
)
def test_parse_weekdays_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match="weekdays") as error:
        parse_weekdays(text)
    assert says in str(error.value)


def test_weekdays_are_stored_as_they_are_parsed_back() -> None:
    assert format_weekdays((5, 1, 3)) == "1,3,5"
    assert parse_weekdays(format_weekdays((7, 6, 1))) == (1, 6, 7)
