"""The overview shows how many people and vehicles the cross-check counts inside now: the count
its capacity rule uses, so an operator can see why a fifth person was flagged."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import Authorisation
from tests.web_helpers import StoreEvent, recent


def _figure(page: str, name: str) -> int:
    found = re.search(rf'id="present-{name}">(\d+)<', page)
    assert found, f"no present-{name} on the overview"
    return int(found.group(1))


def test_the_overview_shows_the_people_inside_as_the_rules_count_them(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, store_event: StoreEvent
) -> None:
    today = recent(0).date()
    with session_scope(web_engine) as session:
        session.add(Authorisation(holder="Pos jaga, regu A", max_persons=2, max_vehicles=1, created_by="test",
                                  valid_from=today - timedelta(days=1), valid_until=today + timedelta(days=1)))
    operator = client_for(Role.OPERATOR)
    assert _figure(operator.get("/overview").get_data(as_text=True), "persons") == 0
    store_event(recent(3))
    store_event(recent(2.5))
    store_event(recent(2), label="car")
    stranger = store_event(recent(1.5))  # the post is full: flagged, and not counted as explained
    assert stranger.status == "flagged"
    page = operator.get("/overview").get_data(as_text=True)
    assert (_figure(page, "persons"), _figure(page, "vehicles")) == (2, 1)
    store_event(recent(1), direction="exit")
    assert _figure(operator.get("/overview").get_data(as_text=True), "persons") == 1
