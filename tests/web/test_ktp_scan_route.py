"""POST /visits/ktp-scan: a guard's photo of a KTP read by the reader process into JSON for the form; too
large, not a picture, another role or no CSRF token refused with a clear message; the photo kept only
when the settings say so, with its hash in the audit trail."""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Visit
from gatewatch.settings import Settings, VisitorSettings
from gatewatch.visitors.ktp_scanner import scanner_for
from tests.ktp_cards import random_card
from tests.web_helpers import csrf_token

URL = "/visits/ktp-scan"
SETTINGS = "gatewatch.settings"  # where the app keeps its settings (web/context.py)


@pytest.fixture
def scanning(app: Flask, web_settings: Settings) -> Iterator[Flask]:
    """The app, its KTP reader process ended after the test."""
    yield app
    scanner_for(web_settings).close()


def _post(client: FlaskClient, photo: bytes | None, *, token: bool = True) -> tuple[int, dict]:
    data = {} if photo is None else {"photo": (io.BytesIO(photo), "ktp.jpg", "image/jpeg")}
    headers = {"X-CSRFToken": csrf_token(client, "/visits")} if token else {}
    response = client.post(URL, data=data, headers=headers, content_type="multipart/form-data")
    return response.status_code, response.get_json(silent=True) or {}


def _with_visitors(app: Flask, **values: object) -> Settings:
    settings: Settings = app.extensions[SETTINGS]
    app.extensions[SETTINGS] = settings.model_copy(update={"visitors": VisitorSettings(**values)})
    return app.extensions[SETTINGS]


def test_a_guard_scans_a_card_and_gets_its_nik_and_name_without_anything_saved(
    scanning: Flask, client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine, web_settings: Settings
) -> None:
    card = random_card(random.Random(5), slant=0.03, blur=0.6, glare=0.2)
    guard = client_for(Role.GUARD)

    status, answer = _post(guard, card.photo)

    assert status == 200, answer
    assert (answer["nik"], answer["name"]) == (card.person.nik, card.person.name)
    assert answer["birth_date"] == card.person.born.isoformat()
    assert answer["kept"] is False
    assert "check the name and NIK" in answer["message"]
    with Session(web_engine) as session:
        assert session.exec(select(Visit)).all() == []
        assert session.exec(select(AuditRecord).where(AuditRecord.action.like("ktp%"))).all() == []
    assert not (web_settings.data_dir / "ktp").exists()

    # A JPEG's first bytes and nothing a decoder can read: the reader says so, the page is told.
    status, answer = _post(guard, b"\xff\xd8\xff\xe0" + b"\0" * 500)
    assert status == 422
    assert "cannot be read as a picture" in answer["error"]

    kept = _with_visitors(scanning, keep_ktp_photos=True)
    status, answer = _post(guard, card.photo)
    assert status == 200 and answer["kept"] is True and answer["nik"] == card.person.nik
    sha256 = hashlib.sha256(card.photo).hexdigest()
    files = list((kept.data_dir / "ktp").glob(f"*/{sha256}.jpg"))
    assert len(files) == 1 and files[0].read_bytes() == card.photo
    with Session(web_engine) as session:
        record = session.exec(select(AuditRecord).where(AuditRecord.action == "ktp.photo_kept")).one()
    assert record.actor == "guard"
    dumped = json.dumps(record.model_dump(mode="json"))
    assert sha256 in dumped and card.person.nik not in dumped


def test_a_photo_larger_than_the_setting_is_refused_with_413(
    app: Flask, client_for: Callable[[Role], FlaskClient]
) -> None:
    _with_visitors(app, ktp_upload_max_mb=1)
    status, answer = _post(client_for(Role.GUARD), b"\xff\xd8\xff\xe0" + b"\0" * (2 << 20))

    assert status == 413
    assert "larger than 1 MB" in answer["error"]


@pytest.mark.parametrize(("photo", "status", "message"), [
    (b"name,nik\nBudi,3174055203850001\n", 422, "not a photo"),
    (b"GIF89a" + b"\0" * 100, 422, "not a photo"),
    (None, 400, "Take a photo"),
])
def test_what_is_not_a_photo_is_refused_before_any_reading(
    app: Flask, client_for: Callable[[Role], FlaskClient], photo: bytes | None, status: int, message: str
) -> None:
    got, answer = _post(client_for(Role.GUARD), photo)

    assert got == status
    assert message in answer["error"]


def test_other_roles_and_posts_without_the_csrf_token_are_refused(
    app: Flask, client_for: Callable[[Role], FlaskClient]
) -> None:
    photo = b"\xff\xd8\xff\xe0" + b"\0" * 100
    for role in (Role.OPERATOR, Role.AUDITOR, Role.ADMIN):
        assert _post(client_for(role), photo, token=False)[0] == 403
    assert _post(client_for(Role.GUARD), photo, token=False)[0] == 400
    assert app.test_client().post(URL, data={"photo": (io.BytesIO(photo), "k.jpg")}).status_code == 302
