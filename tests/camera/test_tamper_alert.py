"""A camera covered, blurred or turned part-way through its footage raises ``camera.tampered`` once:
in the audit trail, which the alert feed sends on, and on the Cameras page; ``camera.tamper_cleared``
once its picture is right again. Its reference picture is kept across restarts and relearned when
an administrator deletes it."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.accounts import users
from gatewatch.camera.tamper_watch import TamperWatch, reference_path
from gatewatch.camera.worker import run_camera
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import Role
from gatewatch.models.tables import AuditRecord, Camera
from gatewatch.settings import Settings
from gatewatch.vision.sources import Frame
from gatewatch.web.app import create_app
from tests.camera.test_copied_evidence import MOTORCYCLE_GATE, footage_settings
from tests.tampered_footage import START, TAMPERED_FROM, frames, tampered  # noqa: F401  (fixture)
from tests.web_helpers import PASSWORD, log_in

CAMERA = "gate-1"


def camera_records(engine: sa.Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.entity == "camera",
                                                           AuditRecord.action.like("camera.tamper%"))
                                 .order_by(AuditRecord.seq)))


def row(engine: sa.Engine) -> Camera:
    with Session(engine) as session:
        return session.get(Camera, CAMERA)


def test_a_covered_camera_raises_camera_tampered_once_and_the_cameras_page_shows_it(
        tmp_path: Path, tampered: dict[str, Path]) -> None:  # noqa: F811
    """Through the worker itself (``run_camera``, the model included) on real footage and SQLite."""
    settings = footage_settings(tmp_path / "data", tampered["darkened"], MOTORCYCLE_GATE, ["person", "motorcycle"])
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    run_camera(engine, settings, settings.cameras[0], threading.Event())

    [record] = camera_records(engine)
    assert (record.action, record.entity_id, record.actor, record.role) == ("camera.tampered", CAMERA, "worker",
                                                                            "system")
    after = json.loads(record.after)
    assert after["note"].startswith("covered or dark") and after["checks"]["contrast"] < 0.3
    assert set(after["checks"]) == {"brightness", "contrast", "sharpness", "edges", "shift_x", "shift_y", "likeness"}
    camera = row(engine)
    assert camera.tampered and camera.tamper_note == after["note"]
    assert reference_path(settings.data_dir, CAMERA).is_file()  # kept for the next start

    with session_scope(engine) as session:
        users.create_user(session, "guard", PASSWORD, Role.GUARD.value, full_name="Guard", actor="test",
                          actor_role="test")
    client = create_app(settings.model_copy(update={"language": "en"}), engine, testing=True).test_client()
    assert log_in(client, "guard").status_code == 302
    page = client.get("/cameras").get_data(as_text=True)
    assert 'class="badge disconnected tampered"' in page and ">Tampered<" in page
    assert "Tampering: covered or dark" in page
    engine.dispose()


def watch(engine: sa.Engine, settings: Settings, path: Path, *, after: float = 0.0) -> TamperWatch:
    """A watch over ``path``'s frames as the worker hands them over, ``after`` seconds into the run."""
    tamper = TamperWatch(engine, settings, settings.cameras[0])
    for frame in frames(path, START + timedelta(seconds=after)):
        tamper.on_frame(frame)
    return tamper


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        session.add(Camera(id=CAMERA, name="Gate 1", source="gate.mp4"))
    yield engine
    engine.dispose()


@pytest.mark.parametrize(("kind", "words"), [("blurred", "blurred or out of focus"), ("shifted", "moved")])
def test_a_blurred_or_turned_camera_is_recorded_once_with_the_cause_and_its_figures(
        engine: sa.Engine, tmp_path: Path, tampered: dict[str, Path], kind: str, words: str) -> None:  # noqa: F811
    settings = footage_settings(tmp_path, tampered[kind], MOTORCYCLE_GATE, ["person"])
    watch(engine, settings, tampered[kind])
    [record] = camera_records(engine)
    after = json.loads(record.after)
    assert record.action == "camera.tampered" and after["note"].startswith(words) and after["seconds"] >= 3
    assert row(engine).tampered and row(engine).tamper_note.startswith(words)


def test_an_episode_outlives_a_restart_and_clears_once_the_picture_is_back(
        engine: sa.Engine, tmp_path: Path, tampered: dict[str, Path]) -> None:  # noqa: F811
    settings = footage_settings(tmp_path, tampered["darkened"], MOTORCYCLE_GATE, ["person"])
    watch(engine, settings, tampered["darkened"])
    assert [r.action for r in camera_records(engine)] == ["camera.tampered"]

    # The worker restarts: the kept reference is used at once, and the open episode is not raised again.
    restarted = watch(engine, settings, tampered["darkened"], after=60)
    assert not restarted.detector.learning and restarted.detector.tampered
    assert [r.action for r in camera_records(engine)] == ["camera.tampered"]

    # Uncovered: the original footage, 7.5 s of it (clear_seconds: 5).
    watch(engine, settings, tampered["original"], after=120)
    raised, cleared = camera_records(engine)
    assert raised.action == "camera.tampered" and cleared.action == "camera.tamper_cleared" and cleared.actor == "worker"
    assert json.loads(cleared.after)["note"] == "the picture shows its scene again"
    assert not row(engine).tampered and row(engine).tamper_note is None


def test_deleting_the_reference_picture_makes_the_camera_learn_its_scene_again(
        engine: sa.Engine, tmp_path: Path, tampered: dict[str, Path]) -> None:  # noqa: F811
    settings = footage_settings(tmp_path, tampered["original"], MOTORCYCLE_GATE, ["person"])
    tamper = TamperWatch(engine, settings, settings.cameras[0])
    path = reference_path(settings.data_dir, CAMERA)
    shifted = list(frames(tampered["shifted"]))
    for frame in shifted[:80]:  # learned in 2 s, checked at 2.67
        tamper.on_frame(frame)
    learned = path.read_bytes()
    path.unlink()  # the administrator re-aimed the camera on purpose
    moment = shifted[-1].time
    for index, frame in enumerate(shifted[TAMPERED_FROM:] * 3):  # the new view, for 13.5 s
        tamper.on_frame(Frame(index, moment + timedelta(seconds=index / 30), frame.picture))
    assert path.is_file() and path.read_bytes() != learned
    assert camera_records(engine) == []  # the new view is the scene now, not tampering
