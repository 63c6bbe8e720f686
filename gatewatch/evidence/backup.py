"""A backup of the whole site in a new folder, with a manifest of hashes: ``gatewatch backup``.

A site is its database, the files under ``data_dir`` (evidence, the export signing key, the web
app's secret key, exports, imports) and its configuration file. ``create_backup`` copies the
database first, as one snapshot (``database_copy``), and then the files: evidence files are
written whole before their event is stored, so every file the copied database names is already
there. Left out: the SQLite database file itself (copied through its backup API instead), the
thumbnails (a cache the web app remakes), half-written ``.part`` files, and the recordings unless
asked for, since they can be far larger than everything else.

The folder holds ``database/``, ``data/`` (as under ``data_dir``), ``config/`` and ``manifest.json``:
every file's path, size, SHA-256 and mode, the database kind, its schema revision, the time and the
gatewatch version. The manifest names no database URL, so no password. The folder is made 0700
(it holds the keys) and each file keeps its mode: the signing key stays 0600.

``gatewatch.evidence.restore`` checks a backup against its manifest and puts it back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from gatewatch.audit.events import EVIDENCE_PATH_FIELDS
from gatewatch.evidence.database_copy import DUMP_FILES, SQLITE, database_kind, dump_database, sqlite_path
from gatewatch.evidence.files import PARTIAL_FILES, THUMBNAIL_DIR, file_sha256
from gatewatch.evidence.signing import KEY_DIR, KEY_FILE
from gatewatch.models.db import make_engine
from gatewatch.models.tables import EntryEvent, RecordingSegment
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.vision.redaction import redact_url

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Raised when the manifest's layout changes; a restore refuses a format it does not know.
FORMAT = 1
#: The backup's folders: the database copy, the files of ``data_dir``, the configuration file.
DATABASE_DIR, DATA_DIR, CONFIG_DIR = "database", "data", "config"
#: Where the cameras' continuous recordings are kept under ``data_dir``; copied only when asked.
RECORDINGS_DIR = "recordings"
_PARTIAL_NAME = PurePosixPath(PARTIAL_FILES).name  # ".*.part"
_BLOCK = 1 << 20


class BackupError(Exception):
    """A backup cannot be made or read; the message says why."""


@dataclass(frozen=True)
class ManifestFile:
    path: str  # relative to the backup folder, with forward slashes
    size: int
    sha256: str
    mode: str  # octal permission bits, "0600"


@dataclass
class Manifest:
    created_at: str
    gatewatch_version: str
    database_kind: str
    database_file: str
    schema_revision: str | None
    config_file: str | None
    signing_key: str | None
    with_recordings: bool
    segments_left_out: int  # recording segments the database names whose files were not copied
    files: list[ManifestFile] = field(default_factory=list)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """The manifest ``text`` holds; BackupError when it is not one this version can read."""
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") != FORMAT:
                raise BackupError(f"{MANIFEST} has format {data.get('format')!r}; this gatewatch reads {FORMAT}")
            files = [ManifestFile(**item) for item in data.pop("files")]
            return cls(**data, files=files)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST} is not a gatewatch backup manifest: {exc}") from None


@dataclass
class BackupResult:
    out: Path
    manifest: Manifest
    bytes: int
    missing: list[str]  # files the database names that were not under data_dir


def gatewatch_version() -> str:
    try:
        return metadata.version("gatewatch")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- copying files -----------------------------------------------------------------------------


def copy_hashed(source: Path, target: Path, mode: int) -> tuple[int, str]:
    """Copy ``source`` to the new file ``target`` (fsynced, then given ``mode``); its size and SHA-256.

    The copy is made 0600 and gets ``mode`` only once written, so a secret is never readable on the way.
    """
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader, \
            os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer:
        for block in iter(lambda: reader.read(_BLOCK), b""):
            digest.update(block)
            writer.write(block)
            size += len(block)
        writer.flush()
        os.fsync(writer.fileno())
    os.chmod(target, mode)
    return size, digest.hexdigest()


def make_parents(source_root: Path, target_root: Path, relative: PurePosixPath) -> None:
    """Make the folders of ``relative`` under ``target_root``, each with the mode of its twin under ``source_root``."""
    source, target = source_root, target_root
    for part in relative.parts[:-1]:
        source, target = source / part, target / part
        if not target.is_dir():
            target.mkdir()
            target.chmod(stat.S_IMODE(source.stat().st_mode) if source.is_dir() else 0o700)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def octal(mode: int) -> str:
    return f"{mode:04o}"


# --- what is copied ----------------------------------------------------------------------------


def data_files(data_dir: Path, skipped: set[PurePosixPath], skipped_dirs: set[PurePosixPath]) -> Iterator[PurePosixPath]:
    """Every regular file under ``data_dir`` (relative, sorted), but ``skipped``, those under ``skipped_dirs``,
    earlier backups, half-written ``.part`` files and symbolic links (which may point anywhere)."""
    if not data_dir.is_dir():
        return
    for folder, dirs, names in os.walk(data_dir):
        here = PurePosixPath(Path(folder).relative_to(data_dir).as_posix())
        dirs[:] = sorted(d for d in dirs if here / d not in skipped_dirs and not (Path(folder) / d).is_symlink()
                         and not is_backup(Path(folder) / d))
        for name in sorted(names):
            relative = here / name
            path = Path(folder) / name
            if relative in skipped or PurePosixPath(name).match(_PARTIAL_NAME):
                continue
            if path.is_symlink() or not path.is_file():
                log.warning("backup: %s is not a regular file; left out", relative)
                continue
            yield relative


def is_backup(folder: Path) -> bool:
    """Whether ``folder`` holds a backup (its manifest beside its database folder)."""
    return (folder / MANIFEST).is_file() and (folder / DATABASE_DIR).is_dir()


def _inside(path: Path, root: Path) -> PurePosixPath | None:
    """``path`` relative to ``root`` when it lies under it."""
    path, root = path.resolve(), root.resolve()
    return PurePosixPath(path.relative_to(root).as_posix()) if path.is_relative_to(root) else None


def _read_site(url: str) -> tuple[str | None, set[str], set[str]]:
    """The schema revision, the evidence paths events name, and the recording segments' paths.

    Read from whatever schema the database has: a backup is made before an upgrade migrates it.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            evidence = _column_values(connection, EntryEvent.__table__, EVIDENCE_PATH_FIELDS)
            segments = _column_values(connection, RecordingSegment.__table__, ("path",))
    except sa.exc.SQLAlchemyError as exc:
        raise BackupError(f"the database is not a gatewatch database: {redact_url(str(getattr(exc, 'orig', exc)))}"
                          ) from None
    finally:
        engine.dispose()
    return revision, evidence, segments


