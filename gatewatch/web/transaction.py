"""One change per form post: committed when it works, rolled back and explained when it does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from sqlmodel import Session

from gatewatch.web.context import db

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def commit_or_flash(change: Callable[[Session], T], errors: type[E], explain: Callable[[E], str]) -> T | None:
    """Run ``change`` in the request's session and commit; on ``errors`` roll back, flash why, return None."""
    session = db()
    try:
        result = change(session)
    except errors as error:
        session.rollback()
        flash(explain(error), "error")
        return None
    session.commit()
    return result
