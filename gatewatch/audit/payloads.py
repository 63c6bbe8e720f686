"""What the audit chain holds of a record's payload: digests, so a personal field can be erased later.

A record's ``before`` and ``after`` are canonical JSON objects. The chain (``trail.CHAINED_FIELDS``)
does not cover them but their digests (``AuditRecord.digests``): for each side, one digest per
personal field (``PERSONAL_FIELDS``: names, NIKs, organisations, plates, free text about people)
and one (``REST``) for all the other fields together. A personal field's digest is salted with a
random salt of its own (``AuditRecord.salts``): a NIK has only some 10^10 plausible values, so an
unsalted hash of it would be as good as the number itself.

An erasure (``gatewatch.audit.erasure``) removes a personal field's value and its salt, and names
it in a chained record; its digest stays, so the chain still proves the order and the integrity of
everything kept, and the field's old value can no longer be found by trying them all.
``check`` compares a record's payloads with its digests and says, per field, what it finds.

Nothing here imports the rest of the trail: the trail, the verifier and the migration use it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: Fields written with a salted digest of their own, so they can be erased. Decided when a record
#: is written: the digests name which fields of a record have one.
PERSONAL_FIELDS = frozenset({
    "visitor_name", "id_number", "organisation", "vehicle_plate", "host", "purpose",  # a visit
    "holder", "members", "plates",  # an authorisation
    "nik", "name", "full_name", "note",  # a watch-listed person, a user, a reviewer's note
})
#: The digest key standing for every field without one of its own.
REST = "*"
SIDES = ("before", "after")
SALT_BYTES = 16


def canonical(value: Any) -> str:
    """``value`` (as read from JSON) as canonical JSON: sorted keys, no spaces, text as written."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def field_digest(salt: str, name: str, value: Any) -> str:
    """SHA-256 (hex) of one field: its salt, its name and its value, as canonical JSON."""
    return hashlib.sha256(canonical([salt, name, value]).encode("utf-8")).hexdigest()


def rest_digest(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the fields without a digest of their own, as one canonical JSON object."""
    return hashlib.sha256(canonical(dict(values)).encode("utf-8")).hexdigest()


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else {REST: value}


def seal(before: str | None, after: str | None) -> tuple[str, str | None]:
    """The ``digests`` and ``salts`` (JSON text; salts None when no field is personal) of two payloads."""
    digests: dict[str, Any] = {}
    salts: dict[str, dict[str, str]] = {}
    for side, text in zip(SIDES, (before, after), strict=True):
        payload = _load(text)
        if payload is None:
            digests[side] = None
            continue
        personal = {name: value for name, value in payload.items() if name in PERSONAL_FIELDS}
        side_salts = {name: secrets.token_hex(SALT_BYTES) for name in personal}
        rest = {name: value for name, value in payload.items() if name not in personal}
        digests[side] = {REST: rest_digest(rest),
                         **{name: field_digest(side_salts[name], name, value) for name, value in personal.items()}}
        if side_salts:
            salts[side] = side_salts
    return canonical(digests), canonical(salts) if salts else None


class FieldState(StrEnum):
    ALTERED = "altered"  # present, but no longer what its digest says (or its salt is gone)
    ADDED = "added"  # in the payload, but the digests do not know it
    MISSING = "missing"  # gone from the payload: fine only when an erasure record names it


@dataclass(frozen=True)
class FieldFinding:
    side: str
    field: str  # REST for the fields without a digest of their own
    state: FieldState


def check(row: Mapping[str, Any]) -> Iterator[FieldFinding]:
    """What differs between a record's payloads (``before``, ``after``, ``salts``) and its ``digests``.

    A field erased on the record is MISSING like one deleted behind the application's back: the
    caller tells them apart by the erasure records (``erasure.ErasureLedger``).
    """
    try:
        digests = json.loads(row["digests"]) if row["digests"] else {}
        salts = json.loads(row["salts"]) if row["salts"] else {}
    except ValueError:
        yield FieldFinding("digests", REST, FieldState.ALTERED)
        return
    for side in SIDES:
        expected = digests.get(side)
        try:
            payload = _load(row[side])
        except ValueError:
            yield FieldFinding(side, REST, FieldState.ALTERED)
            continue
        if expected is None or payload is None:
            if (expected is None) != (payload is None):
                yield FieldFinding(side, REST, FieldState.ALTERED)
            continue
        side_salts = salts.get(side) or {}
        own = set(expected) - {REST}
        rest = {name: value for name, value in payload.items() if name not in own}
        if rest_digest(rest) != expected.get(REST):
            yield FieldFinding(side, REST, FieldState.ALTERED)
        for name in sorted(own):
            if name not in payload:
                yield FieldFinding(side, name, FieldState.MISSING)
            elif name not in side_salts or field_digest(side_salts[name], name, payload[name]) != expected[name]:
                yield FieldFinding(side, name, FieldState.ALTERED)


def erasable(row: Mapping[str, Any], side: str, names: set[str]) -> list[str]:
    """Which of ``names`` a record's ``side`` holds with a digest of their own: those an erasure can remove."""
    digests = json.loads(row["digests"]) if row["digests"] else {}
    payload = _load(row[side]) or {}
    own = set(digests.get(side) or {}) - {REST}
    return sorted(name for name in names & own if name in payload)


def erase(row: Mapping[str, Any], fields: Mapping[str, list[str]]) -> tuple[str | None, str | None, str | None]:
    """The record's ``before``, ``after`` and ``salts`` with ``fields`` (by side) removed, values and salts."""
    salts = json.loads(row["salts"]) if row["salts"] else {}
    out: dict[str, str | None] = {}
    for side in SIDES:
        payload = _load(row[side])
        names = fields.get(side) or []
        if payload is not None and names:
            payload = {name: value for name, value in payload.items() if name not in names}
            side_salts = {name: salt for name, salt in (salts.get(side) or {}).items() if name not in names}
            if side_salts:
                salts[side] = side_salts
            else:
                salts.pop(side, None)
            out[side] = canonical(payload)
        else:
            out[side] = row[side]
    return out["before"], out["after"], canonical(salts) if salts else None
