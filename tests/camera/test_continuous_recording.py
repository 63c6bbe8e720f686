"""Continuous recording of a live camera: a real RTSP stream recorded by the worker into segments whose
hashes are in the audit chain, an outage on the record as a gap, and a busy database waited out."""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from gatewatch.camera.segments import SegmentLog, remove_stale_partial_segments, segment_path
from gatewatch.evidence.files import file_sha256
from gatewatch.evidence.integrity import FileProblem, verify_integrity
from gatewatch.models.db import make_engine, migrate
from gatewatch.models.tables import AuditRecord, RecordingGap, RecordingSegment
from gatewatch.settings import Settings
from gatewatch.vision.segments import ClosedSegment, SegmentRecorder
from gatewatch.vision.sources import FileSource, StreamSource
from tests.camera import test_rtsp_stream
from tests.camera.test_rtsp_stream import RtspServer, Worker
from tests.evidence_fixtures import WHEN, flip_byte
from tests.shared_files import HIGHWAY, MODEL, SAMPLE_CONFIG

rtsp_server = test_rtsp_stream.rtsp_server  # the fixture: the vehicle footage served over RTSP


def nal_units_annex_b(data: bytes) -> list[bytes]:
    """An RTSP packet's NAL units: FFmpeg hands them over with start codes."""
    return [unit for unit in re.split(b"\x00\x00\x00\x01|\x00\x00\x01", data) if unit]


def nal_units_mp4(data: bytes) -> list[bytes]:
    """An MP4 sample's NAL units: MP4 stores each with its length in front instead."""
    units, at = [], 0
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        units.append(data[at + 4:at + 4 + length])
        at += 4 + length
    return units


