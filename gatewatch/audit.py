"""The audit trail: one append-only AuditRecord for every change a person or the cross-check makes.

The app only ever adds records here. ``before`` and ``after`` are canonical JSON (sorted keys,
UTC ISO 8601 times, text kept as written) so two records of the same values are the same text
and a record can be compared or hashed later without knowing which code wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, SQLModel

from gatewatch.models.tables import AuditRecord

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
    entry = AuditRecord(
        actor=actor,
        role=role,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=canonical_json(before),
        after=canonical_json(after),
    )
    session.add(entry)
    return entry
