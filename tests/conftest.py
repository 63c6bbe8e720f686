"""Shared fixtures: settings for one gate camera, and a migrated database holding it.

Database tests run twice, on SQLite and on PostgreSQL (see tests/databases.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from gatewatch.models.db import make_engine
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import Settings

pytest_plugins = ["tests.databases", "tests.mosquitto"]

CAMERA_ID = "gate-1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        detector={"model": "yolo11n.pt"},
        data_dir=tmp_path,
        timezone="Asia/Jakarta",
        cameras=[
            {
                "id": CAMERA_ID,
                "name": "Gate 1",
                "source": "0",
                "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]},
                "hours": {"open": "06:00", "close": "22:00"},
            }
        ],
    )


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(Camera(id=CAMERA_ID, name="Gate 1", source="0"))
        session.commit()
        yield session
    engine.dispose()


@pytest.fixture
def make_event(session: Session) -> Callable[..., EntryEvent]:
    """Insert an entry event as the vision pipeline would, still to be cross-checked."""
    track_ids = iter(range(1, 1_000_000))

    def make(
        occurred_at: datetime,
        *,
        label: str = "person",
        direction: str = "entry",
        status: str = EventStatus.FLAGGED,
        flag: str | None = None,
    ) -> EntryEvent:
        track_id = next(track_ids)
        event = EntryEvent(
            camera_id=CAMERA_ID,
            source_key="test",
            track_id=track_id,
            label=label,
            direction=direction,
            occurred_at=occurred_at,
            frame_index=track_id,
            confidence=0.9,
            box_x1=0.0,
            box_y1=0.0,
            box_x2=10.0,
            box_y2=10.0,
            status=status,
            flag=flag,
        )
        session.add(event)
        session.flush()
        return event

    return make
