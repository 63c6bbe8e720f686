"""The API's reveal of a masked NIK: the request's reason checked, the reveal audited, or why not.

A visit's NIK and an authorisation's members are revealed the same way (``visitors.reveal``);
only what is revealed, and how it is missing, differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Response
from pydantic import ValidationError
from sqlmodel import Session

from gatewatch.visitors import reveal
from gatewatch.web.api import schemas
from gatewatch.web.api.blueprint import NotFound, error, json_body
from gatewatch.web.auth import actor
from gatewatch.web.context import db
from gatewatch.web.validation import field_errors

T = TypeVar("T")
#: ``visitors.reveal``'s reveal of one record: (session, reason, actor, role) -> the record.
Reveal = Callable[[Session, str, str, str], T]


def revealed(reveal_one: Reveal[T], missing: type[Exception], not_found: str) -> T | Response:
    """The record ``reveal_one`` reveals for the request's ``{"reason"}``, committed with its audit
    record; a 422 answer naming ``reason`` when it is missing or too long; NotFound (``not_found``)
    when ``reveal_one`` raises ``missing``."""
    try:
        body = schemas.RevealIn.model_validate(json_body())
    except ValidationError as problem:
        return error(422, "invalid reveal", field_errors(problem))
    session = db()
    username, role = actor()
    try:
        row = reveal_one(session, body.reason, username, role)
    except missing:
        raise NotFound(not_found) from None
    except reveal.RevealReasonRequired as problem:
        return error(422, "invalid reveal", {"reason": str(problem)})
    session.commit()
    return row
