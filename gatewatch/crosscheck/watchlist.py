"""The watch list: plates an administrator wants flagged at every entry, each with a reason.

Every change is audited (``watchlist.added``, ``watchlist.removed``) and re-runs the cross-check
on the open events of that plate. Entries are not deleted, only marked removed. Nothing here
commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.service import recheck_plate, watch_entries
from gatewatch.models.tables import WatchlistPlate
from gatewatch.models.types import utcnow
from gatewatch.plates import match_key, parse_typed_plate
from gatewatch.settings import Settings

MAX_REASON_LENGTH = 500
_ENTITY = "watchlistplate"
_REMOVAL_FIELDS = ("removed_at", "removed_by")


class WatchlistError(Exception):
    """A watch-list change cannot be made; ``field`` names the input at fault, the message says why."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


class AlreadyListed(WatchlistError):
    def __init__(self, entry: WatchlistPlate) -> None:
        super().__init__("plate", f"{entry.plate} is already on the watch list (entry #{entry.id})")


class InvalidReason(WatchlistError):
    """The reason is blank or longer than ``MAX_REASON_LENGTH``."""

    def __init__(self) -> None:
        super().__init__("reason", f"give a reason of 1-{MAX_REASON_LENGTH} characters")


class EntryNotFound(WatchlistError):
    def __init__(self, entry_id: int) -> None:
        super().__init__(None, f"there is no active watch-list entry #{entry_id}")


def active_entries(session: Session) -> Sequence[WatchlistPlate]:
    """The plates on the watch list now, the newest first."""
    return session.exec(
        select(WatchlistPlate).where(WatchlistPlate.removed_at.is_(None))
        .order_by(WatchlistPlate.created_at.desc(), WatchlistPlate.id.desc())
    ).all()


def add_plate(
    session: Session, text: str, reason: str, *, actor: str, role: str, settings: Settings
) -> WatchlistPlate:
    """Put a plate on the watch list, with why; it flags the open entries of that plate at once."""
    plate = parse_typed_plate(text)
    if plate is None:
        raise WatchlistError("plate", f"{text!r} is not an Indonesian number plate")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidReason()
    listed = watch_entries(session, str(plate))
    if listed:
        raise AlreadyListed(listed[0])
    entry = WatchlistPlate(plate=str(plate), plate_key=match_key(str(plate)), reason=reason, added_by=actor)
    session.add(entry)
    session.flush()
    trail.record(session, actor=actor, role=role, action="watchlist.added", entity=_ENTITY, entity_id=entry.id,
                 after=trail.row_values(entry))
    recheck_plate(session, settings, entry.plate)
    return entry


def remove_plate(session: Session, entry_id: int, *, actor: str, role: str, settings: Settings) -> WatchlistPlate:
    """Take an entry off the watch list; the open entries it flagged are judged again without it."""
    entry = session.get(WatchlistPlate, entry_id, with_for_update=True)
    if entry is None or entry.removed_at is not None:
        raise EntryNotFound(entry_id)
    before = trail.row_values(entry, _REMOVAL_FIELDS)
    entry.removed_at, entry.removed_by = utcnow(), actor
    session.flush()
    trail.record(session, actor=actor, role=role, action="watchlist.removed", entity=_ENTITY, entity_id=entry.id,
                 before=before, after={**trail.row_values(entry, _REMOVAL_FIELDS), "plate": entry.plate})
    recheck_plate(session, settings, entry.plate)
    return entry