def _column_values(connection: sa.Connection, table: sa.Table, names: tuple[str, ...]) -> set[str]:
    """Every value of the columns ``names`` of ``table`` that the database has; none of a table it lacks."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(table.name):
        return set()
    present = {column["name"] for column in inspector.get_columns(table.name)}
    columns = [table.c[name] for name in names if name in present]
    if not columns:
        return set()
    return {value for row in connection.execute(sa.select(*columns)) for value in row if value}


def _skipped(settings: Settings, url: str, out: Path, segments: set[str], with_recordings: bool
             ) -> tuple[set[PurePosixPath], set[PurePosixPath]]:
    """The files and folders under data_dir a backup leaves out."""
    data_dir = settings.data_dir
    files: set[PurePosixPath] = set()
    folders = {PurePosixPath(THUMBNAIL_DIR)}
    if database_kind(url) == SQLITE and (database := _inside(sqlite_path(url), data_dir)) is not None:
        files |= {database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")}
    if not with_recordings:
        folders.add(PurePosixPath(RECORDINGS_DIR))
        files |= {PurePosixPath(path) for path in segments}
    if (inside := _inside(out, data_dir)) is not None:
        folders.add(inside)  # a backup written under data_dir does not copy itself
    return files, folders


# --- the backup --------------------------------------------------------------------------------


def prepare_out(out: Path) -> bool:
    """Make the folder ``out`` (0700); True when it was made. BackupError when it exists and is not empty."""
    if out.exists() and not out.is_dir():
        raise BackupError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty: a backup goes into a new or empty folder")
    made = not out.exists()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    out.chmod(0o700)
    return made


def create_backup(settings: Settings, out: Path, *, with_recordings: bool = False,
                  now: datetime | None = None) -> BackupResult:
    """Copy the site into the new folder ``out`` and write its manifest.

    On any failure the partial backup is removed, so a folder with a manifest is a whole backup.
    """
    url = settings.effective_database_url
    kind = database_kind(url)
    made = prepare_out(out)
    try:
        return _write_backup(settings, url, kind, out, with_recordings, now or utcnow())
    except BaseException:
        empty_folder(out, remove=made)
        raise


def _write_backup(settings: Settings, url: str, kind: str, out: Path, with_recordings: bool,
                  now: datetime) -> BackupResult:
    database_file = f"{DATABASE_DIR}/{DUMP_FILES[kind]}"
    (out / DATABASE_DIR).mkdir(mode=0o700)
    dump_database(url, out / database_file)  # first: every file it names exists by now
    entries = [_entry(out, database_file)]
    revision, evidence, segments = _read_site(url)
    skipped, skipped_dirs = _skipped(settings, url, out, segments, with_recordings)
    data_root = out / DATA_DIR
    data_root.mkdir(mode=file_mode(settings.data_dir) if settings.data_dir.is_dir() else 0o700)
    copied: set[str] = set()
    for relative in data_files(settings.data_dir, skipped, skipped_dirs):
        make_parents(settings.data_dir, data_root, relative)
        source = settings.data_dir / relative
        try:
            mode = file_mode(source)
            size, sha256 = copy_hashed(source, data_root / relative, mode)
        except FileNotFoundError:  # deleted since the walk (an export's temporary file, retention)
            log.warning("backup: %s was deleted while the backup ran; left out", relative)
            continue
        entries.append(ManifestFile(f"{DATA_DIR}/{relative}", size, sha256, octal(mode)))
        copied.add(str(relative))
    config_file = _copy_config(settings.config, out, entries)
    key = f"{DATA_DIR}/{KEY_DIR}/{KEY_FILE}"
    manifest = Manifest(
        created_at=now.isoformat(), gatewatch_version=gatewatch_version(), database_kind=kind,
        database_file=database_file, schema_revision=revision, config_file=config_file,
        signing_key=key if any(e.path == key for e in entries) else None, with_recordings=with_recordings,
        segments_left_out=0 if with_recordings else len(segments), files=entries,
    )
    (out / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    wanted = evidence | (segments if with_recordings else set())
    missing = sorted(path for path in wanted if _normal(path) not in copied)
    for path in missing:
        log.warning("backup: the database names %s, which is not under data_dir", path)
    log.info("backup: %d files, %s database at revision %s", len(entries), kind, revision)
    return BackupResult(out, manifest, sum(e.size for e in entries), missing)


def _normal(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def _entry(out: Path, relative: str) -> ManifestFile:
    path = out / relative
    return ManifestFile(relative, path.stat().st_size, file_sha256(path), octal(file_mode(path)))


def _copy_config(config: Path | None, out: Path, entries: list[ManifestFile]) -> str | None:
    """Copy the configuration file into ``config/``; its path in the backup, or None without one."""
    if config is None or not config.is_file():
        return None
    (out / CONFIG_DIR).mkdir(mode=0o700)
    relative = f"{CONFIG_DIR}/{config.name}"
    mode = file_mode(config)
    size, sha256 = copy_hashed(config, out / relative, mode)
    entries.append(ManifestFile(relative, size, sha256, octal(mode)))
    return relative


def empty_folder(folder: Path, *, remove: bool) -> None:
    """Remove what was written into ``folder``, and the folder itself when ``remove``."""
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir() if folder.is_dir() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
