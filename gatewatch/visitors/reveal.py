"""Revealing a visitor's full NIK to someone who sees it masked: a deliberate act, with a reason, audited.

An auditor checking the log sees NIKs masked (``nik_display``). When a case needs the whole
number (a request from the police, a complaint), the auditor reveals it for one visit and says
why. The audit trail records who revealed which visit and why (``visit.revealed``), with the NIK
masked as everywhere else: the record proves that the NIK was seen, it does not hold it again.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.models.tables import Visit
from gatewatch.visitors.nik_display import masked_nik
from gatewatch.visitors.visits import VisitLogError, VisitNotFound

__all__ = ["MAX_REASON_LENGTH", "REVEALED", "RevealReasonRequired", "RevealReasonTooLong", "VisitNotFound", "clean_reason", "reveal_nik"]

#: The longest reason a reveal takes, as a legal hold's.
MAX_REASON_LENGTH = 500
#: The audit trail's action for a reveal.
REVEALED = "visit.revealed"


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
