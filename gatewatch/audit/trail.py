"""The audit trail: one append-only AuditRecord for every change a person or the cross-check makes.

The app only ever adds records here. ``before`` and ``after`` are canonical JSON (sorted keys,
UTC ISO 8601 times, text kept as written) so two records of the same values are the same text
and a record can be compared or hashed later without knowing which code wrote it.

The records form a hash chain. When a transaction that added records commits, its records get
the next positions (``seq``), each the SHA-256 of its canonical content (``record_digest``: every
chained field, ``CHAINED_FIELDS``) and the previous record's hash as ``prev_sha256``
(``GENESIS_SHA256`` for the first). The chain head row is updated in the same transaction, so
appends serialise on it on SQLite and PostgreSQL alike, and it is taken last, at commit, so it
never waits behind the transaction's other locks. ``gatewatch.evidence.integrity`` walks the chain.

The chain holds the payloads' digests, not the payloads (``gatewatch.audit.payloads``): each
personal field of ``before``/``after`` has a digest of its own, salted, and the other fields one
together. The payloads are kept beside them, so a retention can erase a personal field (its value
and its salt, ``gatewatch.audit.erasure``) and the chain still proves everything kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlmodel import Session, SQLModel, select

from gatewatch.audit import payloads
from gatewatch.models.tables import AuditChainHead, AuditRecord

#: Actor and role under which the cross-check acts.
SYSTEM = "system"


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} in an audit record")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written to an audit record")


def canonical_json(values: dict[str, Any] | None) -> str | None:
    """``values`` as canonical JSON, or None for None."""
    if values is None:
        return None
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_encode)


def row_values(row: SQLModel, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The column values of ``row`` (only ``fields`` if given) for ``before``/``after``."""
    names = type(row).model_fields if fields is None else fields
    return {name: getattr(row, name) for name in names}


def record(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    entity: str,
    entity_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add one audit record to ``session``; it is written with the caller's transaction."""
    before_json, after_json = canonical_json(before), canonical_json(after)
    digests, salts = payloads.seal(before_json, after_json)
    entry = AuditRecord(
        actor=actor,
        role=role,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before_json,
        after=after_json,
        digests=digests,
        salts=salts,
    )
    session.add(entry)
    return entry


# --- the hash chain ---------------------------------------------------------------------------

#: ``prev_sha256`` of the first record.
GENESIS_SHA256 = "0" * 64
#: What a record's ``sha256`` covers: every field but the hash itself and the payloads, whose
#: digests (``digests``) stand for them, and the salts of those digests.
CHAINED_FIELDS = ("id", "seq", "at", "actor", "role", "action", "entity", "entity_id", "digests", "prev_sha256")
#: Kept beside the chain: the payloads and their salts, checked against ``digests``.
PAYLOAD_FIELDS = ("before", "after", "salts")
assert set(CHAINED_FIELDS) == set(AuditRecord.model_fields) - {"sha256", *PAYLOAD_FIELDS}, \
    "a new audit field must be chained"

_UNCHAINED = "gatewatch.audit.unchained"


def record_digest(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an audit record's canonical content, from its field values."""
    content = canonical_json({name: values[name] for name in CHAINED_FIELDS}) or ""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _lock_head(session: orm.Session) -> tuple[int, str]:
    """The chain head's position and hash, locked for this transaction.

    A no-op UPDATE takes the row lock on PostgreSQL (and the write lock on SQLite, already held
    by a transaction that inserted records). A missing head row is rebuilt from the newest
    chained record, so deleting it cannot stop the application.
    """
    head = AuditChainHead.__table__
    row = session.execute(
        sa.update(head).where(head.c.id == 1).values(seq=head.c.seq).returning(head.c.seq, head.c.sha256)
    ).first()
    if row is not None:
        return row.seq, row.sha256
    newest = session.execute(
        sa.select(AuditRecord.seq, AuditRecord.sha256).where(AuditRecord.seq.is_not(None))
        .order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, sha256 = (newest.seq, newest.sha256) if newest else (0, GENESIS_SHA256)
    session.execute(sa.insert(head).values(id=1, seq=seq, sha256=sha256))
    return seq, sha256


def chain_pending(session: orm.Session) -> int:
    """Give the records this transaction added their place in the chain; returns how many.

    Runs by itself before every commit of a session that added records; callable earlier.
    """
    session.flush()
    pending = session.scalars(select(AuditRecord).where(AuditRecord.seq.is_(None)).order_by(AuditRecord.id)).all()
    if not pending:
        return 0
    seq, previous = _lock_head(session)
    for entry in pending:
        seq += 1
        entry.seq, entry.prev_sha256 = seq, previous
        entry.sha256 = previous = record_digest(row_values(entry, CHAINED_FIELDS))
    head = AuditChainHead.__table__
    session.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, sha256=previous))
    session.flush()
    return len(pending)


def _adds_records(session: orm.Session) -> bool:
    return any(isinstance(obj, AuditRecord) for obj in session.new)


@sa.event.listens_for(orm.Session, "before_flush")
def _note_new_records(session: orm.Session, _context: Any, _instances: Any) -> None:
    if _adds_records(session):
        session.info[_UNCHAINED] = True


@sa.event.listens_for(orm.Session, "before_commit")
def _chain_before_commit(session: orm.Session) -> None:
    # A savepoint's commit leaves its records for the outer transaction's commit.
    if (session.info.get(_UNCHAINED) or _adds_records(session)) and not session.in_nested_transaction():
        chain_pending(session)
        session.info.pop(_UNCHAINED, None)
