"""CSV cells that a spreadsheet program shows as text, never runs as a formula (CSV injection).

Every CSV the application writes goes through ``safe_cell`` (or ``safe_row``): a text cell
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in
front (OWASP's advice), so ``=HYPERLINK(...)`` typed as a visitor's name arrives in Excel or
LibreOffice as the text it is.

Only text is escaped. Numbers, booleans and empty cells are written as they are: a negative
number (a confidence, a frame delta) is data the application made, not input, and a
spreadsheet reads ``-0.5`` as a number, not a formula. Text that looks like a number is still
text from someone: a note ``-5`` comes out as ``'-5``. JSON copies of the same rows keep the
raw values: JSON is read by programs, not run by spreadsheets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: What a spreadsheet reads as the start of a formula (or of something that hides one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """``safe_cell`` of every value, for ``csv.writer``."""
    return [safe_cell(value) for value in values]


def safe_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """``safe_cell`` of every value, for ``csv.DictWriter``."""
    return {key: safe_cell(value) for key, value in row.items()}
