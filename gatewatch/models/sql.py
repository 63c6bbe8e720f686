"""SQL expressions over stored columns that the queries share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gatewatch.plates import LOOK_ALIKES


def plate_key_sql(column: Any) -> Any:
    """``plates.match_key`` in SQL, for plates stored in display form (capitals and spaces)."""
    key = sa.func.replace(sa.func.upper(column), " ", "")
    for glyph, replacement in LOOK_ALIKES.items():
        key = sa.func.replace(key, glyph, replacement)
    return key
