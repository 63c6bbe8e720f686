"""Kept KTP photos (visitors.keep_ktp_photos): written under data_dir/ktp/<day>/<sha256>.jpg with an audit
record holding the hash, and deleted on the record by `retention apply` with the visitor log's retention."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from gatewatch.cli.main import main
from gatewatch.evidence.ktp_photos import keep_photo
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord
from gatewatch.settings import Settings


def test_kept_photos_are_hashed_and_deleted_with_the_visitor_retention(
    database_url: str, engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    photos = {"old": b"\xff\xd8\xff old card", "recent": b"\xff\xd8\xff recent card"}
    with session_scope(engine) as session:
        old = keep_photo(session, settings, photos["old"], actor="guard", role="guard", now=now - timedelta(days=40))
        recent = keep_photo(session, settings, photos["recent"], actor="guard", role="guard", now=now)
    assert old.endswith(f"{hashlib.sha256(photos['old']).hexdigest()}.jpg")
    assert (settings.data_dir / old).read_bytes() == photos["old"]
    assert (settings.data_dir / old).stat().st_mode & 0o077 == 0  # personal data: the owner's only

    config = tmp_path / "gatewatch.yaml"
    config.write_text(f"data_dir: {settings.data_dir}\ndetector: {{model: yolo11n.pt}}\ntimezone: Asia/Jakarta\n")
    result = CliRunner().invoke(main, ["retention", "apply", "--visitor-days", "30", "--by", "ops",
                                       "--config", str(config), "--db", database_url])

    assert result.exit_code == 0, result.output
    assert "1 KTP photos deleted" in result.output
    assert not (settings.data_dir / old).exists() and not (settings.data_dir / old).parent.exists()
    assert (settings.data_dir / recent).read_bytes() == photos["recent"]
    with Session(engine) as session:
        actions = [r.action for r in session.exec(select(AuditRecord).where(AuditRecord.entity == "ktp_photo"))]
    assert sorted(actions) == ["ktp.photo_kept", "ktp.photo_kept", "ktp.photos_deleted"]
