"""Revealing a full NIK to someone who sees it masked: a deliberate act, with a reason, audited.

An auditor checking the log sees NIKs masked (``nik_display``). When a case needs the whole
number (a request from the police, a complaint), the auditor reveals it for one visit, or for the
members of one standing authorisation, and says why. The audit trail records who revealed which
and why (``visit.revealed``, ``authorisation.revealed``), with the NIKs masked as everywhere else:
the record proves that a NIK was seen, it does not hold it again. Nothing here commits: the caller
owns the transaction.
"""

from __future__ import annotations

from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.models.tables import Authorisation, Visit
from gatewatch.visitors.authorisations import AuthorisationNotFound, members_of
from gatewatch.visitors.nik_display import masked_nik
from gatewatch.visitors.visits import VisitLogError, VisitNotFound

__all__ = [
    "MAX_REASON_LENGTH",
    "MEMBERS_REVEALED",
    "REVEALED",
    "AuthorisationNotFound",
    "RevealReasonRequired",
    "RevealReasonTooLong",
    "VisitNotFound",
    "clean_reason",
    "reveal_members",
    "reveal_nik",
]

#: The longest reason a reveal takes, as a legal hold's.
MAX_REASON_LENGTH = 500
#: The audit trail's action for a reveal.
REVEALED = "visit.revealed"
MEMBERS_REVEALED = "authorisation.revealed"


class RevealReasonRequired(VisitLogError):
    """A reveal without a reason (or with one that is too long); the message says which."""


class RevealReasonTooLong(RevealReasonRequired):
    pass


def clean_reason(reason: str | None) -> str:
    """The reason as recorded: stripped, 1 to ``MAX_REASON_LENGTH`` characters, else RevealReasonRequired."""
    text = (reason or "").strip()
    if not text:
        raise RevealReasonRequired("give the reason why the full NIK must be seen")
    if len(text) > MAX_REASON_LENGTH:
        raise RevealReasonTooLong(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    return text


def reveal_nik(session: Session, visit_id: int, reason: str | None, *, actor: str, role: str) -> Visit:
    """The visit, whose NIK the caller may now show once in full; audit ``visit.revealed``.

    The reason is checked first (RevealReasonRequired), then the visit (VisitNotFound). The record
    names the visit, the reason and the masked NIK, never the NIK in clear.
    """
    text = clean_reason(reason)
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise VisitNotFound(f"there is no visit #{visit_id}")
    trail.record(
        session,
        actor=actor,
        role=role,
        action=REVEALED,
        entity=Visit.__tablename__,
        entity_id=visit_id,
        after={"visit_id": visit_id, "reason": text, "id_number": masked_nik(visit.id_number)},
    )
    return visit


def reveal_members(
    session: Session, authorisation_id: int, reason: str | None, *, actor: str, role: str
) -> Authorisation:
    """The authorisation, whose members' NIKs the caller may now show once in full; audit
    ``authorisation.revealed`` naming it, the reason and the members with their NIKs masked.

    RevealReasonRequired first, then AuthorisationNotFound.
    """
    text = clean_reason(reason)
    authorisation = session.get(Authorisation, authorisation_id)
    if authorisation is None:
        raise AuthorisationNotFound(f"there is no authorisation #{authorisation_id}")
    trail.record(
        session,
        actor=actor,
        role=role,
        action=MEMBERS_REVEALED,
        entity=Authorisation.__tablename__,
        entity_id=authorisation_id,
        after={"authorisation_id": authorisation_id, "reason": text,
               "members": members_of(authorisation, masked=True)},
    )
    return authorisation
