"""The flagged passages a page has not yet been told of: what the browser alerts poll for.

A page notes the newest event id when it is drawn and then asks, about once a second, for the
passages with a *flagged* member stored after it. A passage stops being listed as soon as nobody
needs to act on it any more: a decision (acknowledged, confirmed, linked, false alarm) or a visit
that explains it moves its members out of ``flagged``. So the answer is the set of open alerts,
and a tab learns of a decision taken in another at its next poll.

Both queries are cheap whatever the size of the table. The first reads the flagged rows newer
than the cursor, newest first, at most ``SCAN_LIMIT``: a page's cursor is a recent event, so it
walks the primary key down from the newest row and stops at the cursor (SQLite's planner would
rather take ``ix_event_queue`` and sort every flagged row of the table, 7 ms instead of 0.1 in a
table of 200,000 events, so the status is compared as an expression no index serves); a cursor far
back (or none) takes the status index after all, in its time order, which needs no sort. The
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
#: Up to this many events after the cursor the primary key is walked; beyond, the status index is used.
WALK_LIMIT = 10_000


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
    if newest_event_id(session) - after <= WALK_LIMIT:  # down the primary key to the cursor
        flagged = (EntryEvent.status + "") == EventStatus.FLAGGED  # an expression no index serves
        newest_first: tuple[sa.UnaryExpression[object], ...] = (EntryEvent.id.desc(),)
    else:  # down ix_event_queue, which holds the flagged rows in time order
        flagged = EntryEvent.status == EventStatus.FLAGGED
        newest_first = (EntryEvent.occurred_at.desc(), EntryEvent.id.desc())
    rows = session.execute(
        sa.select(passage_key()).where(flagged, EntryEvent.id > after).order_by(*newest_first).limit(SCAN_LIMIT)
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
