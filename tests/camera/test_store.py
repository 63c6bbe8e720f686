"""The event store with synthetic drafts: evidence, row and cross-check, on both databases."""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.footage import live_source_key, sync_camera
from gatewatch.camera.store import EventStore, EventWriter
from gatewatch.evidence.files import file_sha256
from gatewatch.evidence.integrity import verify_integrity
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.enums import Direction
from gatewatch.models.tables import EntryEvent
from gatewatch.plates import Plate
from gatewatch.settings import Settings
from gatewatch.vision.gate import Crossing
from gatewatch.vision.recorder import EventDraft
from tests.plate_images import car_draft, car_scene
from tests.vision.test_clips import clip_frame, encoded

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 WIB, within the gate's hours


def draft(track_id: int = 5, frame_index: int = 40) -> EventDraft:
    image = np.full((240, 320, 3), 90, np.uint8)
    box = (100.0, 60.0, 160.0, 200.0)
    clip = [clip_frame(i, image, {track_id: box}) for i in range(frame_index - 10, frame_index + 10)]
    crossing = Crossing(track_id, "person", Direction.ENTRY, frame_index, WHEN, 0.83, box)
    return encoded(EventDraft(crossing, 10.0, clip, snapshot=image, snapshot_box=box,
                              snapshot_frame_index=frame_index))


@pytest.fixture
def store(database_url: str, settings: Settings) -> EventStore:
    engine = make_engine(database_url)
    camera = settings.cameras[0]
    sync_camera(engine, camera)
    return EventStore(engine, settings, camera, "file:abc")


def rows(store: EventStore) -> list[EntryEvent]:
    with Session(store.engine) as session:
        return list(session.exec(select(EntryEvent)).all())


def test_an_event_is_stored_with_its_evidence_and_checked(store: EventStore, settings: Settings) -> None:
    result = store.save(draft())
    assert result.created
    [event] = rows(store)
    assert event.flag == "unregistered" and event.status == "flagged"
    assert (settings.data_dir / event.snapshot_path).read_bytes()[:2] == b"\xff\xd8"
    assert (settings.data_dir / event.clip_path).stat().st_size > 1000
    assert event.occurred_at == WHEN


def test_the_same_occurrence_is_stored_once(store: EventStore) -> None:
    first = store.save(draft())
    again = store.save(draft())
    assert not again.created and again.event.id == first.event.id
    assert len(rows(store)) == 1
    store.save(draft(track_id=6))
    assert len(rows(store)) == 2


def test_unwritable_evidence_still_records_the_event_and_says_why(store: EventStore, settings: Settings) -> None:
    # The evidence folder cannot be created (a file is in its way): as good as a full or read-only disk.
    (settings.data_dir / "evidence").write_text("not a folder")
    result = store.save(draft())
    [event] = rows(store)
    assert result.created
    assert event.snapshot_path is None and event.clip_path is None
    assert event.evidence_error is not None and "evidence could not be written" in event.evidence_error
    assert event.flag == "unregistered"  # the entry itself is not lost


def test_each_event_of_a_live_session_keeps_its_own_evidence(database_url: str, settings: Settings) -> None:
    """A live session's key holds a dot (fractions of a second): it must not shorten the file names."""
    engine = make_engine(database_url)
    camera = settings.cameras[0]
    sync_camera(engine, camera)
    store = EventStore(engine, settings, camera, live_source_key(datetime(2026, 11, 20, 3, 0, 0, 123456, UTC)))
    events = [store.save(draft(track_id=track, frame_index=40 + track)).event for track in (1, 2)]
    paths = [(e.snapshot_path, e.clip_path) for e in events]
    assert len({path for pair in paths for path in pair}) == 4, paths
    for event in events:
        assert (settings.data_dir / event.snapshot_path).is_file() and event.clip_path.endswith(".mp4")
    assert verify_integrity(engine, settings).ok


def test_an_event_waits_for_a_database_another_writer_holds_locked(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A long write elsewhere (a big CSV import) holds SQLite's lock: the event is stored after it, not lost."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    engine = make_engine(url)
    # Give up waiting for the lock at once, instead of after 30 s, so that the waits are the writer's.
    sa.event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout=100"))
    migrate(engine)
    camera = settings.cameras[0]
    sync_camera(engine, camera)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long import holds it
    writer = EventWriter(EventStore(engine, settings, camera, "file:abc"))
    writer.submit(draft())
    time.sleep(2.5)  # a few attempts fail with "database is locked" meanwhile
    holder.execute("COMMIT")
    holder.close()
    [stored] = writer.close()
    assert stored.created
    assert "database is locked); trying again" in caplog.text
    assert [e.id for e in rows(EventStore(engine, settings, camera, "file:abc"))] == [stored.event.id]


def test_a_car_entry_stores_its_plate_read_and_crop(store: EventStore, settings: Settings) -> None:
    frame, box = car_scene(Plate("BG", "1234", "AB"), 520, random.Random(3))
    store.save(car_draft(frame, box))
    small, small_box = car_scene(Plate("BG", "1234", "AB"), 200, random.Random(4))  # plate ~13 px: unreadable
    store.save(car_draft(small, small_box, track_id=10))
    store.save(draft())
    by_track = {event.track_id: event for event in rows(store)}
    read, unreadable, person = by_track[9], by_track[10], by_track[5]
    assert (read.plate_status, read.plate_text) == ("read", "BG 1234 AB") and read.plate_confidence >= 0.8
    crop = settings.data_dir / read.plate_crop_path
    assert crop.read_bytes()[:2] == b"\xff\xd8" and file_sha256(crop) == read.plate_crop_sha256
    assert (unreadable.plate_status, unreadable.plate_text, unreadable.plate_crop_path) == ("unreadable", None, None)
    assert person.plate_status is None
    assert verify_integrity(store.engine, settings).ok
