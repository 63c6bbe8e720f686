"""The gate line in force: the configuration's until one is saved, audited, then followed by a worker."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.gate_lines import (
    LineError,
    LineWatch,
    camera_in_force,
    parse_placement,
    placed_gate,
    save_line,
)
from gatewatch.cli.app import App, gate_override
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, Camera
from gatewatch.settings import Settings

MOVED = {"line": [[0.0, 0.7], [1.0, 0.65]], "inside": [0.5, 0.95], "margin": 0.03}


def test_a_saved_line_wins_over_the_configuration_and_its_change_is_audited(engine: sa.Engine,
                                                                            settings: Settings) -> None:
    camera = settings.cameras[0]
    assert camera_in_force(engine, camera) == camera
    watch = LineWatch(engine, camera, interval=0.0)
    assert watch() == camera.gate

    moved = placed_gate(camera, MOVED)
    with session_scope(engine) as session:
        assert save_line(session, camera, moved, actor="admin-ina", role="admin")
    with session_scope(engine) as session:
        assert not save_line(session, camera, moved, actor="admin-ina", role="admin")  # nothing changed
    in_force = camera_in_force(engine, camera)
    assert in_force.gate == moved and in_force.gate.settle_frames == camera.gate.settle_frames
    assert watch() == moved  # a running worker's next read
    with Session(engine) as session:
        row = session.get(Camera, camera.id)
        assert row.gate_line_saved_by == "admin-ina" and row.gate_line_saved_at is not None
        records = session.exec(select(AuditRecord).where(AuditRecord.action == "camera.line_changed")).all()
    assert len(records) == 1
    assert records[0].actor == "admin-ina" and records[0].entity_id == camera.id
    assert json.loads(records[0].before)["line"] == [list(p) for p in camera.gate.line]
    assert json.loads(records[0].after) == {**MOVED, "margin": 0.03}


@pytest.mark.parametrize(("line", "inside", "margin", "problem"), [
    ([[0.1, 0.5], [0.9, 0.5]], [0.5, 0.5], 0.02, "inside"),
    ([[0.1, 0.5], [0.1, 0.5]], [0.5, 0.9], 0.02, "same point"),
    ([[0.1, 0.5], [1.4, 0.5]], [0.5, 0.9], 0.02, "outside the image"),
    ([[0.1, 0.5], [0.9, 0.5]], [0.5, 0.9], 0.5, "margin"),
    ([[0.1, "x"], [0.9, 0.5]], [0.5, 0.9], 0.02, "line start"),
    ([[0.1, 0.5]], [0.5, 0.9], 0.02, "two ends"),
])
def test_a_line_that_is_no_gate_line_is_refused_naming_why(settings: Settings, line: object, inside: object,
                                                             margin: object, problem: str) -> None:
    with pytest.raises(LineError, match=problem):
        placed_gate(settings.cameras[0], parse_placement(line, inside, margin))


def test_a_saved_line_that_no_longer_reads_leaves_the_configured_one_in_force(engine: sa.Engine,
                                                                              settings: Settings) -> None:
    camera = settings.cameras[0]
    with session_scope(engine) as session:
        session.get(Camera, camera.id).gate_line = '{"line": "broken"}'
    assert camera_in_force(engine, camera) == camera


def test_process_and_replay_count_against_the_line_in_force_unless_line_asks_what_if(
        engine: sa.Engine, settings: Settings) -> None:
    app = App(None, None)
    app.__dict__.update(settings=settings, engine=engine)  # the command's settings and migrated database
    camera = settings.cameras[0]
    assert gate_override(app, camera, None, None) == camera
    moved = placed_gate(camera, MOVED)
    with session_scope(engine) as session:
        save_line(session, camera, moved, actor="admin-ina", role="admin")
    assert gate_override(app, camera, None, None).gate == moved
    what_if = gate_override(app, camera, "0,0.8,1,0.8", "0.5,0.1").gate
    assert (what_if.line, what_if.inside) == (((0.0, 0.8), (1.0, 0.8)), (0.5, 0.1))
