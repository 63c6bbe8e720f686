"""Erasing personal fields from audit payloads, on the record, and telling such erasures from tampering.

An erasure (a retention run, a data subject's request) removes personal fields from the payloads
of chained records: their values and their salts (``payloads.erase``); their digests stay in the
chain. In the same transaction it writes a chained ``personal.erased`` record whose ``after``
names, under ``trail``, each record (by ``seq``) and the fields erased from each of its sides, and
says why (``reason``). ``audit verify`` then counts a field gone from a payload as erased when
such a record names it, and as altered otherwise (``ErasureLedger``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.audit import payloads, trail
from gatewatch.models.tables import AuditRecord

ERASED_ACTION = "personal.erased"
#: Why fields were erased.
RETENTION = "retention"


def erase_in_records(session: Session, records: Iterable[AuditRecord], names: set[str]) -> list[dict[str, Any]]:
    """Erase ``names`` from the chained ``records``' payloads; what was erased, for the erasure record.

    Each item is {"seq", "before": [fields], "after": [fields]} (sides with nothing erased left out).
    Records not yet chained, and fields without a digest of their own, are left as they are.
    """
    erased: list[dict[str, Any]] = []
    table = AuditRecord.__table__
    for record in records:
        if record.seq is None:
            continue
        row = {"digests": record.digests, "salts": record.salts, "before": record.before, "after": record.after}
        fields = {side: payloads.erasable(row, side, names) for side in payloads.SIDES}
        fields = {side: found for side, found in fields.items() if found}
        if not fields:
            continue
        before, after, salts = payloads.erase(row, fields)
        session.execute(sa.update(table).where(table.c.id == record.id).values(before=before, after=after, salts=salts))
        erased.append({"seq": record.seq, **fields})
    return erased


def record_erasure(session: Session, *, actor: str, role: str, entity: str, entity_id: str | int, reason: str,
                   erased: list[dict[str, Any]], **details: Any) -> AuditRecord:
    """The chained ``personal.erased`` record naming what ``erase_in_records`` erased, and why."""
    return trail.record(session, actor=actor, role=role, action=ERASED_ACTION, entity=entity, entity_id=entity_id,
                        after={"reason": reason, **details, "trail": erased})


@dataclass
class ErasureLedger:
    """Fields gone from payloads, in chain order, matched with the erasure records that name them.

    ``missing(row, side, field)`` for each field gone; ``add(row)`` for each record (an erasure
    names only records before it). ``unexplained`` is what no erasure record named.
    """

    pending: dict[tuple[int, str, str], Mapping[str, Any]] = field(default_factory=dict)
    erased: int = 0  # fields gone and named by an erasure record
    reasons: dict[str, int] = field(default_factory=dict)

    def missing(self, row: Mapping[str, Any], side: str, name: str) -> None:
        self.pending[(row["seq"], side, name)] = {"id": row["id"], "seq": row["seq"]}

    def add(self, row: Mapping[str, Any]) -> None:
        if row["action"] != ERASED_ACTION or not row["after"]:
            return
        try:
            after = trail_payload(row["after"])
        except ValueError:
            return
        reason = str(after.get("reason") or "")
        for item in after.get("trail") or []:
            if not isinstance(item, dict):
                continue
            for side in payloads.SIDES:
                for name in item.get(side) or []:
                    if self.pending.pop((item.get("seq"), side, name), None) is not None:
                        self.erased += 1
                        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def unexplained(self) -> list[tuple[Mapping[str, Any], str, str]]:
        return [(where, side, name) for (_seq, side, name), where in sorted(self.pending.items())]


def trail_payload(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
