"""The alerts' poll (GET /alerts/open.json) and the alert sound switch, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.events import new_flags
from gatewatch.models.db import session_scope
from gatewatch.models.enums import EventStatus, Role
from gatewatch.models.tables import AuditRecord, EntryEvent, User, Visit
from gatewatch.web.views.alerts import LIMIT
from tests.web_helpers import NIK, VEHICLE_GATE, StoreEvent, post_form, recent

ClientFor = Callable[[Role], FlaskClient]
#: What an alert tells, and nothing more: no visitor, no NIK, no evidence path.
ALERT_FIELDS = {
    "key", "event_id", "camera_id", "camera", "label", "direction", "occurred_at", "reason", "title", "text", "url",
}
_CURSOR = re.compile(r'data-after="(\d+)"')


def _cursor(client: FlaskClient, path: str = "/visits") -> int:
    """The newest event id as the page drew it: where its alerts start."""
    match = _CURSOR.search(client.get(path).get_data(as_text=True))
    assert match, f"no alert panel on {path}"
    return int(match.group(1))


def _poll(client: FlaskClient, after: int) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/alerts/open.json?after={after}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_the_poll_lists_new_flagged_passages_until_someone_decides(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine
) -> None:
    guard, operator = client_for(Role.GUARD), client_for(Role.OPERATOR)
    old = store_event(recent(20))
    after = _cursor(guard)
    assert after == old.id and _cursor(operator, "/events") == old.id
    walker = store_event(recent(3))
    store_event(recent(2), direction="exit")  # an exit is never flagged
    car = store_event(recent(1), label="car", camera_id=VEHICLE_GATE, with_evidence=False)
    assert walker.status == car.status == EventStatus.FLAGGED
    with session_scope(web_engine) as session:  # a visitor the answers must never name (added after the check)
        session.add(Visit(visitor_name="Budi Santoso", id_number=NIK, check_in_at=recent(600), registered_by="t"))

    answer = _poll(guard, after)
    assert answer["more"] is False
    assert [alert["key"] for alert in answer["alerts"]] == [car.id, walker.id]  # newest first
    alert = answer["alerts"][0]
    assert set(alert) == ALERT_FIELDS
    assert alert["event_id"] == car.id and alert["url"] == f"/events/{car.id}"
    assert (alert["camera_id"], alert["camera"], alert["label"], alert["direction"]) == (
        VEHICLE_GATE, "Vehicle gate", "car", "entry")
    assert alert["reason"] == car.flag and alert["title"] == "Flagged entry at Vehicle gate"
    assert alert["text"].endswith("1 car · Not registered") and "WIB" in alert["text"]
    body = guard.get(f"/alerts/open.json?after={after}").get_data(as_text=True)
    assert NIK not in body and "Budi" not in body and "evidence/" not in body
    assert _poll(operator, after) == answer  # the queue's operator hears of the same
    assert [a["key"] for a in _poll(guard, 0)["alerts"]] == [car.id, walker.id, old.id]  # no cursor: all open

    # A decision in any tab, by anyone, takes the passage out of the next answer.
    post_form(guard, f"/events/{walker.id}/false-alarm")
    post_form(operator, f"/events/{car.id}/acknowledge")  # seen: no longer an alarm
    assert _poll(guard, after) == {"alerts": [], "more": False}


def test_a_passage_is_one_alert_and_a_busy_gate_says_more_are_waiting(
    client_for: ClientFor, store_event: StoreEvent, web_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = client_for(Role.GUARD)
    after = _cursor(guard)
    bike = store_event(recent(5), label="motorcycle", with_evidence=False)
    riders = [store_event(recent(5), with_evidence=False) for _ in range(2)]
    with session_scope(web_engine) as session:
        for event in (bike, *riders):
            session.get(EntryEvent, event.id).passage_id = bike.id
    [alert] = _poll(guard, after)["alerts"]
    assert (alert["key"], alert["event_id"], alert["label"]) == (bike.id, bike.id, "motorcycle")
    assert "1 motorcycle, 2 persons" in alert["text"]

    newer = [store_event(recent(4), with_evidence=False) for _ in range(LIMIT)]
    answer = _poll(guard, after)
    assert [a["key"] for a in answer["alerts"]] == [e.id for e in reversed(newer)]
    assert answer["more"] is True
    assert _poll(guard, newer[0].id)["more"] is False  # a cursor past the passage leaves it out
    monkeypatch.setattr(new_flags, "WALK_LIMIT", -1)  # a cursor far back: read through the status index
    assert _poll(guard, after) == answer
    assert [a["key"] for a in _poll(guard, newer[0].id)["alerts"]] == [e.id for e in reversed(newer[1:])]


def test_a_bad_cursor_is_a_400_naming_it_and_auditors_get_no_alerts(client_for: ClientFor) -> None:
    guard = client_for(Role.GUARD)
    for bad in ("-1", "x", "1.5", "9" * 40, "٣"):
        response = guard.get(f"/alerts/open.json?after={bad}")
        assert response.status_code == 400, bad
        assert "after" in response.get_json()["fields"]
    auditor = client_for(Role.AUDITOR)
    assert auditor.get("/alerts/open.json").status_code == 403
    for path in ("/events", "/visits"):
        assert 'id="alerts"' not in auditor.get(path).get_data(as_text=True)
    assert 'id="alerts"' in client_for(Role.ADMIN).get("/events").get_data(as_text=True)


def test_each_user_turns_their_alert_sound_off_and_on_audited(
    client_for: ClientFor, web_engine: sa.Engine
) -> None:
    guard = client_for(Role.GUARD)
    assert 'data-sound="on"' in guard.get("/visits").get_data(as_text=True)
    response = post_form(guard, "/account/alert-sound", {"sound": "off", "next": "/visits"}, page="/visits")
    assert response.status_code == 303 and response.headers["Location"] == "/visits"
    page = guard.get("/visits").get_data(as_text=True)
    assert 'data-sound="off"' in page and "Alert sound off." in page
    assert 'data-sound="on"' in client_for(Role.OPERATOR).get("/events").get_data(as_text=True)  # only hers
    post_form(guard, "/account/alert-sound", {"sound": "off"}, page="/visits")  # already off: nothing to record
    refused = post_form(guard, "/account/alert-sound", {"sound": "loud", "next": "/visits"}, page="/visits")
    assert refused.status_code == 303
    assert "Choose whether the alert sound is on or off." in guard.get("/visits").get_data(as_text=True)
    no_token = guard.post("/account/alert-sound", data={"sound": "on"})
    assert no_token.status_code == 400
    with Session(web_engine) as session:
        user = session.exec(select(User).where(User.username == "guard")).one()
        assert user.alert_sound is False
        records = session.exec(
            select(AuditRecord).where(AuditRecord.action == "user.updated", AuditRecord.entity_id == str(user.id))
        ).all()
    assert [(r.actor, json.loads(r.before or "{}"), json.loads(r.after or "{}")) for r in records] == [
        ("guard", {"alert_sound": True}, {"alert_sound": False})
    ]
    post_form(guard, "/account/alert-sound", {"sound": "on"}, page="/visits")
    assert 'data-sound="on"' in guard.get("/visits").get_data(as_text=True)
