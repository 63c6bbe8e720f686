"""Backup and restore: a site with stored events and evidence is backed up, restored into an empty
folder and an empty database, and ``audit verify`` passes there; a damaged backup and a target
already in use are refused before anything is written. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.evidence.backup import MANIFEST, BackupError, Manifest, create_backup
from gatewatch.evidence.database_copy import DatabaseCopyError, table_names
from gatewatch.evidence.files import file_sha256
from gatewatch.evidence.integrity import IntegrityReport, verify_integrity
from gatewatch.evidence.restore import BackupDamaged, RestoreError, restore_backup
from gatewatch.evidence.signing import installation_key, key_path
from gatewatch.models.db import make_engine
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings
from gatewatch.vision.redaction import redact_url
from tests.continuous_recording import record_footage
from tests.databases import PostgresServer
from tests.evidence_fixtures import WHEN, flip_byte, make_history, store_event

PASSWORD = "s3cret-Backup-pw"
#: For the checks that do not depend on the database: SQLite only, to keep the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def with_password(url: str) -> str:
    """The URL with a password; the tests' server trusts its socket, so it is never asked for."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def settings(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    """The site: data_dir (holding the SQLite database, as by default), and a configuration file elsewhere."""
    config = tmp_path_factory.mktemp("config") / "gatewatch.yaml"
    raw = {"data_dir": str(tmp_path), "database_url": with_password(database_url), "timezone": "Asia/Jakarta",
           "detector": {"model": "yolo11n.pt"},
           "cameras": [{"id": "gate-1", "name": "Gate 1", "source": "0", "hours": {"open": "06:00", "close": "22:00"},
                        "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]}}]}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config.chmod(0o600)
    return Settings(**{**raw, "config": config})


@pytest.fixture
def site(engine: sa.Engine, settings: Settings) -> list[EntryEvent]:
    """Three stored events with their evidence, a review and a visit, the signing key, and what a backup leaves out."""
    events = make_history(engine, settings)
    installation_key(settings.data_dir)
    (settings.data_dir / "thumbnails").mkdir()
    (settings.data_dir / "thumbnails" / f"{events[0].id}.jpg").write_bytes(b"a cache the web app remakes")
    (settings.data_dir / "evidence" / ".clip.mp4.x1y2.part").write_bytes(b"half written")
    (settings.data_dir / "recordings" / "gate-1").mkdir(parents=True)
    (settings.data_dir / "recordings" / "gate-1" / "090000.mp4").write_bytes(b"a recording segment")
    return events


def empty_target_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                     database_url: str, name: str) -> str:
    """A new database with no tables, on the same server as the site's."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'restored.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = f"{sa.engine.make_url(database_url).database}_{name}"
    server.execute(f"CREATE DATABASE {database}")
    return with_password(server.url(database))


def evidence_paths(events: list[EntryEvent]) -> list[str]:
    return sorted(p for e in events for p in (e.snapshot_path, e.clip_path, e.plate_crop_path, e.boxes_path) if p)


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_a_backup_restores_into_an_empty_folder_and_audit_verify_passes_there(
    site: list[EntryEvent], settings: Settings, database_url: str, request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    out = tmp_path_factory.mktemp("backups") / "site-backup"
    done = cli("-v", "backup", str(out), "--config", str(settings.config))
    assert done.exit_code == 0, done.output
    assert "recordings not included" in done.output

    manifest = Manifest.from_json((out / MANIFEST).read_text())
    listed = {f.path: f for f in manifest.files}
    kind = sa.engine.make_url(database_url).get_backend_name()
    assert (manifest.database_kind, manifest.schema_revision) == (kind, _revision(settings))
    assert manifest.database_file in listed and manifest.config_file == "config/gatewatch.yaml"
    for path in evidence_paths(site):
        assert listed[f"data/{path}"].sha256 == file_sha256(settings.data_dir / path)
    assert listed["data/keys/export-signing-ed25519.pem"].mode == "0600"
    assert stat.S_IMODE((out / "data/keys/export-signing-ed25519.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    left_out = ("data/gatewatch.db", "data/thumbnails/", "data/recordings/", ".part")
    assert not [p for p in listed if any(part in p for part in left_out)], listed.keys()
    assert PASSWORD not in (out / MANIFEST).read_text() and PASSWORD not in done.output + caplog.text

    target = tmp_path_factory.mktemp("restore") / "site"
    target_url = empty_target_url(request, tmp_path_factory, database_url, "restored")
    db_option = [] if kind == "sqlite" else ["--db", target_url]  # SQLite: gatewatch.db in --data-dir
    done = cli("restore", str(out), "--data-dir", str(target), *db_option)
    assert done.exit_code == 0, done.output
    assert f"data_dir: {target}" in done.output and PASSWORD not in done.output
    if kind == "sqlite":
        target_url = f"sqlite:///{target / 'gatewatch.db'}"
    assert f"database_url: {redact_url(target_url)}" in done.output

    restored = settings.model_copy(update={"data_dir": target, "database_url": target_url})
    engine = make_engine(target_url)
    try:
        report = verify_integrity(engine, restored)
        assert report.ok, report.lines()
        assert (report.events, report.files) == (3, len(evidence_paths(site)))
        with Session(engine) as session:
            rows = session.exec(select(EntryEvent).order_by(EntryEvent.id)).all()
        assert [(e.id, e.status, e.snapshot_sha256) for e in rows] == [(e.id, e.status, e.snapshot_sha256) for e in site]
    finally:
        engine.dispose()
    for path in evidence_paths(site):
        assert (target / path).read_bytes() == (settings.data_dir / path).read_bytes()
    assert installation_key(target).public_key().public_bytes_raw() == \
        installation_key(settings.data_dir).public_key().public_bytes_raw()
    assert stat.S_IMODE(key_path(target).stat().st_mode) == 0o600
    assert not (target / "thumbnails").exists() and not (target / "recordings").exists()

    # The command an operator runs, with the restored configuration and the places restore printed.
    verified = cli("audit", "verify", "--config", str(target / "restored-config" / "gatewatch.yaml"),
                   "--db", target_url, env={"GATEWATCH_DATA_DIR": str(target)})
    assert verified.exit_code == 0, verified.output
    assert "OK: the records and evidence are as written" in verified.output


def _revision(settings: Settings) -> str:
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def backup(site: list[EntryEvent], settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backups") / "b"
    result = create_backup(settings, out)
    assert result.missing == []
    return out


def test_a_flipped_byte_is_named_and_nothing_is_restored(
    backup: Path, site: list[EntryEvent], database_url: str, request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    clip = f"data/{site[1].clip_path}"
    flip_byte(backup / clip, 200)
    target = tmp_path_factory.mktemp("restore")  # exists, empty
    target_url = empty_target_url(request, tmp_path_factory, database_url, "flipped")
    with pytest.raises(BackupDamaged) as refused:
        restore_backup(backup, target, target_url)
    assert f"altered: {clip} (sha256" in str(refused.value)
    assert list(target.iterdir()) == [] and table_names(target_url) == []

    done = cli("restore", str(backup), "--data-dir", str(target), "--db", target_url)
    assert done.exit_code == 1 and clip in done.output and "nothing was restored" in done.output
    assert list(target.iterdir()) == []


@SQLITE_ONLY
def test_missing_and_extra_files_are_named(backup: Path, site: list[EntryEvent], tmp_path_factory: pytest.TempPathFactory
                                           ) -> None:
    (backup / "data" / site[0].snapshot_path).unlink()
    (backup / "data" / "planted.jpg").write_bytes(b"not backed up")
    target = tmp_path_factory.mktemp("restore") / "new"
    with pytest.raises(BackupDamaged) as refused:
        restore_backup(backup, target, f"sqlite:///{target}.db")
    message = str(refused.value)
    assert f"missing: data/{site[0].snapshot_path}" in message and "extra: data/planted.jpg" in message
    assert not target.exists() and not Path(f"{target}.db").exists()


def test_a_folder_or_database_in_use_is_refused(
    backup: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory, database_url: str,
    request: pytest.FixtureRequest,
) -> None:
    used = tmp_path_factory.mktemp("restore")
    (used / "notes.txt").write_text("someone's")
    done = cli("restore", str(backup), "--data-dir", str(used), "--db",
               empty_target_url(request, tmp_path_factory, database_url, "unused"))
    assert done.exit_code == 2 and "is not empty" in done.output
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]

    target = tmp_path_factory.mktemp("restore") / "new"
    with pytest.raises(RestoreError, match="already holds .* tables"):
        restore_backup(backup, target, settings.effective_database_url)  # the site's own database
    assert not target.exists()

    done = cli("backup", str(backup), "--config", str(settings.config))
    assert done.exit_code == 2 and "is not empty" in done.output
    with pytest.raises(BackupError, match="is not empty"):
        create_backup(settings, used)


def test_recordings_restore_with_the_site_only_when_asked(
    site: list[EntryEvent], engine: sa.Engine, settings: Settings, database_url: str,
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    segments = record_footage(engine, settings, WHEN)
    assert len(segments) == 2

    def round_trip(with_recordings: bool) -> tuple[Manifest, IntegrityReport]:
        out = tmp_path_factory.mktemp("backups") / "b"
        manifest = create_backup(settings, out, with_recordings=with_recordings).manifest
        target = tmp_path_factory.mktemp("restore") / "site"
        target_url = empty_target_url(request, tmp_path_factory, database_url, f"rec{int(with_recordings)}")
        restore_backup(out, target, target_url)
        restored = make_engine(target_url)
        try:
            return manifest, verify_integrity(restored, settings.model_copy(update={"data_dir": target}))
        finally:
            restored.dispose()

    manifest, report = round_trip(with_recordings=True)
    listed = {f.path for f in manifest.files}
    assert {f"data/{s.path}" for s in segments} | {"data/recordings/gate-1/090000.mp4"} <= listed
    assert report.ok, report.lines()
    assert (report.segments, report.files) == (2, len(evidence_paths(site)) + 2)

    manifest, report = round_trip(with_recordings=False)
    assert manifest.segments_left_out == 2 and not [p for p in (f.path for f in manifest.files) if "recordings" in p]
    assert report.ok, report.lines()  # the restore said, segment by segment, that their files stayed behind
    assert sorted(e.segment_id for e in report.expired_segments.items) == sorted(s.id for s in segments)


@SQLITE_ONLY
def test_a_backup_written_under_data_dir_does_not_copy_itself(site: list[EntryEvent], settings: Settings) -> None:
    first = create_backup(settings, settings.data_dir / "backups" / "one").manifest
    second = create_backup(settings, settings.data_dir / "backups" / "two").manifest
    assert not [f.path for f in (*first.files, *second.files) if f.path.startswith("data/backups/")]


def test_a_failed_dump_keeps_nothing_and_hides_the_password(
    settings: Settings, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gone = sa.engine.make_url(settings.effective_database_url).set(database="no_such_database")
    if gone.get_backend_name() == "sqlite":
        gone = gone.set(database=str(settings.data_dir / "no_such.db"))
    broken = settings.model_copy(update={"database_url": gone.render_as_string(hide_password=False)})
    out = tmp_path_factory.mktemp("backups") / "b"
    with pytest.raises(DatabaseCopyError) as failed:
        create_backup(broken, out)
    assert PASSWORD not in str(failed.value) and "no_such" in str(failed.value)
    assert not out.exists()


def test_a_backup_made_while_events_are_stored_restores_whole(
    site: list[EntryEvent], engine: sa.Engine, settings: Settings, database_url: str,
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stop, stored = threading.Event(), []

    def keep_storing() -> None:
        for track_id in range(100, 200):
            if stop.is_set():
                return
            stored.append(store_event(engine, settings, when=WHEN + timedelta(minutes=track_id), track_id=track_id))

    writer = threading.Thread(target=keep_storing)
    writer.start()
    try:
        while not stored:
            time.sleep(0.05)
        backups = [create_backup(settings, tmp_path_factory.mktemp("backups") / "b") for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    last = backups[-1].out
    target = tmp_path_factory.mktemp("restore") / "site"
    target_url = empty_target_url(request, tmp_path_factory, database_url, "busy")
    restore_backup(last, target, target_url)
    restored = make_engine(target_url)
    try:
        report = verify_integrity(restored, settings.model_copy(update={"data_dir": target}))
    finally:
        restored.dispose()
    assert report.ok, report.lines()
    assert len(site) < report.events <= len(site) + len(stored)


def test_a_site_not_yet_upgraded_is_backed_up_and_its_restore_migrates(
    database_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
) -> None:
    """The backup made before an upgrade: the schema as it was (before recordings), migrated on first use."""
    from alembic import command

    from gatewatch.models.db import alembic_config, migrate

    old_url = empty_target_url(request, tmp_path_factory, database_url, "old")
    old = make_engine(old_url)
    command.upgrade(alembic_config(old), "0008")
    old.dispose()
    site = Settings(detector={"model": "yolo11n.pt"}, data_dir=tmp_path / "old-site", database_url=old_url)
    out = tmp_path_factory.mktemp("backups") / "b"
    assert create_backup(site, out).manifest.schema_revision == "0008"

    target_url = empty_target_url(request, tmp_path_factory, database_url, "upgraded")
    restore_backup(out, tmp_path_factory.mktemp("restore") / "site", target_url)
    restored = make_engine(target_url)
    try:
        migrate(restored)
        assert "recordingsegment" in sa.inspect(restored).get_table_names()
    finally:
        restored.dispose()


@SQLITE_ONLY
@pytest.mark.parametrize(("change", "refusal"), [
    ({"path": "data/../../outside.txt"}, "which a backup cannot hold"),
    ({"path": "/etc/cron.d/planted"}, "which a backup cannot hold"),
    ({"mode": "4755"}, "permission bits"),
])
def test_a_manifest_naming_a_path_outside_or_a_special_mode_is_refused(
    backup: Path, tmp_path_factory: pytest.TempPathFactory, change: dict[str, str], refusal: str,
) -> None:
    data = json.loads((backup / MANIFEST).read_text())
    data["files"][1].update(change)
    (backup / MANIFEST).write_text(json.dumps(data))
    target = tmp_path_factory.mktemp("restore") / "new"
    with pytest.raises(BackupDamaged, match=refusal):
        restore_backup(backup, target, f"sqlite:///{target}.db")
    assert not target.exists()
