"""Putting a backup back into an empty folder and an empty database: ``gatewatch restore``.

Nothing is written until the whole backup has been checked against its manifest
(``check_backup``): every file present, with its size and SHA-256, and nothing beside them. A
damaged or tampered backup is refused with each missing, extra or altered file named, so a
half-restored site never stands where evidence is expected. The target folder must be empty and
the target database hold no tables; the backup's schema must be one this gatewatch knows.

The files are copied into the data folder, hashed again as they are written, with the modes
the manifest gives (the signing key 0600); the configuration file goes to ``restored-config/``
in it, unchanged; the database is put back by ``database_copy``. If anything fails on the way,
what was written is removed again. The restored site is then checked as any other:
``gatewatch audit verify`` with ``data_dir`` and ``database_url`` set to the new places.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlmodel import select

from gatewatch.audit import trail
from gatewatch.audit.segments import SEGMENT_NOT_RESTORED
from gatewatch.evidence.backup import (
    CONFIG_DIR,
    DATA_DIR,
    DATABASE_DIR,
    MANIFEST,
    BackupError,
    Manifest,
    ManifestFile,
    copy_hashed,
    empty_folder,
    file_mode,
    make_parents,
)
from gatewatch.evidence.database_copy import (
    POSTGRESQL,
    SQLITE,
    DatabaseCopyError,
    database_kind,
    pg_program,
    restore_database,
    sqlite_path,
    table_names,
)
from gatewatch.evidence.files import file_sha256, resolve
from gatewatch.evidence.recordings import mark_gone
from gatewatch.models.db import make_engine, session_scope
from gatewatch.models.tables import RecordingSegment
from gatewatch.models.types import utcnow
from gatewatch.vision.redaction import redact_url

#: The folder under the restored data folder that receives the backup's configuration file.
RESTORED_CONFIG_DIR = "restored-config"
#: Who the restored site's audit trail says marked the recordings a backup left behind.
RESTORE_ACTOR = "restore"
#: A file's mode in the manifest: permission bits only (no set-user-id, no sticky bit).
_MODE = re.compile(r"0?[0-7]{3}")
#: How many problems of each kind a refusal lists; the rest are counted.
LISTED = 50


class RestoreError(BackupError):
    """The restore is refused or failed; the message says why."""


class BackupDamaged(RestoreError):
    """The backup does not match its manifest; nothing was written."""


@dataclass
class Mismatch:
    """How a backup folder differs from its manifest."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.altered)

    def message(self, backup: Path) -> str:
        lines = [f"{backup} does not match its manifest; nothing was restored:"]
        for kind, paths in (("altered", self.altered), ("missing", self.missing), ("extra", self.extra)):
            lines += [f"  {kind}: {path}" for path in paths[:LISTED]]
            if len(paths) > LISTED:
                lines.append(f"  {kind}: ... and {len(paths) - LISTED} more")
        return "\n".join(lines)


@dataclass
class RestoreResult:
    data_dir: Path
    database_url: str
    files: int
    config: Path | None
    manifest: Manifest


# --- checking the backup -----------------------------------------------------------------------


def read_manifest(backup: Path) -> Manifest:
    if not backup.is_dir():
        raise RestoreError(f"{backup} is not a folder")
    path = backup / MANIFEST
    if not path.is_file():
        raise RestoreError(f"{backup} has no {MANIFEST}: not a gatewatch backup")
    try:
        manifest = Manifest.from_json(path.read_text(encoding="utf-8", errors="replace"))
    except BackupError as exc:
        raise BackupDamaged(str(exc)) from None
    _check_paths(manifest)
    return manifest


