"""The persons watch list: NIKs of people who must not enter, each with a reason.

The plates watch list (``watchlist.py``) flags a vehicle by the plate the camera reads; a person
has no plate, so a person is known by the visit a guard registers with their NIK. Registering a
visit for a listed NIK goes through (the guard is warned at once, and the person at the gate is
a matter for people), but every entry that visit would explain is flagged ``watchlist`` instead
(``rules.judge``), its verdict naming the watch-list entry and the visit by id, never the NIK.

Every change is audited (``watchlist_person.added``, ``watchlist_person.removed``) with the NIK
masked (``nik_display.masked_nik``): the trail never holds it in clear. Each change re-runs the
cross-check on the open events of that NIK's visits. Entries are not deleted, only marked
removed. Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.crosscheck.service import recheck_visits, watched_niks
from gatewatch.crosscheck.watchlist import MAX_REASON_LENGTH, EntryNotFound, InvalidReason, WatchlistError
from gatewatch.models.tables import Visit, WatchlistPerson
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_nik
from gatewatch.visitors.visits import validate_nik

__all__ = ["MAX_REASON_LENGTH", "EntryNotFound", "InvalidReason", "PersonAlreadyListed", "WatchlistError",
           "active_persons", "add_person", "audit_values", "entries_for", "remove_person"]

ENTITY = "watchlistperson"


class PersonAlreadyListed(WatchlistError):
    def __init__(self, entry: WatchlistPerson) -> None:
        super().__init__("nik", f"{masked_nik(entry.nik)} is already on the persons watch list (entry #{entry.id})")


def active_persons(session: Session) -> Sequence[WatchlistPerson]:
    """The persons on the watch list now, the newest first."""
    return session.exec(
        select(WatchlistPerson).where(WatchlistPerson.removed_at.is_(None))
        .order_by(WatchlistPerson.created_at.desc(), WatchlistPerson.id.desc())
    ).all()


def entries_for(session: Session, nik: str | None) -> Sequence[WatchlistPerson]:
    """The active watch-list entries of ``nik``; none for an empty (erased) one."""
    return watched_niks(session, {nik}) if nik else []


def audit_values(entry: WatchlistPerson) -> dict[str, Any]:
    """The entry's columns for the audit trail, its NIK masked."""
    return {**trail.row_values(entry), "nik": masked_nik(entry.nik)}


def _visits_of(session: Session, nik: str) -> Sequence[Visit]:
    return session.exec(select(Visit).where(Visit.id_number == nik)).all()


def add_person(
    session: Session, text: str, reason: str, *, actor: str, role: str, settings: Settings
) -> WatchlistPerson:
    """Put a NIK on the watch list, with why; the open entries its visits would explain are flagged at once."""
    try:
        nik = validate_nik(text)
    except ValueError as exc:
        raise WatchlistError("nik", str(exc)) from None
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidReason()
    if listed := entries_for(session, nik):
        raise PersonAlreadyListed(listed[0])
    entry = WatchlistPerson(nik=nik, reason=reason, added_by=actor)
    session.add(entry)
    session.flush()
    trail.record(session, actor=actor, role=role, action="watchlist_person.added", entity=ENTITY,
                 entity_id=entry.id, after=audit_values(entry))
    recheck_visits(session, settings, _visits_of(session, nik))
    return entry


def remove_person(
    session: Session, entry_id: int, *, actor: str, role: str, settings: Settings
) -> WatchlistPerson:
    """Take an entry off the watch list; the open entries it flagged are judged again without it."""
    entry = session.get(WatchlistPerson, entry_id, with_for_update=True)
    if entry is None or entry.removed_at is not None:
        raise EntryNotFound(entry_id)
    fields = ("removed_at", "removed_by")
    before = trail.row_values(entry, fields)
    entry.removed_at, entry.removed_by = utcnow(), actor
    session.flush()
    trail.record(session, actor=actor, role=role, action="watchlist_person.removed", entity=ENTITY,
                 entity_id=entry.id, before=before,
                 after={**trail.row_values(entry, fields), "nik": masked_nik(entry.nik)})
    recheck_visits(session, settings, _visits_of(session, entry.nik))
    return entry
