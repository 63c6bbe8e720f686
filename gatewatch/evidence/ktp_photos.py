"""Photos of scanned KTPs, kept as evidence only when ``visitors.keep_ktp_photos`` says so.

A card's photo is personal data: by default the scan reads it and nothing is written. A site
that must keep them sets ``keep_ktp_photos: true``; each photo is then written whole under
``data_dir/ktp/YYYY-MM-DD/<sha256>.jpg`` (the site's day of the scan; the name is the file's
SHA-256, so a changed file no longer matches its name) and an audit record ``ktp.photo_kept``
holds its path, hash and size (never the NIK). The photos are kept as long as the visitor log
(``visitors.retention_days``): ``delete_expired_photos`` deletes the days older than that, and
records each deletion (``ktp.photos_deleted``), as evidence retention does.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.evidence.files import write_atomic
from gatewatch.settings import Settings

PHOTO_DIR = "ktp"
ENTITY = "ktp_photo"


def keep_photo(session: Session, settings: Settings, photo: bytes, *, actor: str, role: str,
               now: datetime) -> str:
    """Write ``photo`` under ``data_dir/ktp/`` and record it in the audit trail (with the caller's
    transaction); returns its path relative to ``data_dir``."""
    sha256 = hashlib.sha256(photo).hexdigest()
    day = now.astimezone(settings.zone).date()
    relative = f"{PHOTO_DIR}/{day.isoformat()}/{sha256}.jpg"
    write_atomic(settings.data_dir / relative, photo)
    trail.record(session, actor=actor, role=role, action="ktp.photo_kept", entity=ENTITY, entity_id=sha256,
                 after={"file": relative, "sha256": sha256, "bytes": len(photo)})
    return relative


def expired_days(settings: Settings, today: date, days: int | None = None) -> list[Path]:
    """The day folders under ``data_dir/ktp/`` older than ``days`` (default ``visitors.retention_days``);
    none when unset."""
    days = days if days is not None else settings.visitors.retention_days
    root = settings.data_dir / PHOTO_DIR
    if days is None or not root.is_dir():
        return []
    oldest_kept = today - timedelta(days=days)
    expired = []
    for folder in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if folder.is_dir() and day < oldest_kept:
            expired.append(folder)
    return expired


def delete_expired_photos(session: Session, settings: Settings, *, actor: str, role: str, now: datetime,
                          days: int | None = None, dry_run: bool = False) -> int:
    """Delete the kept KTP photos past the visitor log's retention (or ``days``), one audit record
    per day deleted (with the caller's transaction); returns how many photos that was."""
    count = 0
    for folder in expired_days(settings, now.astimezone(settings.zone).date(), days):
        photos = sorted(path.name for path in folder.glob("*.jpg"))
        count += len(photos)
        if dry_run:
            continue
        shutil.rmtree(folder)
        trail.record(session, actor=actor, role=role, action="ktp.photos_deleted", entity=ENTITY,
                     entity_id=folder.name, before={"day": folder.name, "sha256": [name[:-4] for name in photos]},
                     after={"reason": "retention", "retention_days": days or settings.visitors.retention_days})
    return count
