"""Standing authorisations on the pages: the admin's form and end button, the list everyone reads
(NIKs masked but for admins), and the authorisations in force on the guard's visitor log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Authorisation
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import AuthorisationInput, add_authorisation
from tests.web_helpers import GATE, NIK, count_rows, post_form

ClientFor = Callable[[Role], FlaskClient]
PAGE = "/authorisations"


def form(**changes: Any) -> dict[str, Any]:
    base = {
        "holder": "Shift B",
        "organisation": "PT Gudang Aman",
        "max_persons": "5",
        "max_vehicles": "1",
        "plates": "bg 1234 ab, B 77 CD",
        "members": f"Sari Wulandari: {NIK}\n",
        "camera_id": GATE,
        "valid_from": "2026-11-23",
        "valid_until": "2026-11-27",
        "weekdays": ["1", "2", "3", "4", "5"],
        "start_time": "08:00",
        "end_time": "16:00",
    }
    return {**base, **changes}


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return post_form(client, path, data, page=PAGE)


def store(engine: sa.Engine, settings: Settings, **fields: Any) -> int:
    data = AuthorisationInput.parse({"max_persons": 3, **fields}, settings.zone)
    with session_scope(engine) as session:
        row = add_authorisation(session, data, actor="admin", role="admin", settings=settings)
        return row.id


def test_an_admin_adds_one_through_the_form(client_for: ClientFor, web_engine: sa.Engine) -> None:
    admin = client_for(Role.ADMIN)
    page = admin.get(PAGE).get_data(as_text=True)
    assert 'id="authorisation-form"' in page and 'name="csrf_token"' in page
    assert f'href="{PAGE}"' in page  # the nav link

    response = post(admin, PAGE, form())
    assert response.status_code == 303
    listed = admin.get(PAGE).get_data(as_text=True)
    assert "Authorisation for Shift B added." in listed
    assert "Shift B" in listed and "BG 1234 AB, B 77 CD" in listed and NIK in listed
    assert "08:00–16:00" in listed and "Mon, Tue, Wed, Thu, Fri" in listed
    with Session(web_engine) as session:
        row = session.exec(select(Authorisation)).one()
        record = session.exec(select(AuditRecord).where(AuditRecord.action == "authorisation.created")).one()
    assert (row.weekdays, row.created_by) == ("1,2,3,4,5", "admin")
    assert NIK not in record.after


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"members": "Sari Wulandari: 1671011203850000"}, "members", "not a valid NIK"),
        ({"members": "Sari Wulandari"}, "members", "Line 1: write the name, a colon, then the NIK."),
        ({"weekdays": []}, "weekdays", "Choose at least one weekday"),
        ({"valid_until": "2026-11-01"}, "valid_until", "The last day cannot be before the first day."),
        ({"start_time": "8 pagi"}, "start_time", "Enter a time like 08:00."),
        ({"end_time": ""}, "end_time", "Give both the start and the end time"),
        ({"camera_id": "back-gate"}, "camera_id", "There is no such gate."),
        ({"plates": "nothing here"}, "plates", "B 1234 XYZ"),
    ],
)
def test_a_wrong_field_is_marked_and_nothing_is_stored(
    client_for: ClientFor, web_engine: sa.Engine, changes: dict[str, Any], field: str, message: str
) -> None:
    response = post(client_for(Role.ADMIN), PAGE, form(**changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="e-{field}"' in page and message in page
    assert 'value="Shift B"' in page  # what was typed is kept
    assert count_rows(web_engine, Authorisation) == 0


def test_other_roles_read_but_do_not_add_or_end(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    number = store(web_engine, web_settings, holder="Shift B", members=[{"name": "Sari", "id_number": NIK}],
                   valid_from="2026-11-23", valid_until="2026-11-27")
    for role in (Role.OPERATOR, Role.GUARD, Role.AUDITOR):
        client = client_for(role)
        page = client.get(PAGE).get_data(as_text=True)
        shown = NIK if role is Role.GUARD else NIK[:4] + " **** **** " + NIK[-4:]  # a guard checks people in
        assert "Shift B" in page and shown in page and (role is Role.GUARD or NIK not in page)
        assert 'id="authorisation-form"' not in page and f"/authorisations/{number}/end" not in page
        assert post(client, PAGE, form()).status_code == 403
        assert post(client, f"{PAGE}/{number}/end").status_code == 403
    assert count_rows(web_engine, Authorisation) == 1


def test_an_admin_ends_one(client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings) -> None:
    number = store(web_engine, web_settings, holder="Shift B", valid_from="2026-11-23", valid_until="2026-11-27")
    admin = client_for(Role.ADMIN)
    assert f"/authorisations/{number}/end" in admin.get(PAGE).get_data(as_text=True)
    assert post(admin, f"{PAGE}/{number}/end").status_code == 303
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Authorisation for Shift B ended." in page and "Ended " in page
    assert f"/authorisations/{number}/end" not in page
    post(admin, f"{PAGE}/{number}/end")
    assert "This authorisation has already been ended." in admin.get(PAGE).get_data(as_text=True)


def test_the_visitor_log_shows_what_is_in_force_now(
    client_for: ClientFor, web_engine: sa.Engine, web_settings: Settings
) -> None:
    now = datetime.now(web_settings.zone)
    today = now.date().isoformat()
    store(web_engine, web_settings, holder="Day crew", max_vehicles=2, valid_from=today, valid_until=today,
          camera_id=GATE)
    later = [(now + timedelta(hours=hours)).strftime("%H:%M") for hours in (2, 3)]
    store(web_engine, web_settings, holder="Late delivery", valid_from=today, valid_until=today,
          start_time=later[0], end_time=later[1])
    page = client_for(Role.GUARD).get("/visits").get_data(as_text=True)
    assert 'id="authorised-now"' in page
    assert "Day crew" in page and "up to 3 people and 2 vehicles" in page and f"gate {GATE}" in page
    assert "Late delivery" not in page


def test_the_pages_speak_indonesian(client_for: ClientFor, web_engine: sa.Engine) -> None:
    admin = client_for(Role.ADMIN)
    post(admin, "/account/language", {"locale": "id"})
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Standing authorisations" not in page and "Izin tetap" in page
    visits = admin.get("/visits").get_data(as_text=True)
    assert "Diizinkan sekarang" in visits
