"""Who sees a visitor's NIK (issue 21, item 2): in full for guards and admins, masked for operators and
auditors in pages, API answers and evidence exports; an auditor's reveal with a reason, audited without
the NIK; no NIK in any URL a page makes; a guard's search by full NIK, which POSTs."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.evidence.export import ExportSelection, create_export
from gatewatch.models.db import session_scope
from gatewatch.models.enums import HUMAN_ROLES, Role
from gatewatch.models.tables import AuditRecord, Authorisation, EntryEvent, Visit
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from tests.web_helpers import GATE, NIK, VEHICLE_GATE, StoreEvent, post_form, recent

ClientFor = Callable[[Role], FlaskClient]
Headers = Callable[[Role], dict[str, str]]
#: A member of a standing authorisation (South Sumatra, a woman born 5 July 1988).
MEMBER_NIK = "1671014507880005"
MASKED, MEMBER_MASKED = masked_nik(NIK), masked_nik(MEMBER_NIK)
FULL_ROLES = frozenset({Role.GUARD, Role.ADMIN})
#: A NIK in a URL: 16 digits, maybe in groups (a masked one has no such run).
NIK_RUN = re.compile(r"\d{4}[\s+%20-]*\d{4}[\s+%20-]*\d{4}[\s+%20-]*\d{4}")
URL_ATTRIBUTE = re.compile(r'(?:href|action|src|data-[a-z-]+|formaction)="([^"]*)"')


@pytest.fixture
def linked(
    web_engine: sa.Engine, web_settings: Settings, store_event: StoreEvent
) -> tuple[Visit, EntryEvent, EntryEvent]:
    """A visit at one gate and an all-day authorisation at the other, both in force now, and an entry
    at each gate, explained by them: (visit, its entry, the authorisation's entry)."""
    today = datetime.now(web_settings.zone).date()
    with session_scope(web_engine) as session:
        session.add(Visit(visitor_name="Budi Santoso", id_number=NIK, organisation="PT Maju", camera_id=GATE,
                          check_in_at=recent(10), registered_by="guard"))
        session.add(Authorisation(holder="Regu A", max_persons=4, camera_id=VEHICLE_GATE,
                                  valid_from=today - timedelta(days=1),
                                  valid_until=today + timedelta(days=1), created_by="admin",
                                  members=json.dumps([{"name": "Sari Wulandari", "id_number": MEMBER_NIK}])))
    entries = [store_event(recent(5)), store_event(recent(4), camera_id=VEHICLE_GATE)]
    with Session(web_engine) as session:
        visit = session.exec(select(Visit)).one()
    by_visit = [e for e in entries if e.visit_id == visit.id]
    by_authorisation = [e for e in entries if e.authorisation_id is not None]
    assert len(by_visit) == len(by_authorisation) == 1, entries
    return visit, by_visit[0], by_authorisation[0]


def _shown(role: Role, full: str, masked: str, text: str) -> bool:
    """The text shows the NIK as the role may see it: in full, or masked and never in full."""
    return full in text if role in FULL_ROLES else (masked in text and full not in text)


def _urls_with_a_nik(page: str) -> list[str]:
    return [url for url in URL_ATTRIBUTE.findall(page) if NIK_RUN.search(url)]


def test_pages_and_api_show_the_nik_in_full_only_to_guards_and_admins(
    client_for: ClientFor, token_for: Headers, linked: tuple[Visit, EntryEvent, EntryEvent], app: Flask,
    web_settings: Settings,
) -> None:
    visit, event, _other = linked
    day = visit.check_in_at.astimezone(web_settings.zone).date().isoformat()
    api = app.test_client()
    problems = []
    for role in HUMAN_ROLES:
        client, token = client_for(role), token_for(role)
        pages = {
            "visitor log": client.get(f"/visits?date={day}").get_data(as_text=True),
            "event page": client.get(f"/events/{event.id}").get_data(as_text=True),
        }
        link = re.search(r'<dd id="event-visit"><a href="([^"]+)"', pages["event page"])
        if not (link and link.group(1) == f"/visits?date={day}#visit-{visit.id}"):
            problems.append(f"{role}: the event page links to the visit as {link and link.group(1)}")
        for name, page in pages.items():
            if not _shown(role, NIK, MASKED, page):
                problems.append(f"{role}: {name}")
            if _urls_with_a_nik(page):
                problems.append(f"{role}: {name} has a NIK in a URL: {_urls_with_a_nik(page)}")
        authorisations = client.get("/authorisations").get_data(as_text=True)
        if not _shown(role, MEMBER_NIK, MEMBER_MASKED, authorisations):
            problems.append(f"{role}: authorisations page")
        (item,) = api.get("/api/v1/visits", headers=token).json["items"]
        if item["id_number"] != (NIK if role in FULL_ROLES else MASKED):
            problems.append(f"{role}: GET /api/v1/visits answered {item['id_number']}")
        members = api.get("/api/v1/authorisations", headers=token).json["items"][0]["members"]
        if members[0]["id_number"] != (MEMBER_NIK if role in FULL_ROLES else MEMBER_MASKED):
            problems.append(f"{role}: GET /api/v1/authorisations answered {members}")
        detail = api.get(f"/api/v1/events/{event.id}", headers=token)
        if detail.json["visit_id"] != visit.id or NIK in detail.get_data(as_text=True):
            problems.append(f"{role}: GET /api/v1/events/{event.id}")
    assert not problems, "\n".join(problems)
    # A device posts crossings and a scraper reads /metrics: neither reads the visitor log.
    for machine in (Role.DEVICE, Role.METRICS):
        assert api.get("/api/v1/visits", headers=token_for(machine)).status_code == 403


def test_an_auditor_reveals_a_nik_on_the_page_with_a_reason_and_it_is_audited_without_it(
    client_for: ClientFor, linked: tuple[Visit, EntryEvent, EntryEvent], web_engine: sa.Engine
) -> None:
    visit = linked[0]
    auditor = client_for(Role.AUDITOR)
    log = auditor.get("/visits").get_data(as_text=True)
    assert f'action="/visits/{visit.id}/reveal"' in log and NIK not in log
    refused = post_form(auditor, f"/visits/{visit.id}/reveal", {"reason": "   "}, page="/visits")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="reveal-error"' in page and NIK not in page and MASKED in page
    assert _revealed(web_engine) == []

    shown = post_form(auditor, f"/visits/{visit.id}/reveal", {"reason": "Polres request 12/XI"}, page="/visits")
    assert shown.status_code == 200
    assert re.search(rf'id="revealed-nik"><strong>{NIK}</strong>', shown.get_data(as_text=True))
    assert NIK not in auditor.get("/visits").get_data(as_text=True)  # once: the log still masks it
    (record,) = _revealed(web_engine)
    assert (record.actor, record.role, record.entity, record.entity_id) == ("auditor", "auditor", "visit", str(visit.id))
    assert json.loads(record.after or "{}") == {"visit_id": visit.id, "reason": "Polres request 12/XI",
                                                "id_number": MASKED}
    assert NIK not in json.dumps(record.model_dump(mode="json"))

    assert post_form(auditor, "/visits/999999/reveal", {"reason": "x"}, page="/visits").status_code == 404
    back = auditor.get(f"/visits/{visit.id}/reveal")  # the language switch on the answer: to the log, masked
    assert back.status_code == 303 and back.headers["Location"].endswith(f"#visit-{visit.id}")
    for role in (Role.OPERATOR, Role.GUARD, Role.ADMIN):
        client = client_for(role)
        assert 'class="reveal-nik"' not in client.get("/visits").get_data(as_text=True)
        assert post_form(client, f"/visits/{visit.id}/reveal", {"reason": "curious"}, page="/visits").status_code == 403
    assert len(_revealed(web_engine)) == 1


def test_the_api_reveal_is_the_auditors_with_a_reason(
    app: Flask, token_for: Headers, linked: tuple[Visit, EntryEvent, EntryEvent], web_engine: sa.Engine
) -> None:
    visit, api = linked[0], app.test_client()
    url = f"/api/v1/visits/{visit.id}/reveal"
    auditor = token_for(Role.AUDITOR)
    for body in ({}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 501}):
        answer = api.post(url, json=body, headers=auditor)
        assert answer.status_code == 422 and "reason" in answer.json["fields"], (body, answer.json)
    assert api.post("/api/v1/visits/999999/reveal", json={"reason": "case 7"}, headers=auditor).status_code == 404
    for role in (Role.OPERATOR, Role.GUARD, Role.ADMIN, Role.DEVICE):
        assert api.post(url, json={"reason": "case 7"}, headers=token_for(role)).status_code == 403
    assert _revealed(web_engine) == []
    answer = api.post(url, json={"reason": "case 7"}, headers=auditor)
    assert answer.status_code == 200
    assert answer.json == {"visit_id": visit.id, "visitor_name": "Budi Santoso", "id_number": NIK}
    (record,) = _revealed(web_engine)
    assert json.loads(record.after or "{}")["reason"] == "case 7" and NIK not in (record.after or "")


