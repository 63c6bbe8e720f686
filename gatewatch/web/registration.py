"""Registering a visit from a form or a JSON body: validation errors per field, or the stored visit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import select

from gatewatch.models.tables import EntryEvent, Visit, WatchlistPerson
from gatewatch.visitors import visits, watched_persons
from gatewatch.visitors.visits import VisitInput
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings
from gatewatch.web.messages import visit_error
from gatewatch.web.validation import field_errors

FIELDS = tuple(VisitInput.model_fields)


@dataclass
class Registration:
    visit: Visit | None = None
    explained: list[EntryEvent] = field(default_factory=list)  # open entries the visit now explains
    errors: dict[str, str] = field(default_factory=dict)
    busy: bool = False  # the database stayed locked (a long import): nothing saved, send it again

    @property
    def watched(self) -> Sequence[WatchlistPerson]:
        """The persons watch-list entries of the registered visitor's NIK: the guard is warned at once."""
        return watched_persons.entries_for(db(), self.visit.id_number) if self.visit else []


def explained_by(visit_id: int) -> list[EntryEvent]:
    """The entry events linked to a visit, oldest first."""
    return list(
        db()
        .exec(
            select(EntryEvent)
            .where(EntryEvent.visit_id == visit_id)
            .order_by(EntryEvent.occurred_at, EntryEvent.id)
        )
        .all()
    )


def register(data: Mapping[str, Any], *, form_fields_only: bool) -> Registration:
    """Validate ``data`` as a VisitInput and register it (committed), or return field errors.

    ``form_fields_only`` drops keys that are not fields (a form's CSRF token, its button);
    a JSON body keeps them, so a client misspelling a field hears about it.
    """
    values = {k: v for k, v in data.items() if k in FIELDS} if form_fields_only else dict(data)
    try:
        visit_input = VisitInput.parse(values, settings().zone)
    except ValidationError as error:
        return Registration(errors=field_errors(error))
    session = db()
    username, role = actor()
    try:
        visit = visits.register_visit(session, visit_input, actor=username, role=role, settings=settings())
    except visits.UnknownCamera as error:
        session.rollback()
        return Registration(errors={"camera_id": visit_error(error)})
    except sa.exc.OperationalError:
        # SQLite's write lock held past its busy timeout, by a big CSV import say: the visitor is
        # at the gate, so say so and keep what was typed, rather than fail with a server error.
        session.rollback()
        return Registration(busy=True)
    session.commit()
    assert visit.id is not None  # flushed by register_visit
    return Registration(visit, explained_by(visit.id))
