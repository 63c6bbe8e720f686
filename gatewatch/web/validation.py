"""Validation errors as one short message per field, in the user's language.

The input models (``visits.VisitInput``) report errors in English for developers; a guard
needs to read at a glance what to fix in which box. Errors are translated by their pydantic
type; the model's own checks (NIK, number plate, times in order) get messages per field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from pydantic import ValidationError
from pydantic_core import ErrorDetails

FORM_ERROR = "__all__"


def _nik(value: Any) -> str:
    text = "".join(str(value).split())
    if not text.isdigit():
        return _("An NIK has digits only: the 16 digits on the KTP.")
    if len(text) != 16:
        return _("An NIK has exactly 16 digits; this one has %(count)d.", count=len(text))
    return _("This is not a valid NIK: check the region code, birth date and serial number on the KTP.")


_CHECKS: dict[str, Callable[[Any], str]] = {
    "id_number": _nik,
    "vehicle_plate": lambda _value: _(
        "Not a number plate: 1-2 letters, 1-4 digits, up to 3 letters, like BG 1234 AB."
    ),
    "expected_check_out_at": lambda _value: _("Must be after the check-in time."),
}


def _message(field: str, error: ErrorDetails) -> str:
    kind, context, value = error["type"], error.get("ctx") or {}, error.get("input")
    if (isinstance(value, str) and not value.strip()) or kind == "missing":
        return _("Required.")
    if kind == "value_error" and field in _CHECKS:
        return _CHECKS[field](value)
    if kind == "string_too_long":
        return _("At most %(count)d characters.", count=context["max_length"])
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(limit)s.", limit=context.get("ge", context.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(limit)s.", limit=context.get("le", context.get("lt")))
    if kind.startswith(("datetime", "date")):
        return _("Enter a date and time like 2026-11-20 09:30.")
    if kind == "literal_error":
        return _("Choose one of: %(choices)s.", choices=context.get("expected", ""))
    if kind == "extra_forbidden":
        return _("Unknown field.")
    return error["msg"].removeprefix("Value error, ")


def field_errors(error: ValidationError) -> dict[str, str]:
    """The first message for each field; errors of the whole input under ``FORM_ERROR``."""
    messages: dict[str, str] = {}
    for details in error.errors():
        field = str(details["loc"][0]) if details["loc"] else FORM_ERROR
        messages.setdefault(field, _message(field, details))
    return messages
