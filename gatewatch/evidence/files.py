"""Evidence files on disk: writing them whole, their hashes, paths from the database kept inside
the data directory, and thumbnails.

A file is written under a temporary name beside its own (``.<name>.<random>.part``), flushed to
disk and renamed, so a crash never leaves a half-written file under its real name; the camera
worker clears the partial files a killed writer left (``PARTIAL_FILES``).

A path in the database is trusted no further than the data directory: anything that resolves
outside it (``..``, an absolute path, a symbolic link pointing out) is treated as missing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from PIL import Image

THUMBNAIL_SIZE = (320, 180)
THUMBNAIL_DIR = "thumbnails"
#: A glob for the temporary files ``atomic_file`` writes, in a folder and below it.
PARTIAL_FILES = "**/.*.part"
#: Mode of files that another user's process reads: the worker's evidence, which the web app serves.
SHARED_MODE = 0o644


@contextmanager
def atomic_file(path: Path, *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A new file, open for writing, that becomes ``path`` with ``mode`` once the block ends without error.

    The file is fsynced before the rename; on an error it is removed and ``path`` left as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)  # mkstemp makes it 0o600 whatever the umask
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` with ``atomic_file``."""
    with atomic_file(path, mode=mode) as handle:
        handle.write(data)


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(data_dir: Path, relative: str | None) -> Path | None:
    """The file ``relative`` names under ``data_dir``, or None when missing or outside it."""
    if not relative:
        return None
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def thumbnail(data_dir: Path, event_id: int, snapshot: Path) -> Path:
    """A small JPEG of the snapshot, made once and kept under ``data_dir/thumbnails``.

    The queue shows 50 of these at a time: full snapshots would be megabytes on a guard's tablet.
    """
    path = data_dir.resolve() / THUMBNAIL_DIR / f"{event_id}.jpg"
    if path.is_file() and path.stat().st_mtime >= snapshot.stat().st_mtime:
        return path
    with Image.open(snapshot) as image, atomic_file(path) as handle:
        image.thumbnail(THUMBNAIL_SIZE)
        image.convert("RGB").save(handle, "JPEG", quality=80)
    return path

