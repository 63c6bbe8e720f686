"""Where footage comes from: camera rows, the keys that name a source, and stored footage files.

Kept apart from the event store so that the web app can name and list footage (for replays)
without loading the video libraries the store's evidence writing needs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.evidence.files import file_sha256
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings
from gatewatch.vision.redaction import redact_url

log = logging.getLogger(__name__)

#: File name endings offered as footage on the auditor's replay page.
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".ts", ".webm")


def file_source_key(path: Path) -> str:
    """Names footage by its content, so the same file analysed again is recognised."""
    return f"file:{file_sha256(path)[:32]}"


def live_source_key(started: datetime) -> str:
    """Names one live session: tracker ids start again with every session."""
    return f"live:{started.strftime('%Y%m%dT%H%M%S.%fZ')}"


def sync_camera(engine: sa.Engine, camera: CameraSettings) -> None:
    """Create or update the camera's row from its configuration."""
    with session_scope(engine) as session:
        sync_camera_row(session, camera)


def sync_configured_cameras(engine: sa.Engine, cameras: Iterable[CameraSettings]) -> bool:
    """Create or update the rows of every configured camera, in one transaction, whenever the database
    is opened for work: a gate is known to the visitor log (registrations, imports) from the first
    command, before any worker ran and whether or not its camera is up. Names and sources only; the
    status columns stay the workers'.

    Never stops the caller: another process inserting the same camera at the same moment is answered
    by a second try, and a database that cannot take it now (being migrated, locked) by a warning.
    True when the rows are in place.
    """
    cameras = list(cameras)
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                for camera in cameras:
                    sync_camera_row(session, camera)
            return True
        except sa.exc.IntegrityError:
            if attempt == 2:
                break
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or type(error).__name__).splitlines()[0]
            log.warning("the configured cameras could not be written to the database: %s", reason)
            return False
    log.warning("the configured cameras could not be written to the database: another process kept changing them")
    return False


def sync_camera_row(session: Session, camera: CameraSettings) -> None:
    """Create or update the camera's row in ``session``'s transaction. Its source is stored with
    any credentials masked: the row is for showing, the worker opens the configured source."""
    source = redact_url(camera.source)
    row = session.get(Camera, camera.id)
    if row is None:
        session.add(Camera(id=camera.id, name=camera.name, source=source))
    elif (row.name, row.source) != (camera.name, source):
        row.name, row.source = camera.name, source
        session.add(row)


@dataclass(frozen=True)
class FootageFile:
    name: str  # relative to the footage directory, with / separators
    path: Path


def list_footage(folder: Path) -> list[FootageFile]:
    """The video files under ``folder`` (following links), by name; none when it does not exist."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
            found.append(FootageFile(path.relative_to(folder).as_posix(), path))
    return found


def footage_file(folder: Path, name: str) -> FootageFile | None:
    """The listed footage file called ``name``; None for any other name, so no path can escape ``folder``."""
    return next((item for item in list_footage(folder) if item.name == name), None)
