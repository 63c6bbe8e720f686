"""Where a worker publishes its camera's live picture, and writing it there: what both sides share.

The worker (``vision.live_view``) writes ``<data_dir>/live/<camera id>.jpg`` and its JSON sidecar;
the web app (``web.views.cameras``) reads them. This module loads no video library, so the web
app imports it for the paths instead of keeping a copy of them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

#: The folder under the data directory the pictures go to, one JPEG and one JSON per camera.
LIVE_DIR = "live"
#: The web app runs as another user and reads what the worker writes.
SHARED_MODE = 0o644
#: A temporary file older than this was left by a killed worker (a running one renames within milliseconds).
STALE_PART_SECONDS = 60.0


def live_paths(data_dir: Path, camera_id: str) -> tuple[Path, Path]:
    """Where ``camera_id``'s live picture and its sidecar are published."""
    folder = data_dir / LIVE_DIR
    return folder / f"{camera_id}.jpg", folder / f"{camera_id}.json"


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    Not synced to disk: a picture replaced every second is worth no disk flush, and after a crash
    the next one replaces it anyway.
    """
    fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(part, SHARED_MODE)
        os.replace(part, path)
    finally:
        Path(part).unlink(missing_ok=True)


def remove_stale_parts(folder: Path, camera_id: str, older_than: float = STALE_PART_SECONDS) -> int:
    """Delete the temporary files a killed worker of ``camera_id`` left in ``folder``; how many."""
    cutoff, removed = time.time() - older_than, 0
    for part in folder.glob(f".{camera_id}.*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
