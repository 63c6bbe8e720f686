"""Evidence files on disk: paths from the database kept inside the data directory, and thumbnails.

A path in the database is trusted no further than the data directory: anything that resolves
outside it (``..``, an absolute path, a symbolic link pointing out) is treated as missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

THUMBNAIL_SIZE = (320, 180)
THUMBNAIL_DIR = "thumbnails"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(snapshot) as image:
        image.thumbnail(THUMBNAIL_SIZE)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                image.convert("RGB").save(handle, "JPEG", quality=80)
            os.replace(tmp_name, path)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    return path
