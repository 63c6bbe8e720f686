"""Events of the street-motorcycles clip with their real boxes files, for the gate line preview's tests.

The clip is analysed once per test run (the real model, about 6 s) into a folder of its own; a
test that needs the events at its own site (a web test's database and data folder) copies them
there with ``copy_events``: the rows as the store wrote them, the boxes files byte for byte.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.analysis import analyse_file
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings, load_settings
from gatewatch.vision.detector import load_model
from tests.shared_files import MODEL, MOTORCYCLES, SAMPLE_CONFIG

#: The line the events are counted against (line A of the hand count): riders come down the picture, entries.
GATE = {"line": [[0.0, 0.5], [1.0, 0.5]], "inside": [0.5, 0.9]}
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CAMERA = "gate-1"


@dataclass(frozen=True)
class AnalysedEvents:
    database_url: str
    data_dir: Path
    events: tuple[EntryEvent, ...]  # oldest first, detached from their session


@functools.cache
def analysed_events() -> AnalysedEvents:
    """The clip's events, analysed as the sample configuration would (once per test run)."""
    root = Path(tempfile.mkdtemp(prefix="gatewatch-line-preview-"))
    atexit.register(shutil.rmtree, root, True)
    sample = load_settings(SAMPLE_CONFIG).model_dump(exclude={"cameras", "data_dir", "footage_dir"})
    sample["detector"]["model"] = str(MODEL)
    camera = {"id": CAMERA, "name": "Gate 1", "source": str(MOTORCYCLES), "gate": GATE,
              "classes": ["person", "motorcycle", "car"]}
    settings = Settings.model_validate({**sample, "data_dir": root / "data", "cameras": [camera]})
    url = f"sqlite:///{root / 'gatewatch.db'}"
    engine = make_engine(url)
    migrate(engine)
    analyse_file(engine, settings, settings.cameras[0], MOTORCYCLES, START, progress=False,
                 model=load_model(settings.detector))
    with Session(engine, expire_on_commit=False) as session:
        events = tuple(session.exec(select(EntryEvent).order_by(EntryEvent.id)).all())
        session.expunge_all()
    engine.dispose()
    assert len(events) >= 5 and all(e.boxes_path for e in events), "the clip gave too few events with boxes"
    return AnalysedEvents(url, root / "data", events)


#: What a copy keeps of each analysed event (the id, camera and links are the copy's own).
_COPIED = ("source_key", "track_id", "label", "direction", "occurred_at", "frame_index", "confidence", "box_x1",
           "box_y1", "box_x2", "box_y2", "status", "boxes_path", "boxes_sha256", "clip_kind", "gate_line")


def copy_events(engine: sa.Engine, data_dir: Path, camera_id: str) -> list[EntryEvent]:
    """The analysed events as ``camera_id``'s at another site: rows in ``engine``, boxes files under ``data_dir``."""
    source = analysed_events()
    copies = []
    with session_scope(engine) as session:
        for event in source.events:
            target = data_dir / event.boxes_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.data_dir / event.boxes_path, target)
            copy = EntryEvent(camera_id=camera_id, **{name: getattr(event, name) for name in _COPIED})
            session.add(copy)
            copies.append(copy)
        session.flush()
        session.expunge_all()
    return copies
