"""Converting an audit trail written before payloads were digested (migration 0017), once.

Before, each record's ``sha256`` covered its payloads themselves (``LEGACY_CHAINED_FIELDS``), so
nothing in them could ever be erased. ``convert`` walks the old chain in ``seq`` order, checking
it as it goes, and rewrites every record in the new form (``payloads.seal``: digests chained,
payloads beside them), keeping its id and position. On the way every NIK in clear is replaced by
its masked form (the migration passes ``visitors.nik_display.masked_nik``) with a reference to the visits that hold it:
``visit.created``/``visit.imported`` records held the visitor's NIK, and free text (a reviewer's
note, a reason) may name one. The new chain then gets one more record, ``audit.rechained``, with
the old chain's head (seq and sha256) and what the walk found in it, so an auditor can still
match an export made before.

Reads and writes through a plain connection in batches, so it runs inside the migration's
transaction on SQLite and PostgreSQL alike, at some thousands of records a second.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gatewatch.audit import payloads, trail
from gatewatch.models.types import UTCDateTime

#: What a record's ``sha256`` covered before payloads were digested (migrations 0002 to 0016).
LEGACY_CHAINED_FIELDS = ("id", "seq", "at", "actor", "role", "action", "entity", "entity_id", "before", "after",
                         "prev_sha256")
RECHAINED_ACTION = "audit.rechained"
#: A NIK written in text: 16 digits, together or in groups of four, not part of a longer word or number.
NIK_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{16}|[0-9]{4}(?:[ .-][0-9]{4}){3})(?![0-9A-Za-z])")
#: Keys whose values are technical (hashes, paths, another system's ids): a 16-digit run there is no NIK.
_TECHNICAL = re.compile(r"(sha256|path|source_id|source_key|digest)$")
BATCH = 2000
BREAKS_KEPT = 20


def legacy_record_digest(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's content as chained before payloads were digested."""
    content = trail.canonical_json({name: values[name] for name in LEGACY_CHAINED_FIELDS}) or ""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


Mask = Callable[[str], str]


def mask_niks(value: Any, mask: Mask) -> tuple[Any, list[str]]:
    """``value`` (from JSON) with every NIK in its text masked by ``mask``; and the NIKs found (digits only)."""
    if isinstance(value, dict):
        found: list[str] = []
        out = {}
        for name, item in value.items():
            out[name], niks = (item, []) if _TECHNICAL.search(name) else mask_niks(item, mask)
            found += niks
        return out, found
    if isinstance(value, list):
        items = [mask_niks(item, mask) for item in value]
        return [item for item, _ in items], [nik for _, niks in items for nik in niks]
    if isinstance(value, str):
        niks = ["".join(ch for ch in match if ch.isdigit()) for match in NIK_TEXT.findall(value)]
        return (NIK_TEXT.sub(lambda m: mask("".join(ch for ch in m.group() if ch.isdigit())), value), niks) \
            if niks else (value, [])
    return value, []


@dataclass
class RechainResult:
    records: int = 0  # chained records converted
    unchained: int = 0  # records with no place in the chain, converted but left unchained
    niks_masked: int = 0
    old_head: tuple[int, str] = (0, trail.GENESIS_SHA256)
    old_breaks: list[int] = field(default_factory=list)  # seqs where the old chain did not hold (first ones)
    old_break_count: int = 0


def _tables(*, digested: bool = True) -> tuple[sa.TableClause, sa.TableClause, sa.TableClause]:
    names = ("id", "seq", "actor", "role", "action", "entity", "entity_id", "before", "after", "prev_sha256",
             "sha256", *(("digests", "salts") if digested else ()))
    records = sa.table("auditrecord", *(sa.column(n) for n in names), sa.column("at", UTCDateTime()))
    head = sa.table("auditchainhead", sa.column("id"), sa.column("seq"), sa.column("sha256"))
    visits = sa.table("visit", sa.column("id"), sa.column("id_number"))
    return records, head, visits


class _Masker:
    """Masks a record's payloads, naming the visits whose NIK it held."""

    def __init__(self, connection: sa.Connection, visits: sa.TableClause, mask: Mask) -> None:
        self.mask = mask
        self.by_nik: dict[str, list[int]] = {}
        for visit_id, nik in connection.execute(sa.select(visits.c.id, visits.c.id_number).order_by(visits.c.id)):
            self.by_nik.setdefault(nik, []).append(visit_id)
        self.masked = 0

    def payload(self, row: Mapping[str, Any], side: str) -> str | None:
        text = row[side]
        if text is None:
            return None
        if not NIK_TEXT.search(text) and not (row["entity"] == "visit" and '"id_number"' in text):
            return text  # no 16 digits anywhere: most records, read no further
        values = json.loads(text)
        if not isinstance(values, dict):
            return text
        values, niks = mask_niks(values, self.mask)
        nik = values.get("id_number")
        if row["entity"] == "visit" and isinstance(nik, str) and nik and "*" not in nik:
            niks.append(nik)
            values["id_number"] = self.mask(nik)
        if not niks:
            return text
        self.masked += len(niks)
        if row["entity"] == "visit" and str(row["entity_id"]).isdigit():
            values["visit_id"] = int(row["entity_id"])
        else:
            refs = sorted({visit_id for nik in niks for visit_id in self.by_nik.get(nik, [])})
            if refs:
                values["nik_visit_ids"] = refs
        return trail.canonical_json(values)


