"""The web app knows the configured gates from its start: on a fresh installation, before any worker
ran, a guard registers a visitor for a specific gate; and a database that cannot take the gates'
rows as the app starts (another process is migrating it) costs a warning, not the app."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.models.db import make_engine, session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera, User, Visit
from gatewatch.settings import Settings
from gatewatch.web.app import create_app
from tests.web_helpers import GATE, NIK, VEHICLE_GATE, csrf_token, log_in


@pytest.fixture
def fresh_site(web_settings: Settings) -> Iterator[tuple[Flask, sa.Engine]]:
    """The app started as gunicorn starts it (its own engine) on a database no worker has written to,
    and a guard; no camera is running (their sources are webcams this machine does not have)."""
    app = create_app(web_settings, testing=True)
    engine = make_engine(web_settings.effective_database_url)
    with session_scope(engine) as session:
        users.create_user(session, "guard", "gate-password-1", Role.GUARD, actor="test", actor_role="test")
    yield app, engine
    engine.dispose()


def test_a_guard_registers_a_visitor_for_a_configured_gate_before_any_worker_ran(
    fresh_site: tuple[Flask, sa.Engine],
) -> None:
    app, engine = fresh_site
    guard = app.test_client()
    assert log_in(guard, "guard").status_code == 302
    page = guard.get("/visits").get_data(as_text=True)
    assert f'<option value="{GATE}"' in page and "Main gate" in page  # offered before any worker ran

    form = {"visitor_name": "Rina Marlina", "id_number": NIK, "party_size": "1", "check_in_at": "2026-11-20T09:00",
            "camera_id": GATE, "csrf_token": csrf_token(guard, "/visits")}
    assert guard.post("/visits", data=form).status_code == 303

    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "guard")).one()
        _row, token = users.issue_token(session, user.id, "desk", actor="test", actor_role="test")
        session.commit()
    body = {"visitor_name": "Slamet Riyadi", "id_number": "1607022011780003", "camera_id": VEHICLE_GATE,
            "check_in_at": "2026-11-20T09:04:10+07:00"}
    answer = app.test_client().post("/api/v1/visits", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.get_json()

    with Session(engine) as session:
        assert [(v.visitor_name, v.camera_id) for v in session.exec(select(Visit).order_by(Visit.id))] == [
            ("Rina Marlina", GATE), ("Slamet Riyadi", VEHICLE_GATE)]
        assert {c.id: c.connected for c in session.exec(select(Camera))} == {GATE: False, VEHICLE_GATE: False}


@pytest.mark.parametrize("web_database", ["postgresql"], indirect=True)
def test_the_app_starts_while_another_process_holds_the_camera_table(
    web_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    impatient = web_settings.model_copy(  # this app's writes give up after 0.2 s instead of waiting
        update={"database_url": f"{web_settings.database_url}&options=-c%20lock_timeout%3D200"})
    holder = make_engine(web_settings.effective_database_url).raw_connection()
    holder.cursor().execute("LOCK TABLE camera IN EXCLUSIVE MODE")
    try:
        with caplog.at_level(logging.WARNING, "gatewatch.camera.footage"):
            app = create_app(impatient, testing=True)
    finally:
        holder.commit()
        holder.close()
    assert "the configured cameras could not be written" in caplog.text
    assert app.test_client().get("/login").status_code == 200

    create_app(impatient, testing=True)  # the next start writes them
    engine = make_engine(web_settings.effective_database_url)
    with Session(engine) as session:
        assert sorted(session.exec(select(Camera.id))) == [GATE, VEHICLE_GATE]
    engine.dispose()
