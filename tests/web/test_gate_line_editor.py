"""The gate line editor's server side: the preview against real events' boxes, the audited save, bad
lines refused with the line in force kept, unknown and external cameras, and who may use it.

The events are the motorcycle clip's, analysed once by the real model (tests/line_preview_events.py),
copied to the test site as events of the main gate, whose configured line is the one they were
counted against.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Camera, EntryEvent
from gatewatch.settings import Settings
from tests.line_preview_events import GATE as COUNTED
from tests.line_preview_events import copy_events
from tests.web_helpers import GATE, csrf_token

ClientFor = Callable[[Role], FlaskClient]
EXTERNAL, NEW = "anpr-gate", "side-gate"  # another system posts its crossings; no worker has run yet
#: The form's fields for the line the events were counted against, and for it with the inside turned.
COUNTED_FORM = {"line_x1": "0", "line_y1": "0.5", "line_x2": "1", "line_y2": "0.5", "inside_x": "0.5",
                "inside_y": "0.9", "margin": "0.02"}
TURNED_FORM = {**COUNTED_FORM, "inside_y": "0.1"}
TURNED = {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.1], "margin": 0.02}


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The test site with an external camera and a camera no worker has reported yet."""
    raw = web_settings.model_dump()
    raw["cameras"] = [*raw["cameras"], {"id": EXTERNAL, "name": "ANPR gate", "source": "external"},
                      {"id": NEW, "name": "Side gate", "source": "2", "gate": COUNTED}]
    return Settings.model_validate(raw)


@pytest.fixture
def events(web_engine: sa.Engine, web_settings: Settings) -> list[EntryEvent]:
    return copy_events(web_engine, web_settings.data_dir, GATE)


def _save(client: FlaskClient, camera_id: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/cameras/{GATE}/line")
    return client.post(f"/cameras/{camera_id}/line", data={**form, "csrf_token": token})


def _line_changes(engine: sa.Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == "camera.line_changed")
                                 .order_by(AuditRecord.seq)).all())


def _saved_line(engine: sa.Engine, camera_id: str = GATE) -> Camera | None:
    with Session(engine) as session:
        return session.get(Camera, camera_id)


def _counts(page: str, outcome: str) -> tuple[int, int]:
    """(line in force, line as edited) in the preview table's row for ``outcome``."""
    row = re.search(rf'<tr id="preview-{outcome}">(.*?)</tr>', page, re.DOTALL)
    assert row, page
    in_force, edited = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    return int(in_force), int(edited)


def test_an_admin_previews_a_line_against_recent_events_and_saves_it_audited(
    client_for: ClientFor, web_engine: sa.Engine, events: list[EntryEvent],
) -> None:
    n = len(events)
    admin = client_for(Role.ADMIN)
    page = admin.get(f"/cameras/{GATE}/line").get_data(as_text=True)
    assert "From the configuration file" in page
    assert _counts(page, "same") == (n, n) and _counts(page, "other") == (0, 0)  # the line they were counted on
    assert f'value="{COUNTED_FORM["inside_y"]}"' in page

    answer = admin.get(f"/cameras/{GATE}/line/preview.json", query_string=TURNED_FORM)
    assert answer.status_code == 200
    preview = answer.json
    assert (preview["in_force"], preview["proposed"]) == ({"same": n, "other": 0, "none": 0},
                                                          {"same": 0, "other": n, "none": 0})
    assert {c["event_id"] for c in preview["changed"]} == {e.id for e in events}
    assert _counts(preview["html"], "other") == (0, n) and 'id="preview-changed"' in preview["html"]

    saved = _save(admin, GATE, TURNED_FORM)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/cameras/{GATE}/line")
    page = admin.get(f"/cameras/{GATE}/line").get_data(as_text=True)
    assert "Gate line saved; the running worker counts against it within seconds." in page
    assert "Saved on this page by admin" in page
    row = _saved_line(web_engine)
    assert json.loads(row.gate_line) == TURNED and row.gate_line_saved_by == "admin"
    [change] = _line_changes(web_engine)
    assert (change.actor, change.role, change.entity, change.entity_id) == ("admin", "admin", "camera", GATE)
    assert json.loads(change.before) == {**COUNTED, "margin": 0.02} and json.loads(change.after) == TURNED

    # The preview now compares with the saved line; the configured line, proposed again, turns them back.
    back = admin.get(f"/cameras/{GATE}/line/preview.json", query_string=COUNTED_FORM).json
    assert back["in_force"]["other"] == n and back["proposed"]["same"] == n

    again = _save(admin, GATE, TURNED_FORM)  # the line in force already: nothing written, nothing audited
    assert again.status_code == 303 and len(_line_changes(web_engine)) == 1
    assert "nothing was saved" in admin.get(f"/cameras/{GATE}/line").get_data(as_text=True)

    trail = admin.get("/audit", query_string={"action": "camera.line_changed"}).get_data(as_text=True)
    assert "camera.line_changed" in trail and f"camera #{GATE}" in trail
    assert "&#34;inside&#34;:[0.5,0.1]" in trail and "&#34;inside&#34;:[0.5,0.9]" in trail


