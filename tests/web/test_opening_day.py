"""A page that shows one day opens on today, unless today has nothing and another day has: then on
the latest day with records, saying so (the demo's events are dated 2026-11-20, and its first page
must not be zeros). A day named in the address always wins. Days are the site's (Asia/Jakarta),
computed as each test runs, so the tests hold at any time of day."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask.testing import FlaskClient

from gatewatch.models.enums import Role
from gatewatch.models.filters import day_bounds
from tests.web_helpers import GATE, NIK, VEHICLE_GATE, StoreEvent, csrf_token

ZONE = ZoneInfo("Asia/Jakarta")


def site_today() -> date:
    return datetime.now(ZONE).date()


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 5), ZONE)


def figure(page: str, name: str) -> int:
    match = re.search(rf'id="{name}">(\d+)<', page)
    assert match, name
    return int(match.group(1))


def notice(day: date, what: str) -> str:
    return f"No {what} today; showing {format_date(day, 'long', locale='en')}, the latest day with {what}."


def test_the_overview_opens_on_the_latest_day_with_events_when_today_has_none(
    client_for: Callable[[Role], FlaskClient], store_event: StoreEvent
) -> None:
    today = site_today()
    latest, older = today - timedelta(days=15), today - timedelta(days=40)
    store_event(at(latest, 9), with_evidence=False)
    store_event(at(latest, 10), direction="exit", with_evidence=False)
    store_event(at(older, 9), with_evidence=False)
    store_event(at(older, 11), with_evidence=False)
    auditor = client_for(Role.AUDITOR)

    page = auditor.get("/overview").get_data(as_text=True)
    assert 'id="not-today"' in page and notice(latest, "events") in page
    assert f'name="date" type="date" value="{latest.isoformat()}"' in page
    assert (figure(page, "total-entries"), figure(page, "total-exits")) == (1, 1)

    asked = auditor.get(f"/overview?date={today.isoformat()}").get_data(as_text=True)  # named: it wins
    assert 'id="not-today"' not in asked and f'value="{today.isoformat()}"' in asked
    assert (figure(asked, "total-entries"), figure(asked, "total-exits")) == (0, 0)
    older_page = auditor.get(f"/overview?date={older.isoformat()}").get_data(as_text=True)
    assert 'id="not-today"' not in older_page and figure(older_page, "total-entries") == 2


def test_a_day_with_events_today_still_opens_today(
    client_for: Callable[[Role], FlaskClient], store_event: StoreEvent
) -> None:
    today = site_today()
    store_event(day_bounds(today, ZONE)[0], with_evidence=False)  # the first instant of today at the site
    store_event(at(today - timedelta(days=3), 9), camera_id=VEHICLE_GATE, with_evidence=False)
    operator = client_for(Role.OPERATOR)

    page = operator.get("/overview").get_data(as_text=True)
    assert 'id="not-today"' not in page and f'value="{today.isoformat()}"' in page
    assert figure(page, "total-entries") == 1

    gate_b = operator.get(f"/overview?camera={VEHICLE_GATE}").get_data(as_text=True)  # its latest day
    assert notice(today - timedelta(days=3), "events") in gate_b and figure(gate_b, "total-entries") == 1
    gate_a = operator.get(f"/overview?camera={GATE}").get_data(as_text=True)
    assert 'id="not-today"' not in gate_a and figure(gate_a, "total-entries") == 1


def test_the_visitor_log_lists_the_latest_day_with_visits_when_nobody_came_today(
    client_for: Callable[[Role], FlaskClient],
) -> None:
    today = site_today()
    latest = today - timedelta(days=2)
    guard = client_for(Role.GUARD)
    form = {"id_number": NIK, "party_size": "1", "csrf_token": csrf_token(guard, "/visits")}
    registered = guard.post("/visits", data={**form, "visitor_name": "Rina Marlina",
                                             "check_in_at": f"{latest.isoformat()}T09:00"})
    assert registered.status_code == 303

    page = guard.get("/visits").get_data(as_text=True)
    assert notice(latest, "visits") in page and "Rina Marlina" in page
    asked = guard.get(f"/visits?date={today.isoformat()}").get_data(as_text=True)
    assert 'id="not-today"' not in asked and "Rina Marlina" not in asked

    guard.post("/visits", data={**form, "visitor_name": "Budi Santoso", "check_in_at": f"{today.isoformat()}T00:00"})
    page = guard.get("/visits").get_data(as_text=True)
    assert 'id="not-today"' not in page and "Budi Santoso" in page and "Rina Marlina" not in page
