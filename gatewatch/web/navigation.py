"""Where to send a person next: back to where they came from, but never off this site."""

from __future__ import annotations

from flask import request, url_for


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """``target`` if it is a path on this site, else ``fallback`` (a URL; default the home page)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback or url_for("home.index")


def form_next(fallback: str | None = None) -> str:
    """The ``next`` field of the posted form (a hidden input), made safe."""
    return safe_next(request.form.get("next"), fallback)


def int_arg(name: str, default: int, minimum: int = 1) -> int:
    """A whole-number query argument; a missing or malformed one is ``default``."""
    text = request.args.get(name, "")
    return max(minimum, int(text)) if text.isdigit() else default