def _check_paths(manifest: Manifest) -> None:
    """Every path stays inside the backup's folders, once; the database and config the manifest names are listed."""
    seen: set[str] = set()
    for item in manifest.files:
        parts = PurePosixPath(item.path).parts
        if (item.path in seen or len(parts) < 2 or parts[0] not in (DATABASE_DIR, DATA_DIR, CONFIG_DIR)
                or any(part in ("", ".", "..") for part in parts) or "\\" in item.path or "\0" in item.path):
            raise BackupDamaged(f"{MANIFEST} names the path {item.path!r}, which a backup cannot hold")
        if not _MODE.fullmatch(item.mode):
            raise BackupDamaged(f"{MANIFEST} gives {item.path} the mode {item.mode!r}: permission bits such as 0644")
        seen.add(item.path)
    for name, path in (("database_file", manifest.database_file), ("config_file", manifest.config_file)):
        if path is not None and path not in seen:
            raise BackupDamaged(f"{MANIFEST}: its {name} {path!r} is not among its files")


def _present(backup: Path) -> tuple[set[str], list[str]]:
    """The regular files in the backup folder (relative, but the manifest), and whatever else is there."""
    files, odd = set(), []
    for folder, dirs, names in os.walk(backup):
        for name in [*names, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
            path = Path(folder) / name
            relative = path.relative_to(backup).as_posix()
            if path.is_symlink() or not path.is_file():
                odd.append(f"{relative} (not a regular file)")
            elif relative != MANIFEST:
                files.add(relative)
    return files, odd


def compare(backup: Path, manifest: Manifest) -> Mismatch:
    """How the backup folder differs from ``manifest``: files missing, extra, or with another size or hash."""
    present, odd = _present(backup)
    mismatch = Mismatch(extra=sorted(present - {f.path for f in manifest.files}) + odd)
    for item in manifest.files:
        path = backup / item.path
        if item.path not in present:
            mismatch.missing.append(item.path)
        elif path.stat().st_size != item.size:
            mismatch.altered.append(f"{item.path} ({path.stat().st_size} bytes, the manifest says {item.size})")
        elif (actual := file_sha256(path)) != item.sha256:
            mismatch.altered.append(f"{item.path} (sha256 {actual}, the manifest says {item.sha256})")
    return mismatch


def check_backup(backup: Path) -> Manifest:
    """The backup's manifest, once every file matches it; BackupDamaged naming each one that does not."""
    manifest = read_manifest(backup)
    mismatch = compare(backup, manifest)
    if mismatch:
        raise BackupDamaged(mismatch.message(backup))
    return manifest


# --- checking the target -----------------------------------------------------------------------


def default_database_url(data_dir: Path) -> str:
    """The SQLite database a site keeps in its data folder when its configuration names none."""
    return f"sqlite:///{data_dir.resolve() / 'gatewatch.db'}"


def check_target(data_dir: Path, url: str, manifest: Manifest) -> None:
    """RestoreError unless ``data_dir`` is new or empty and the database at ``url`` is empty and of the backup's kind."""
    if data_dir.exists() and not data_dir.is_dir():
        raise RestoreError(f"{data_dir} exists and is not a folder")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise RestoreError(f"{data_dir} is not empty: a backup is restored into a new or empty folder")
    try:
        kind = database_kind(url)
        if kind != manifest.database_kind:
            raise RestoreError(f"the backup holds a {manifest.database_kind} database, and --db names a {kind} one")
        if kind == POSTGRESQL:
            pg_program("pg_restore")
        tables = table_names(url)
    except DatabaseCopyError as exc:
        raise RestoreError(str(exc)) from None
    if tables:
        shown = ", ".join(tables[:8]) + (", ..." if len(tables) > 8 else "")
        raise RestoreError(f"the database {redact_url(url)} already holds {len(tables)} tables ({shown}): "
                           "a backup is restored into an empty database")
    _check_revision(manifest.schema_revision)


def _check_revision(revision: str | None) -> None:
    """RestoreError when the backup's schema is newer than this gatewatch's migrations."""
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from gatewatch.models.db import MIGRATIONS_DIR

    try:
        found = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        raise RestoreError(f"the backup's schema revision {revision} is unknown to this gatewatch: "
                           "restore it with the version that made it or a newer one")


# --- the restore -------------------------------------------------------------------------------


def restore_backup(backup: Path, data_dir: Path, database_url: str | None = None) -> RestoreResult:
    """Check ``backup`` and the targets, then restore its files into ``data_dir`` and its database at
    ``database_url`` (default: ``gatewatch.db`` in ``data_dir``). Removes what it wrote when it fails."""
    manifest = check_backup(backup)
    if database_url is None and manifest.database_kind != SQLITE:
        raise RestoreError(f"the backup holds a {manifest.database_kind} database: name an empty one with --db")
    url = database_url or default_database_url(data_dir)
    check_target(data_dir, url, manifest)
    made_dir = not data_dir.exists()
    sqlite_file = sqlite_path(url) if manifest.database_kind == SQLITE else None
    made_sqlite = sqlite_file is not None and not sqlite_file.exists()
    try:
        if made_dir:
            data_dir.mkdir(parents=True, mode=_mode_of(backup / DATA_DIR))
        files = _restore_files(backup, data_dir, manifest)
        config = _restore_config(backup, data_dir, manifest)
        restore_database(backup / manifest.database_file, manifest.database_kind, url)
        if manifest.segments_left_out:
            _mark_recordings_left_out(url, data_dir)
    except BaseException as exc:
        empty_folder(data_dir, remove=made_dir)
        if made_sqlite and sqlite_file is not None:
            sqlite_file.unlink(missing_ok=True)
        if isinstance(exc, DatabaseCopyError):
            raise RestoreError(f"{exc}; nothing was kept") from None
        raise
    return RestoreResult(data_dir.resolve(), url, files, config, manifest)


def _mark_recordings_left_out(url: str, data_dir: Path) -> None:
    """The backup was made without its recordings: say so in the restored site's audit trail, segment by
    segment, so ``audit verify`` reports their files as left behind on the record, not as missing."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            segments = [s for s in session.exec(select(RecordingSegment).where(
                RecordingSegment.path.is_not(None), RecordingSegment.deleted_at.is_(None)))  # type: ignore[union-attr]
                if resolve(data_dir, s.path) is None]
            mark_gone(session, segments, utcnow(), actor=RESTORE_ACTOR, role=trail.SYSTEM,
                      action=SEGMENT_NOT_RESTORED, reason="the backup was made without its recordings")
    finally:
        engine.dispose()


def _mode_of(folder: Path) -> int:
    return file_mode(folder) if folder.is_dir() else 0o700


def _copy_checked(source: Path, target: Path, item: ManifestFile) -> None:
    """Copy one file of the backup, and check it again as it is read (it may change after the check)."""
    _size, sha256 = copy_hashed(source, target, int(item.mode, 8))
    if sha256 != item.sha256:
        raise BackupDamaged(f"{item.path} changed while it was restored (sha256 {sha256}, the manifest says "
                            f"{item.sha256}); nothing was kept")


def _restore_files(backup: Path, data_dir: Path, manifest: Manifest) -> int:
    source_root = backup / DATA_DIR
    count = 0
    for item in manifest.files:
        parts = PurePosixPath(item.path).parts
        if parts[0] != DATA_DIR:
            continue
        relative = PurePosixPath(*parts[1:])
        make_parents(source_root, data_dir, relative)
        _copy_checked(backup / item.path, data_dir / relative, item)
        count += 1
    return count


def _restore_config(backup: Path, data_dir: Path, manifest: Manifest) -> Path | None:
    if manifest.config_file is None:
        return None
    [item] = [f for f in manifest.files if f.path == manifest.config_file]
    target = data_dir / RESTORED_CONFIG_DIR / PurePosixPath(item.path).name
    target.parent.mkdir(mode=0o700)
    _copy_checked(backup / item.path, target, item)
    return target.resolve()