def test_search_by_nik_posts_and_matches_a_whole_nik_for_those_who_see_it_masked(
    client_for: ClientFor, token_for: Headers, app: Flask, linked: tuple[Visit, EntryEvent, EntryEvent]
) -> None:
    guard = client_for(Role.GUARD)
    found = post_form(guard, "/visits/search", {"q": "1671 0112 0385 0001"}, page="/visits")
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and "Budi Santoso" in page and NIK in page and not _urls_with_a_nik(page)
    assert "Budi Santoso" in post_form(guard, "/visits/search", {"q": "01120385"}, page="/visits").get_data(as_text=True)
    assert "Budi Santoso" in post_form(guard, "/visits/search", {"q": "maju"}, page="/visits").get_data(as_text=True)
    assert "Budi Santoso" in guard.get("/visits?q=maju").get_data(as_text=True)  # names stay linkable
    # A NIK in the address is not searched, and the page says why.
    from_url = guard.get(f"/visits?q={NIK}").get_data(as_text=True)
    assert 'id="nik-in-url"' in from_url and "Search results" not in from_url
    # An operator matches a NIK only whole: digits cannot be guessed a few at a time.
    operator = client_for(Role.OPERATOR)
    assert "Budi Santoso" in post_form(operator, "/visits/search", {"q": NIK}, page="/visits").get_data(as_text=True)
    assert "Budi Santoso" not in post_form(operator, "/visits/search", {"q": NIK[:8]}, page="/visits").get_data(
        as_text=True)
    api = app.test_client()
    assert len(api.get(f"/api/v1/visits?q={NIK[:8]}", headers=token_for(Role.GUARD)).json["items"]) == 1
    assert api.get(f"/api/v1/visits?q={NIK[:8]}", headers=token_for(Role.AUDITOR)).json["items"] == []
    (item,) = api.get(f"/api/v1/visits?q={NIK}", headers=token_for(Role.AUDITOR)).json["items"]
    assert item["id_number"] == MASKED
    # The search form itself POSTs, with its CSRF token.
    form = re.search(r'<form class="filters"[^>]*>', guard.get("/visits").get_data(as_text=True))
    assert form and 'method="post"' in form.group(0) and 'action="/visits/search"' in form.group(0)
    assert guard.post("/visits/search", data={"q": NIK}).status_code == 400  # no CSRF token
    assert guard.get("/visits/search").headers["Location"] == "/visits"  # the language switch on the results


