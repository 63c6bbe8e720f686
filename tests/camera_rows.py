"""One camera's row in a migrated database, for the tests of what the worker writes to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.models.db import make_engine
from gatewatch.models.tables import Camera

CAMERA_ID = "gate-1"


@pytest.fixture(name="engine")
def camera_engine(database_url: str) -> Iterator[sa.Engine]:
    """A database (SQLite or PostgreSQL, as ``database_url``) holding the camera ``gate-1``."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(Camera(id=CAMERA_ID, name="Gate 1", source="rtsp://camera/1"))
        session.commit()
    yield engine
    engine.dispose()


def row(engine: sa.Engine) -> Camera:
    """The camera's row as it stands."""
    with Session(engine) as session:
        return session.get(Camera, CAMERA_ID)