def _pages(connection: sa.Connection, records: sa.TableClause, chained: bool) -> Iterator[list[Mapping[str, Any]]]:
    """The records in chain order (or the unchained ones by id), a page at a time."""
    key = records.c.seq if chained else records.c.id
    last = None
    while True:
        query = sa.select(records).where(records.c.seq.is_not(None) if chained else records.c.seq.is_(None))
        if last is not None:
            query = query.where(key > last)
        rows = list(connection.execute(query.order_by(key).limit(BATCH)).mappings())
        if not rows:
            return
        yield rows
        last = rows[-1]["seq" if chained else "id"]


def _update(connection: sa.Connection, records: sa.TableClause, batch: list[dict[str, Any]]) -> None:
    if batch:
        connection.execute(
            records.update().where(records.c.id == sa.bindparam("_id")).values(
                before=sa.bindparam("_before"), after=sa.bindparam("_after"), digests=sa.bindparam("_digests"),
                salts=sa.bindparam("_salts"), prev_sha256=sa.bindparam("_prev"), sha256=sa.bindparam("_sha256")),
            batch,
        )


def convert(connection: sa.Connection, *, now: datetime, mask: Mask) -> RechainResult:
    """Rewrite every audit record in the new form, NIKs masked, and rebuild the chain (see the module)."""
    records, head, visits = _tables()
    result = RechainResult()
    masker = _Masker(connection, visits, mask)
    old_previous = new_previous = trail.GENESIS_SHA256
    last_seq = 0
    for rows in _pages(connection, records, chained=True):
        batch = []
        for row in rows:
            if row["prev_sha256"] != old_previous or legacy_record_digest(row) != row["sha256"] \
                    or row["seq"] != last_seq + 1:
                result.old_break_count += 1
                if len(result.old_breaks) < BREAKS_KEPT:
                    result.old_breaks.append(row["seq"])
            old_previous = row["sha256"]
            before, after = masker.payload(row, "before"), masker.payload(row, "after")
            digests, salts = payloads.seal(before, after)
            sha256 = trail.record_digest({**row, "digests": digests, "prev_sha256": new_previous})
            batch.append({"_id": row["id"], "_before": before, "_after": after, "_digests": digests, "_salts": salts,
                          "_prev": new_previous, "_sha256": sha256})
            new_previous, last_seq = sha256, row["seq"]
            result.records += 1
        _update(connection, records, batch)
    for rows in _pages(connection, records, chained=False):
        batch = []
        for row in rows:
            before, after = masker.payload(row, "before"), masker.payload(row, "after")
            digests, salts = payloads.seal(before, after)
            batch.append({"_id": row["id"], "_before": before, "_after": after, "_digests": digests, "_salts": salts,
                          "_prev": None, "_sha256": None})
            result.unchained += 1
        _update(connection, records, batch)
    result.niks_masked = masker.masked
    if not result.records:
        return result
    stored_head = connection.execute(sa.select(head.c.seq, head.c.sha256).where(head.c.id == 1)).first()
    result.old_head = (stored_head.seq, stored_head.sha256) if stored_head else (last_seq, old_previous)
    _append_rechained(connection, records, head, result, now=now, seq=last_seq + 1, previous=new_previous)
    return result


def _append_rechained(connection: sa.Connection, records: sa.TableClause, head: sa.TableClause,
                      result: RechainResult, *, now: datetime, seq: int, previous: str) -> None:
    after = trail.canonical_json({
        "old_head": {"seq": result.old_head[0], "sha256": result.old_head[1]},
        "old_chain": {"records": result.records, "ok": result.old_break_count == 0,
                      "breaks": result.old_break_count, "first_breaks": result.old_breaks},
        "niks_masked": result.niks_masked,
    })
    digests, salts = payloads.seal(None, after)
    values = {"at": now, "actor": trail.SYSTEM, "role": trail.SYSTEM, "action": RECHAINED_ACTION, "entity": "audit",
              "entity_id": str(result.old_head[0]), "before": None, "after": after, "digests": digests,
              "salts": salts, "seq": seq, "prev_sha256": previous}
    record_id = connection.execute(records.insert().values(**values).returning(records.c.id)).scalar_one()
    sha256 = trail.record_digest({**values, "id": record_id})
    connection.execute(records.update().where(records.c.id == record_id).values(sha256=sha256))
    if connection.execute(head.update().where(head.c.id == 1).values(seq=seq, sha256=sha256)).rowcount == 0:
        connection.execute(head.insert().values(id=1, seq=seq, sha256=sha256))


def legacy_chain(connection: sa.Connection) -> None:
    """Chain the records as before payloads were digested (the migration's downgrade): masked and
    erased payloads stay as they are, now covered by the chain themselves."""
    records, head, _visits = _tables(digested=False)
    previous, last_seq = trail.GENESIS_SHA256, 0
    for rows in _pages(connection, records, chained=True):
        batch = []
        for row in rows:
            sha256 = legacy_record_digest({**row, "prev_sha256": previous})
            batch.append({"_id": row["id"], "_prev": previous, "_sha256": sha256})
            previous, last_seq = sha256, row["seq"]
        connection.execute(records.update().where(records.c.id == sa.bindparam("_id")).values(
            prev_sha256=sa.bindparam("_prev"), sha256=sa.bindparam("_sha256")), batch)
    if last_seq:
        connection.execute(head.update().where(head.c.id == 1).values(seq=last_seq, sha256=previous))
