"""Events stored through the real event store, with real evidence files, and a history of changes.

Shared by the audit chain, export and retention tests; import the fixtures you use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.footage import sync_camera
from gatewatch.camera.store import EventStore
from gatewatch.events.reviews import Decision, decide
from gatewatch.models.db import make_engine, session_scope
from gatewatch.models.tables import AuditRecord, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.visits import VisitInput, register_visit
from tests.camera.test_store import draft

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 WIB, within the gate's hours
NIK = "3174051203850001"


@pytest.fixture
def engine(database_url: str, settings: Settings) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    sync_camera(engine, settings.cameras[0])
    yield engine
    engine.dispose()


def store_event(engine: sa.Engine, settings: Settings, *, when: datetime = WHEN, track_id: int = 5) -> EntryEvent:
    """An entry stored as the pipeline stores one: snapshot, clip, row, cross-check, audit record."""
    item = draft(track_id=track_id, frame_index=40 + track_id)
    item.crossing = dataclasses.replace(item.crossing, time=when)
    result = EventStore(engine, settings, settings.cameras[0], "file:abc").save(item)
    assert result.created
    return result.event


def make_history(engine: sa.Engine, settings: Settings) -> list[EntryEvent]:
    """Three entries; a late registration explains the first, a guard calls the second a false alarm."""
    events = [store_event(engine, settings, when=WHEN + timedelta(minutes=i), track_id=i + 1) for i in range(3)]
    with session_scope(engine) as session:
        visit = VisitInput.parse({"visitor_name": "Budi", "id_number": NIK, "check_in_at": WHEN.isoformat()},
                                 settings.zone)
        register_visit(session, visit, actor="guard-ani", role="guard", settings=settings)
    with session_scope(engine) as session:
        decide(session, events[1].id, Decision.FALSE_ALARM, actor="guard-ani", role="guard", note="a shadow")
    with Session(engine) as session:
        return list(session.exec(select(EntryEvent).order_by(EntryEvent.id)).all())


@pytest.fixture
def history(engine: sa.Engine, settings: Settings) -> list[EntryEvent]:
    return make_history(engine, settings)


def chain(engine: sa.Engine) -> list[AuditRecord]:
    """The audit records in chain order."""
    with Session(engine) as session:
        return list(session.exec(select(AuditRecord).order_by(AuditRecord.seq)).all())


def execute(engine: sa.Engine, statement: str, **params: object) -> None:
    """Change the database behind the application's back, as someone with database access could."""
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