#: Bad lines, and what the page says about each.
BAD_LINES = [
    ({"line_x1": "2"}, "Give a number from 0 to 1."),  # outside the picture
    ({"line_y1": "abc"}, "Give a number from 0 to 1."),
    ({"inside_x": "nan"}, "Give a number from 0 to 1."),
    ({"margin": "0.5"}, "Give a number from 0 to 0.2."),
    ({"line_x2": "0"}, "The line&#39;s two ends are the same point"),
    ({"inside_y": "0.5"}, "The inside point lies on the line"),
]


def test_a_bad_line_is_refused_saying_why_and_the_line_in_force_stays(
    client_for: ClientFor, web_engine: sa.Engine,
) -> None:
    admin = client_for(Role.ADMIN)
    for change, message in BAD_LINES:
        form = {**TURNED_FORM, **change}
        refused = _save(admin, GATE, form)
        assert refused.status_code == 422, change
        page = refused.get_data(as_text=True)
        assert message in page, change
        field, value = next(iter(change.items()))
        assert f'name="{field}" type="number" value="{value}"' in page  # what was typed, to correct
        preview = admin.get(f"/cameras/{GATE}/line/preview.json", query_string=form)
        assert preview.status_code == 400 and preview.json["error"], change
    assert _saved_line(web_engine).gate_line is None and _line_changes(web_engine) == []
    assert "From the configuration file" in admin.get(f"/cameras/{GATE}/line").get_data(as_text=True)


def test_unknown_cameras_are_404_external_ones_refused_and_a_camera_without_a_worker_yet_gets_its_line(
    client_for: ClientFor, web_engine: sa.Engine,
) -> None:
    admin = client_for(Role.ADMIN)
    for path in ("/cameras/nowhere/line", "/cameras/nowhere/line/preview.json"):
        assert admin.get(path, query_string=COUNTED_FORM).status_code == 404
    assert _save(admin, "nowhere", COUNTED_FORM).status_code == 404

    page = admin.get(f"/cameras/{EXTERNAL}/line")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "This camera is external" in text and 'id="line-form"' not in text
    refused = _save(admin, EXTERNAL, COUNTED_FORM)
    assert refused.status_code == 409 and "This camera is external" in refused.get_data(as_text=True)
    preview = admin.get(f"/cameras/{EXTERNAL}/line/preview.json", query_string=COUNTED_FORM)
    assert preview.status_code == 409 and "external" in preview.json["error"]
    assert _line_changes(web_engine) == []

    assert _saved_line(web_engine, NEW) is None
    assert "No event of this camera has stored boxes yet" in admin.get(f"/cameras/{NEW}/line").get_data(as_text=True)
    assert _save(admin, NEW, TURNED_FORM).status_code == 303
    assert json.loads(_saved_line(web_engine, NEW).gate_line) == TURNED


@pytest.mark.parametrize("web_database", ["sqlite"], indirect=True)
def test_only_admins_place_lines_and_only_they_see_the_link(client_for: ClientFor, web_engine: sa.Engine) -> None:
    for role in (Role.OPERATOR, Role.GUARD, Role.AUDITOR):
        client = client_for(role)
        assert client.get(f"/cameras/{GATE}/line").status_code == 403
        assert client.get(f"/cameras/{GATE}/line/preview.json", query_string=COUNTED_FORM).status_code == 403
        token = csrf_token(client, "/cameras")
        assert client.post(f"/cameras/{GATE}/line", data={**TURNED_FORM, "csrf_token": token}).status_code == 403
        assert f'href="/cameras/{GATE}/line"' not in client.get("/cameras").get_data(as_text=True)
    assert _saved_line(web_engine).gate_line is None
    assert f'href="/cameras/{GATE}/line"' in client_for(Role.ADMIN).get("/cameras").get_data(as_text=True)
