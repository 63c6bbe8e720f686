"""The flagged passages a page has not yet been told of: what the browser alerts poll for.

A page notes the newest event id when it is drawn and then asks, about once a second, for the
passages with a *flagged* member stored after it. A passage stops being listed as soon as nobody
needs to act on it any more: a decision (acknowledged, confirmed, linked, false alarm) or a visit
that explains it moves its members out of ``flagged``. So the answer is the set of open alerts,
and a tab learns of a decision taken in another at its next poll.

Both queries are cheap whatever the size of the table: the first walks the primary key down from
the newest event and stops after ``SCAN_LIMIT`` flagged rows newer than the page's cursor; the
second reads the members of at most ``limit`` passages by their indexed passage id.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.events.queries import Passage, in_passage, passage_key
from gatewatch.models.enums import EventStatus
from gatewatch.models.tables import EntryEvent

#: The most flagged events one poll reads to find its passages (a passage has a few members).
SCAN_LIMIT = 100


@dataclass(frozen=True)
class NewFlags:
    passages: list[Passage]  # newest first
    more: bool  # more passages than asked for are waiting


def newest_event_id(session: Session) -> int:
    """The id of the newest event stored, 0 when there is none: a page's cursor when it is drawn."""
    return session.execute(sa.select(sa.func.max(EntryEvent.id))).scalar_one() or 0


def flagged_since(session: Session, after: int, limit: int) -> NewFlags:
    """The passages, newest first, with a member that is flagged and newer than event ``after``.

    At most ``limit`` passages; each with all its members (decided ones too, for its summary).
    """
    rows = session.execute(
        sa.select(passage_key())
        .where(EntryEvent.status == EventStatus.FLAGGED, EntryEvent.id > after)
        .order_by(EntryEvent.id.desc())
        .limit(SCAN_LIMIT)
    ).scalars()
    keys: list[int] = list(dict.fromkeys(rows))  # newest first, each passage once
    more = len(keys) > limit
    keys = keys[:limit]
    if not keys:
        return NewFlags([], more)
    members = session.exec(
        select(EntryEvent)
        .where(sa.or_(*(in_passage(key) for key in keys)))
        .order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all()
    grouped: dict[int, list[EntryEvent]] = {key: [] for key in keys}
    for event in members:
        key = event.passage_id or event.id
        if key in grouped:
            grouped[key].append(event)
    return NewFlags([Passage(tuple(grouped[key])) for key in keys if grouped[key]], more)
