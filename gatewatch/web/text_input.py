"""Refuses NUL characters in whatever text a request brings: query, form or JSON body.

PostgreSQL cannot hold NUL in a string, so such a value would end in a server error there (and
be stored as given on SQLite). No field of gatewatch takes one (the OpenAPI document says so),
so every request carrying one is refused, naming where it was, before any view runs: 400 for a
query or a form, 422 for a JSON body. Uploads larger than the app's usual body limit are left
to the view that takes them (multipart forms are never read here: that would read the file).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest

from gatewatch.web import access
from gatewatch.web.api.blueprint import error

NUL = "\x00"
MESSAGE = "text must not contain a NUL character"


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)


def _refuse_nul() -> Response | None:
    """400 for a query or form with NUL, 422 for a JSON body (as the API documents bodies)."""
    where, status = _in_pairs(request.args.items(multi=True)), 400
    if where is None and _small_body():
        if request.is_json:
            where, status = _in_json(request.get_json(silent=True), ""), 422
        elif request.mimetype == "application/x-www-form-urlencoded":
            where = _in_pairs(request.form.items(multi=True))
    if where is None:
        return None
    if access.is_api_request():
        return error(status, "the request holds a NUL character", {where: MESSAGE})
    raise BadRequest(f"{where}: {MESSAGE}")


def _small_body() -> bool:
    """Whether the body is within the app's usual limit. Uploads (a CSV import, a posted snapshot)
    raise the limit in their own view, which must read them first; their fields are its to check."""
    return (request.content_length or 0) <= (current_app.config["MAX_CONTENT_LENGTH"] or 0)


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
