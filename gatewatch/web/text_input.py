"""Refuses NUL characters in whatever text a request brings: query, form or JSON body.

PostgreSQL cannot hold NUL in a string, so such a value would end in a server error there (and
be stored as given on SQLite). No field of gatewatch takes one, so every request carrying one is
answered 400, naming where it was, before any view runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest

from gatewatch.web import access
from gatewatch.web.api.blueprint import error

NUL = "\x00"
MESSAGE = "text must not contain a NUL character"


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)


def _refuse_nul() -> Response | None:
    where = _in_pairs(request.args.items(multi=True)) or _in_pairs(request.form.items(multi=True))
    if where is None and request.is_json:
        where = _in_json(request.get_json(silent=True), "")
    if where is None:
        return None
    if access.is_api_request():
        return error(400, "the request holds a NUL character", {where: MESSAGE})
    raise BadRequest(f"{where}: {MESSAGE}")


def _in_pairs(pairs: Iterable[tuple[str, str]]) -> str | None:
    return next((key.replace(NUL, "\\0") for key, value in pairs if NUL in key or NUL in value), None)


def _in_json(value: Any, path: str) -> str | None:
    """The dotted path of the first string holding NUL (a key or a value), or None."""
    if isinstance(value, str):
        return (path or "body") if NUL in value else None
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        name = f"{path}.{key}" if path else str(key)
        if NUL in name:
            return name.replace(NUL, "\\0")
        if (found := _in_json(item, name)) is not None:
            return found
    return None
