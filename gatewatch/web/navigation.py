"""Where to send a person next, but never off this site, and the query arguments a page reads."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from flask import request, url_for

from gatewatch.models.filters import FilterError, parse_day


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """``target`` if it is a path on this site, else ``fallback`` (a URL; default the home page)."""
    if target and _on_this_site(target):
        return target
    return fallback or url_for("home.index")


def _on_this_site(target: str) -> bool:
    """A relative path with no scheme and no host, however a browser normalises it.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` and ``/\\evil.example`` are both ``//evil.example``: another site.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in target) or "\\" in target:
        return False
    parts = urlsplit(target)
    return target.startswith("/") and not target.startswith("//") and not (parts.scheme or parts.netloc)


def form_next(fallback: str | None = None) -> str:
    """The ``next`` field of the posted form (a hidden input), made safe."""
    return safe_next(request.form.get("next"), fallback)


#: The largest whole number a query argument takes unless told otherwise: a page number beyond it
#: would make an offset the database cannot hold (a 500 where the page should simply be empty).
MAX_INT_ARG = 10_000_000


def int_arg(name: str, default: int, minimum: int = 1, maximum: int = MAX_INT_ARG, *,
            strict: bool = False) -> int:
    """A whole-number query argument; a missing one is ``default``.

    A page reads leniently: a malformed one is ``default`` and one out of range is brought into it.
    ``strict`` (the API) raises FilterError naming the argument and its range instead.
    """
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit():  # ASCII digits only: not "²" (which int() refuses) or "٣"
        number = int(text) if len(text) <= 18 else maximum + 1  # int() refuses 4,300 digits and more
    else:
        number = None
    if number is not None and minimum <= number <= maximum:
        return number
    if strict:
        raise FilterError(name, f"a whole number from {minimum} to {maximum}")
    return default if number is None else min(max(minimum, number), maximum)


def day_arg(name: str = "date") -> date | None:
    """A YYYY-MM-DD query argument; a missing or malformed one is None, and the page shows its own day."""
    try:
        return parse_day(request.args.get(name), name)
    except FilterError:
        return None