def test_an_evidence_export_masks_the_niks_of_visits_and_members(
    web_engine: sa.Engine, web_settings: Settings, linked: tuple[Visit, EntryEvent, EntryEvent], tmp_path: Path
) -> None:
    _visit, first, second = linked
    path = tmp_path / "export.zip"
    create_export(web_engine, web_settings, ExportSelection(event_ids=(first.id, second.id)), path,
                  actor="auditor", role="auditor")
    with zipfile.ZipFile(path) as archive:
        visits = json.loads(archive.read("visits.json"))
        members = json.loads(json.loads(archive.read("authorisations.json"))[0]["members"])
        # The audit table is the trail's (issue 21, item 1): every other member is checked here.
        texts = {name: archive.read(name) for name in archive.namelist() if not name.startswith("audit.")}
    assert [v["id_number"] for v in visits] == [MASKED]
    assert members == [{"name": "Sari Wulandari", "id_number": MEMBER_MASKED}]
    assert MASKED.encode() in texts["visits.csv"] and MEMBER_MASKED.encode() in texts["authorisations.csv"]
    leaks = [name for name, data in texts.items() if NIK.encode() in data or MEMBER_NIK.encode() in data]
    assert leaks == []


def _revealed(engine: sa.Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == "visit.revealed")).all())



def test_an_auditor_reveals_an_authorisations_members_with_a_reason(
    app: Flask, client_for: ClientFor, token_for: Headers, linked: tuple[Visit, EntryEvent, EntryEvent],
    web_engine: sa.Engine,
) -> None:
    with Session(web_engine) as session:
        number = session.exec(select(Authorisation)).one().id
    auditor = client_for(Role.AUDITOR)
    listing = auditor.get("/authorisations").get_data(as_text=True)
    assert f'action="/authorisations/{number}/reveal"' in listing and MEMBER_NIK not in listing
    refused = post_form(auditor, f"/authorisations/{number}/reveal", {"reason": ""}, page="/authorisations")
    assert refused.status_code == 422 and MEMBER_NIK not in refused.get_data(as_text=True)
    shown = post_form(auditor, f"/authorisations/{number}/reveal", {"reason": "shift check"}, page="/authorisations")
    assert shown.status_code == 200 and f"<strong>{MEMBER_NIK}</strong>" in shown.get_data(as_text=True)
    api, url = app.test_client(), f"/api/v1/authorisations/{number}/reveal"
    assert api.post(url, json={}, headers=token_for(Role.AUDITOR)).status_code == 422
    assert api.post("/api/v1/authorisations/99999/reveal", json={"reason": "x"},
                    headers=token_for(Role.AUDITOR)).status_code == 404
    for role in (Role.OPERATOR, Role.GUARD, Role.ADMIN):
        assert api.post(url, json={"reason": "x"}, headers=token_for(role)).status_code == 403
        assert post_form(client_for(role), f"/authorisations/{number}/reveal", {"reason": "x"},
                         page="/authorisations").status_code == 403
    answer = api.post(url, json={"reason": "case 9"}, headers=token_for(Role.AUDITOR))
    assert answer.status_code == 200
    assert answer.json["members"] == [{"name": "Sari Wulandari", "id_number": MEMBER_NIK}]
    with Session(web_engine) as session:
        records = session.exec(select(AuditRecord).where(AuditRecord.action == "authorisation.revealed")).all()
    assert [(r.actor, json.loads(r.after or "{}")["reason"]) for r in records] == [
        ("auditor", "shift check"), ("auditor", "case 9")]
    assert all(MEMBER_NIK not in (r.after or "") and MEMBER_MASKED in (r.after or "") for r in records)
