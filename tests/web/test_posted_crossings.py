"""Crossings another system posts (POST /api/v1/crossings) with a device's token: stored like a
camera's own events, once per source id; a device reaches nothing else and never logs in; cameras
with ``source: external`` are configured, left out of analysis and shown as such."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.camera.posted import MAX_SNAPSHOT_BYTES, SOURCE_KEY_PREFIX
from gatewatch.camera.supervisor import Supervisor
from gatewatch.models.enums import EventStatus, PlateStatus, Role
from gatewatch.models.tables import AuditRecord, EntryEvent, User
from gatewatch.settings import Settings, load_settings
from tests.web_helpers import GATE, NIK, PASSWORD, count_rows, csrf_token, log_in

NVR = "nvr-gate"
URL = "/api/v1/crossings"
MORNING = "2026-11-20T09:00:00+07:00"
Headers = Callable[[Role], dict[str, str]]


@pytest.fixture
def web_settings(web_settings: Settings) -> Settings:
    """The usual two cameras and one whose crossings another system posts."""
    cameras = [*web_settings.cameras, {"id": NVR, "name": "Loading bay (NVR)", "source": "external"}]
    return Settings.model_validate({**web_settings.model_dump(exclude={"cameras"}), "cameras": cameras})


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def device(token_for: Headers) -> dict[str, str]:
    return token_for(Role.DEVICE)


def _jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 40)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _crossing(source_id: str = "nvr-1", **fields: Any) -> dict[str, Any]:
    return {"camera_id": NVR, "occurred_at": MORNING, "label": "person", "direction": "entry",
            "source_id": source_id, **fields}


def _events(engine: sa.Engine, **where: Any) -> list[EntryEvent]:
    with Session(engine) as session:
        query = select(EntryEvent).filter_by(**where).order_by(EntryEvent.id)
        return list(session.exec(query).all())


# --- storing ------------------------------------------------------------------------------------


def test_a_device_posts_a_crossing_stored_like_a_cameras_event(
    api: FlaskClient, device: dict[str, str], web_engine: sa.Engine, web_settings: Settings
) -> None:
    snapshot = _jpeg()
    body = _crossing(label="car", plate="bg-1234-ab", confidence=0.91, box=[0.1, 0.2, 0.5, 0.9],
                     snapshot_jpeg=base64.b64encode(snapshot).decode())
    response = api.post(URL, json=body, headers=device)
    assert response.status_code == 201, response.json
    answer = response.json
    assert set(answer) == {"id", "status", "flag", "passage_id"}
    assert answer["status"] == EventStatus.FLAGGED and answer["flag"] == "unregistered"
    assert answer["passage_id"] == answer["id"]  # the first of its passage names it
    [event] = _events(web_engine)
    assert event.id == answer["id"] and event.camera_id == NVR
    assert (event.source_id, event.source_key) == ("nvr-1", SOURCE_KEY_PREFIX + "nvr-1")
    assert (event.track_id, event.frame_index, event.label, event.direction) == (0, 0, "car", "entry")
    assert event.occurred_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert event.box == (0.1, 0.2, 0.5, 0.9) and event.confidence == 0.91
    assert (event.plate_text, event.plate_status) == ("BG 1234 AB", PlateStatus.READ)
    assert event.snapshot_path and event.snapshot_path.startswith(f"evidence/{NVR}/2026-11-20/posted-")
    written = (web_settings.data_dir / event.snapshot_path).read_bytes()
    assert written == snapshot and event.snapshot_sha256 == hashlib.sha256(snapshot).hexdigest()
    with Session(web_engine) as session:
        record = session.exec(select(AuditRecord).where(
            AuditRecord.action == "event.recorded", AuditRecord.entity_id == str(event.id))).one()
    recorded = json.loads(record.after or "{}")
    assert (recorded["snapshot_sha256"], recorded["source_id"]) == (event.snapshot_sha256, "nvr-1")
    assert (record.actor, record.role) == ("device", "device")  # the client that posted it, not the system


def test_the_same_source_id_again_is_the_same_event_stored_once(
    api: FlaskClient, device: dict[str, str], web_engine: sa.Engine
) -> None:
    first = api.post(URL, json=_crossing(), headers=device)
    again = api.post(URL, json=_crossing(occurred_at="2026-11-20T10:00:00+07:00"), headers=device)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert len(_events(web_engine, source_id="nvr-1")) == 1
    elsewhere = api.post(URL, json=_crossing(camera_id=GATE), headers=device)  # ids are per camera
    assert elsewhere.status_code == 201 and elsewhere.json["id"] != first.json["id"]


def test_posts_of_the_same_crossing_racing_store_it_once(
    app: Flask, device: dict[str, str], web_engine: sa.Engine
) -> None:
    answers: list[tuple[int, int]] = []

    def post() -> None:
        response = app.test_client().post(URL, json=_crossing("raced"), headers=device)
        answers.append((response.status_code, response.json["id"]))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _id in answers) == [200, 200, 200, 201]
    assert len({event_id for _status, event_id in answers}) == 1
    assert len(_events(web_engine, source_id="raced")) == 1


def test_box_less_crossings_a_second_apart_are_one_passage_three_seconds_apart_two(
    api: FlaskClient, device: dict[str, str]
) -> None:
    def post(source_id: str, time: str) -> dict[str, Any]:
        response = api.post(URL, json=_crossing(source_id, occurred_at=time), headers=device)
        assert response.status_code == 201, response.json
        return response.json

    first = post("a", "2026-11-20T09:00:00.000+07:00")
    close = post("b", "2026-11-20T09:00:00.800+07:00")
    later = post("c", "2026-11-20T09:00:03.800+07:00")
    assert close["passage_id"] == first["passage_id"] == first["id"]
    assert later["passage_id"] == later["id"] != first["passage_id"]


def test_a_time_without_an_offset_is_site_time(
    api: FlaskClient, device: dict[str, str], web_engine: sa.Engine
) -> None:
    response = api.post(URL, json=_crossing(occurred_at="2026-11-20T09:30:00", direction="exit"), headers=device)
    assert response.status_code == 201 and response.json["status"] == EventStatus.EXIT
    [event] = _events(web_engine)
    assert event.occurred_at == datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # 09:30 WIB


# --- bad input ----------------------------------------------------------------------------------

_NOT_A_JPEG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100).decode()
_TRUNCATED_JPEG = base64.b64encode(_jpeg()[:-200] + b"\xff\xd9").decode()
_TOO_LARGE = base64.b64encode(b"\xff\xd8\xff" + b"\x00" * (MAX_SNAPSHOT_BYTES - 4) + b"\xff\xd9").decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"camera_id": "no-such-gate"}, "camera_id"),
        ({"label": "dog"}, "label"),
        ({"direction": "sideways"}, "direction"),
        ({"box": [0.5, 0.2, 1.2, 0.9]}, "box"),
        ({"box": [0.5, 0.2, 0.4, 0.9]}, "box"),
        ({"box": [0.1, 0.2, 0.3]}, "box"),
        ({"snapshot_jpeg": _NOT_A_JPEG}, "snapshot_jpeg"),
        ({"snapshot_jpeg": _TRUNCATED_JPEG}, "snapshot_jpeg"),
        ({"snapshot_jpeg": "not base64 !"}, "snapshot_jpeg"),
        ({"snapshot_jpeg": _TOO_LARGE}, "snapshot_jpeg"),
        ({"plate": "B 1234 XYZ"}, "plate"),  # on a person
        ({"label": "car", "plate": "hello"}, "plate"),
        ({"confidence": 1.5}, "confidence"),
        ({"source_id": ""}, "source_id"),
        ({"source_id": "x" * 191}, "source_id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
    api: FlaskClient, device: dict[str, str], web_engine: sa.Engine, web_settings: Settings,
    change: dict[str, Any], field: str,
) -> None:
    response = api.post(URL, json=_crossing(**change), headers=device)
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [field]
    assert count_rows(web_engine, EntryEvent) == 0
    assert not (web_settings.data_dir / "evidence").exists()


def test_a_missing_field_a_body_not_json_and_a_huge_body_are_refused(
    api: FlaskClient, device: dict[str, str], web_engine: sa.Engine
) -> None:
    missing = {k: v for k, v in _crossing().items() if k != "source_id"}
    assert api.post(URL, json=missing, headers=device).json["fields"] == {"source_id": "Field required"}
    not_json = api.post(URL, data="camera_id=nvr", headers=device)
    assert not_json.status_code == 400 and not_json.is_json
    huge = api.post(URL, data=b"{" + b" " * (MAX_SNAPSHOT_BYTES * 2), headers={**device, "Content-Type":
                                                                                "application/json"})
    assert huge.status_code == 413 and huge.is_json
    assert count_rows(web_engine, EntryEvent) == 0


def test_a_snapshot_just_under_the_limit_passes_the_body_limit(
    api: FlaskClient, device: dict[str, str]
) -> None:
    """Only the picture check refuses it (padding is no picture), not the body-size limit: 422, not 413."""
    almost = base64.b64encode(b"\xff\xd8\xff" + b"\x00" * (MAX_SNAPSHOT_BYTES - 6) + b"\xff\xd9").decode()
    response = api.post(URL, json=_crossing(snapshot_jpeg=almost), headers=device)
    assert response.status_code == 422 and "decodes" in response.json["fields"]["snapshot_jpeg"]


# --- who may do what ----------------------------------------------------------------------------


def test_a_device_token_reaches_nothing_else(api: FlaskClient, device: dict[str, str]) -> None:
    assert api.get("/api/v1/events", headers=device).status_code == 403
    assert api.get("/api/v1/cameras", headers=device).status_code == 403
    assert api.get("/api/v1/visits", headers=device).status_code == 403
    visit = {"visitor_name": "Siti", "id_number": NIK, "check_in_at": "2026-11-20T09:00"}
    assert api.post("/api/v1/visits", json=visit, headers=device).status_code == 403
    assert api.get("/events", headers=device).status_code in (302, 401)  # a token opens no page


def test_no_person_posts_crossings(api: FlaskClient, token_for: Headers, web_engine: sa.Engine) -> None:
    for role in (Role.ADMIN, Role.OPERATOR, Role.GUARD, Role.AUDITOR):
        assert api.post(URL, json=_crossing(), headers=token_for(role)).status_code == 403
    assert api.post(URL, json=_crossing()).status_code == 401
    assert count_rows(web_engine, EntryEvent) == 0


def test_a_device_never_logs_in_to_pages(
    app: Flask, accounts: dict[Role, str], web_engine: sa.Engine
) -> None:
    client = app.test_client()
    assert log_in(client, accounts[Role.DEVICE], PASSWORD).status_code == 401
    assert log_in(client, accounts[Role.DEVICE], users.NO_PASSWORD).status_code == 401
    with Session(web_engine) as session:
        device = session.exec(select(User).where(User.username == accounts[Role.DEVICE])).one()
    assert device.password_hash == users.NO_PASSWORD  # the fixture's password was not kept
    with client.session_transaction() as cookie:  # a session signed with the right key changes nothing
        cookie["_user_id"] = str(device.id)
        cookie["_fresh"] = True
    page = client.get("/events")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


# --- the document, the pages, the configuration -------------------------------------------------


def test_the_endpoint_is_in_the_openapi_document_with_its_body(api: FlaskClient) -> None:
    document = api.get("/api/v1/openapi.json").json
    operation = document["paths"][URL]["post"]
    assert operation["x-roles"] == ["device"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CrossingInput")
    assert "201" in operation["responses"] and "422" in operation["responses"]
    body = document["components"]["schemas"]["CrossingInput"]
    assert set(body["required"]) == {"camera_id", "occurred_at", "label", "direction", "source_id"}
    assert {"confidence", "plate", "box", "snapshot_jpeg"} <= set(body["properties"])
    assert "8 MB" in operation["summary"]
    assert set(document["components"]["schemas"]["CrossingOut"]["properties"]) == {
        "id", "status", "flag", "passage_id"}


def test_the_cameras_page_shows_an_external_camera_as_such(
    api: FlaskClient, device: dict[str, str], client_for: Callable[[Role], FlaskClient]
) -> None:
    assert api.post(URL, json=_crossing(), headers=device).status_code == 201
    page = client_for(Role.OPERATOR).get("/cameras").get_data(as_text=True)
    row = page[page.index(f'id="camera-{NVR}"'):]
    assert "External: receives crossings" in row[: row.index("</tr>")]


def test_an_admin_lists_and_creates_devices_without_a_password(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    admin = client_for(Role.ADMIN)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'id="user-device"' in page and "A device has no password" in page
    form = {"username": "anpr-1", "role": "device", "password": "", "csrf_token": csrf_token(admin, "/admin/users")}
    assert admin.post("/admin/users", data=form).status_code == 303
    with Session(web_engine) as session:
        created = session.exec(select(User).where(User.username == "anpr-1")).one()
        assert (created.role, created.password_hash) == (Role.DEVICE, users.NO_PASSWORD)
        audited = session.exec(select(AuditRecord).where(
            AuditRecord.action == "user.created", AuditRecord.entity_id == str(created.id))).one()
    assert json.loads(audited.after or "{}")["role"] == "device"


def test_an_external_camera_is_configured_by_keyword_and_gets_no_worker(tmp_path: Path) -> None:
    config = tmp_path / "gatewatch.yaml"
    config.write_text(yaml.safe_dump({
        "detector": {"model": "yolo11n.pt"},
        "cameras": [
            {"id": "gate", "name": "Gate", "source": "gate.mp4",
             "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}},
            {"id": "nvr", "name": "NVR", "source": "external"},  # no gate: nothing is analysed
        ],
    }))
    settings = load_settings(config)
    gate, nvr = settings.cameras
    assert gate.source == str(tmp_path / "gate.mp4") and not gate.is_external
    assert nvr.source == "external" and nvr.is_external  # a keyword, not a file beside the configuration
    assert list(Supervisor(settings, str(config), per_camera=True).children) == ["gate"]
    assert list(Supervisor(settings, str(config)).children) == ["cameras"]
    only_external = settings.model_copy(update={"cameras": (nvr,)})
    Supervisor(only_external, str(config)).run(threading.Event())  # nothing to start: returns at once


def test_the_worker_of_an_external_camera_opens_nothing(web_settings: Settings, web_engine: sa.Engine) -> None:
    from gatewatch.camera import worker

    opened: list[str] = []
    original = worker.open_source
    worker.open_source = lambda spec, **_kw: opened.append(spec)  # type: ignore[assignment]
    try:
        worker.run_camera(web_engine, web_settings, web_settings.camera(NVR), threading.Event())
    finally:
        worker.open_source = original
    assert opened == []
    with Session(web_engine) as session:
        assert session.exec(select(sa.func.count()).select_from(EntryEvent)).one() == 0
