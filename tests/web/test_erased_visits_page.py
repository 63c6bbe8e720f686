"""A visit whose personal fields retention erased reads "erased by retention" on the visitor log and on
the event page of the entry it explains, for every role, with no blank name left to puzzle over; the API
says when (``personal_erased_at``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.evidence.visit_retention import apply_visit_retention
from gatewatch.models.db import session_scope
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import Visit
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from tests.web_helpers import GATE, NIK, StoreEvent, recent

ERASED = "erased by retention"


def test_an_erased_visit_is_shown_as_erased(client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine,
                                            web_settings: Settings, store_event: StoreEvent, app: Flask,
                                            token_for: Callable[[Role], dict[str, str]]) -> None:
    with session_scope(web_engine) as session:
        session.add(Visit(visitor_name="Budi Santoso", id_number=NIK, organisation="PT Maju", camera_id=GATE,
                          check_in_at=recent(10), registered_by="guard"))
    event = store_event(recent(5))
    with Session(web_engine) as session:
        visit = session.exec(select(Visit)).one()
    assert event.visit_id == visit.id
    # A period of one day, applied as if two days had passed: the visit is past it.
    result = apply_visit_retention(web_engine, web_settings, actor="ops", role="cli", days=1,
                                   now=visit.check_in_at + timedelta(days=2))
    assert result.visits == 1
    day = visit.check_in_at.astimezone(web_settings.zone).date().isoformat()
    for role in HUMAN_ROLES:
        client = client_for(role)
        log = client.get(f"/visits?date={day}")
        page = client.get(f"/events/{event.id}")
        assert log.status_code == page.status_code == 200, role
        for text in (log.get_data(as_text=True), page.get_data(as_text=True)):
            assert ERASED in text and "Budi Santoso" not in text and masked_nik(NIK) not in text, role
        [answer] = app.test_client().get(f"/api/v1/visits?date={day}", headers=token_for(role)).get_json()["items"]
        assert answer["personal_erased_at"] and (answer["visitor_name"], answer["id_number"]) == ("", ""), role