def mp4_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.mark.timeout(60)
def test_segments_of_a_live_stream_hold_its_packets(tmp_path: Path, rtsp_server: RtspServer) -> None:
    segments: list[ClosedSegment] = []
    stream: list[bytes] = []
    source = StreamSource(rtsp_server.url, stall_seconds=5.0)
    recorder = SegmentRecorder(source.stream, lambda t: tmp_path / f"{t:%H%M%S.%f}.mp4", 2.0, segments.append,
                               lambda gap: pytest.fail(f"a gap: {gap}"))
    source.listen(lambda packet: stream.append(bytes(packet)))
    source.listen(recorder)
    frames = source.frames()
    for _ in range(200):  # almost 7 s: three segments (keyframes 3 s apart)
        next(frames)
    recorder.close()
    source.close()

    assert len(segments) >= 2
    recorded = [packet for segment in segments for packet in mp4_packets(segment.path)]
    # The camera's own bytes, packet for packet: only the framing of the NAL units differs (MP4 needs lengths).
    assert len(recorded) == len(stream) == sum(s.frames for s in segments)
    assert [nal_units_mp4(p) for p in recorded] == [nal_units_annex_b(p) for p in stream]
    for segment in segments:
        with av.open(str(segment.path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == segment.frames  # plays whole on its own
    assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(segments))


@contextmanager
def database_busy(database_url: str) -> Iterator[None]:
    """SQLite: another connection holds the write lock. PostgreSQL: the server takes no connections."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    url = sa.make_url(database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"ALTER DATABASE {url.database} ALLOW_CONNECTIONS false")
        connection.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                                   f"'{url.database}'")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"ALTER DATABASE {url.database} ALLOW_CONNECTIONS true")
    admin.dispose()


def wait_until(what: str, check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.05)


def test_a_busy_database_queues_the_record_and_stores_it_later(
    database_url: str, engine: sa.Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if database_url.startswith("sqlite"):  # the application's 30 s lock timeout, made short for the test
        engine = sa.create_engine(database_url, connect_args={"timeout": 0.2, "check_same_thread": False})
    path = segment_path(settings.data_dir, "gate-1", WHEN)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"segment")
    segment = ClosedSegment(path, WHEN, WHEN.replace(second=3), 90, 7, file_sha256(path))
    log = SegmentLog(engine, settings.data_dir, "gate-1", retry_seconds=(0.3,) * 100)
    caplog.set_level(logging.WARNING, "gatewatch.camera.segments")
    with database_busy(database_url):
        log.segment(segment)
        wait_until("failed attempt", lambda: "storing a recording record failed" in caplog.text)
        time.sleep(0.5)
        assert log.pending == 1  # queued, not dropped
    wait_until("stored record", lambda: log.pending == 0)
    log.close()

    with Session(engine) as session:
        [row] = session.exec(select(RecordingSegment)).all()
        [record] = session.exec(select(AuditRecord).where(AuditRecord.action == "recording.segment")).all()
    assert (row.path, row.sha256, row.started_at) == (path.relative_to(settings.data_dir).as_posix(),
                                                     segment.sha256, WHEN)
    assert json.loads(record.after)["sha256"] == segment.sha256 and record.entity_id == str(row.id)
    engine.dispose()


def recording_settings(tmp_path: Path, url: str) -> Settings:
    """The sample configuration's vehicle gate on ``url``, recorded in segments of 2 s."""
    sample = yaml.safe_load(SAMPLE_CONFIG.read_text())
    camera = next(c for c in sample["cameras"] if c["id"] == "vehicle-gate")
    return Settings(detector={"model": str(MODEL)}, data_dir=tmp_path / "data", recording={"segment_seconds": 2},
                    cameras=[{**camera, "source": url, "stall_seconds": 5.0, "record": True}])


def _segments(session: Session) -> list[RecordingSegment]:
    return list(session.exec(select(RecordingSegment).order_by(RecordingSegment.started_at)).all())


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_a_recording_worker_keeps_the_stream_in_the_chain_and_an_outage_as_a_gap(
    tmp_path: Path, rtsp_server: RtspServer
) -> None:
    settings = recording_settings(tmp_path, rtsp_server.url)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    worker = Worker(engine, settings)
    try:
        worker.wait_for("two segments", lambda s: len(_segments(s)) >= 2, timeout=45)
        rtsp_server.kill()
        down, down_at = time.monotonic(), datetime.now(UTC)
        time.sleep(2)
        rtsp_server.start()
        gap = worker.wait_for("gap", lambda s: s.exec(select(RecordingGap)).first(), timeout=40)
        worker.wait_for("segment after the outage", lambda s: _segments(s)[-1].started_at > gap.ended_at,
                        timeout=20)
    finally:
        worker.finish()
    back = time.monotonic()

    with Session(engine) as session:
        stored = _segments(session)
        records = {int(r.entity_id): json.loads(r.after) for r in session.exec(
            select(AuditRecord).where(AuditRecord.action == "recording.segment"))}
        [gap_record] = session.exec(select(AuditRecord).where(AuditRecord.action == "recording.gap")).all()
    assert gap.reason.startswith(f"the stream was down: stream {rtsp_server.url} ended after frame")
    assert json.loads(gap_record.after)["reason"] == gap.reason and gap_record.actor == "worker"
    before, after = [s for s in stored if s.ended_at <= gap.started_at], [s for s in stored
                                                                          if s.started_at >= gap.ended_at]
    assert before and after and len(before) + len(after) == len(stored)
    assert (before[-1].ended_at, after[0].started_at) == (gap.started_at, gap.ended_at)
    # Footage times are the camera's: the last frame before the outage came before the server was killed
    # (its presentation time and duration may reach a few frames beyond the time it was sent: B-frames).
    assert gap.started_at <= down_at + timedelta(seconds=0.25)
    assert 2 <= (gap.ended_at - gap.started_at).total_seconds() <= back - down
    for segment in stored:  # every segment's hash is in the chain, and is its file's
        assert segment.path.startswith(f"recordings/vehicle-gate/{segment.started_at:%Y-%m-%d}/")
        assert records[segment.id]["sha256"] == segment.sha256 == file_sha256(settings.data_dir / segment.path)
        assert segment.frames > 0
    report = verify_integrity(engine, settings)
    assert report.ok, "\n".join(report.lines())
    assert report.segments == len(stored) and report.gaps == 1

    changed = stored[1]
    flip_byte(settings.data_dir / changed.path, 3000)
    report = verify_integrity(engine, settings)
    assert not report.ok
    [issue] = report.file_issues.items
    assert (issue.kind, issue.segment_id, issue.path) == (FileProblem.ALTERED, changed.id, changed.path)
    assert f"recording segment #{changed.id} of camera vehicle-gate ({changed.started_at:%Y-%m-%d %H:%M:%S}" \
           in "\n".join(report.lines())
    engine.dispose()


def test_a_full_disk_is_a_gap_on_the_record(engine: sa.Engine, settings: Settings) -> None:
    """The second segment cannot be written: the recording goes on, its time is a gap with the reason."""
    log = SegmentLog(engine, settings.data_dir, "gate-1")
    opened: list[datetime] = []

    def path_for(started: datetime) -> Path:
        opened.append(started)
        if len(opened) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return segment_path(settings.data_dir, "gate-1", started)

    source = FileSource(HIGHWAY, WHEN)
    recorder = SegmentRecorder(source.stream, path_for, 2.0, log.segment, log.gap, start=WHEN)
    source.listen(recorder)
    frames = sum(1 for _ in source.frames())
    recorder.close()
    source.close()
    log.close()

    assert frames == source.total_frames  # analysis never stopped
    with Session(engine) as session:
        stored = _segments(session)
        [gap] = session.exec(select(RecordingGap)).all()
        [record] = session.exec(select(AuditRecord).where(AuditRecord.action == "recording.gap")).all()
    assert len(stored) == len(opened) - 1
    assert (gap.started_at, gap.ended_at) == (opened[1], opened[2]) == (stored[0].ended_at, stored[1].started_at)
    assert gap.reason == "a segment could not be written: [Errno 28] No space left on device"
    assert json.loads(record.after)["reason"] == gap.reason and record.entity_id == str(gap.id)
    report = verify_integrity(engine, settings)
    assert report.ok and (report.segments, report.gaps) == (len(stored), 1), "\n".join(report.lines())


def test_partial_segments_a_crash_left_are_cleared_but_not_one_being_written(tmp_path: Path) -> None:
    folder = segment_path(tmp_path, "gate-1", WHEN).parent
    folder.mkdir(parents=True)
    crashed, writing, whole = folder / ".030000.000000.mp4.x1.part", folder / ".030002.000000.mp4.x2.part", \
        folder / "030004.000000.mp4"
    for path in (crashed, writing, whole):
        path.write_bytes(b"data")
    os.utime(crashed, (0, 0))
    assert remove_stale_partial_segments(tmp_path, "gate-1") == 1
    assert not crashed.exists() and writing.exists() and whole.exists()
