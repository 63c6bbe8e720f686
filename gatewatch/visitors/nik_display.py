"""How a visitor's NIK is shown: in full to whom it is for, masked to everyone else.

A NIK (the number on an Indonesian KTP) is personal data (UU No. 27 Tahun 2022). Guards and
admins register visitors and need it whole; operators and auditors watch entries and check the
log, for which the first four digits (the region) and the last four (the serial) suffice.
One masked form everywhere, pages, API answers, exports and the audit trail alike, so a masked
NIK read in one place matches the same one read in another: ``1671 **** **** 0001``.

Nothing here reads the database or Flask: callers pass the role (a ``Role`` or its value).
"""

from __future__ import annotations

import json
from typing import Any

from gatewatch.models.enums import Role

__all__ = [
    "ERASED_NIK",
    "FULL_NIK_ROLES",
    "NIK_SHOWN",
    "looks_like_nik",
    "masked_members",
    "masked_nik",
    "nik_for",
    "sees_full_nik",
    "with_masked_nik",
]

#: Digits left visible at each end of a masked NIK.
NIK_SHOWN = 4
#: The roles that see NIKs in full: they register visitors and check their cards.
FULL_NIK_ROLES = frozenset({Role.GUARD, Role.ADMIN})
#: Digits in a search text from which it is taken for (part of) a NIK: plates have at most four.
NIK_LIKE_DIGITS = 6
#: What is shown for a NIK that is empty (erased by retention, or never given).
ERASED_NIK = ""


def masked_nik(nik: str | None) -> str:
    """The NIK with all but its first and last four digits hidden, in groups of four.

    ``"1671010101900001"`` -> ``"1671 **** **** 0001"``. A value too short to keep both ends
    hidden (8 characters or fewer) shows only its last ``min(4, len // 2)`` characters, so no
    short value is ever shown whole; an empty or missing one (erased) stays empty.
    """
    text = "".join((nik or "").split())
    if not text:
        return ERASED_NIK
    if len(text) <= 2 * NIK_SHOWN:
        shown = min(NIK_SHOWN, len(text) // 2)
        return "*" * (len(text) - shown) + (text[-shown:] if shown else "")
    middle = "*" * (len(text) - 2 * NIK_SHOWN)
    groups = [middle[i:i + NIK_SHOWN] for i in range(0, len(middle), NIK_SHOWN)]
    return " ".join([text[:NIK_SHOWN], *groups, text[-NIK_SHOWN:]])


def sees_full_nik(role: str | Role | None) -> bool:
    """Whether a role sees NIKs in full: guards and admins do; operators, auditors, devices, metrics and nobody do not."""
    try:
        return Role(role) in FULL_NIK_ROLES
    except ValueError:
        return False


def nik_for(nik: str | None, role: str | Role | None) -> str:
    """The NIK as ``role`` may see it: whole for guards and admins, masked for everyone else."""
    return (nik or ERASED_NIK) if sees_full_nik(role) else masked_nik(nik)


def looks_like_nik(text: str | None) -> bool:
    """Whether a search text may be (part of) a NIK: it holds ``NIK_LIKE_DIGITS`` digits or more.

    Pages never put such a text in a URL, where access logs and browser histories keep it.
    """
    return sum(character.isdigit() for character in text or "") >= NIK_LIKE_DIGITS


def with_masked_nik(row: dict[str, Any], field: str = "id_number") -> dict[str, Any]:
    """A copy of a row (a visit as a dict) with its NIK masked."""
    return {**row, field: masked_nik(row.get(field))}


def masked_members(members: str | None) -> str:
    """An authorisation's stored members (JSON list of {"name", "id_number"}) with their NIKs masked."""
    rows = json.loads(members or "[]")
    return json.dumps([with_masked_nik(member) for member in rows], ensure_ascii=False)
