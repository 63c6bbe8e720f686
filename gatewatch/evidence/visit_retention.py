"""Retention of the visitor log: after ``visitors.retention_days``, a visit's personal fields are erased.

A visitor's name, NIK, organisation and plate are personal data (UU No. 27 Tahun 2022), kept only
as long as the site needs them. A visit checked in before the period keeps its row, its times,
party size, host and purpose and its links to events, so counts, audits and exports stay whole;
its personal fields become blank (``id_number`` empty, ``vehicle_plate`` null) and
``personal_erased_at`` says when, for pages and exports to show "erased".

The same fields are erased from the audit trail's records about the visit (``visit.created``,
``visit.imported``, ...): their values and salts (``gatewatch.audit.erasure``), their digests
staying in the chain. One chained ``personal.erased`` record per visit names the visit's fields
and every record and field erased, so ``audit verify`` tells this erasure from tampering.

A visit linked to an event under a legal hold (``holds.visit_held``) is kept until the hold is
released; ``VisitRetentionResult.kept_held`` counts them. The flag details of events that name
an erased visitor name it ``erased`` instead; they keep the visit's number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit.erasure import RETENTION, erase_in_records, record_erasure
from gatewatch.crosscheck import wording
from gatewatch.crosscheck.service import MAX_VISIT_DAYS
from gatewatch.evidence.holds import visit_held
from gatewatch.evidence.retention import RetentionError
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditRecord, EntryEvent, Visit
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings

#: The visit's personal fields, erased from its row and from the trail's records about it.
PERSONAL_VISIT_FIELDS = ("visitor_name", "id_number", "organisation", "vehicle_plate")
#: What an erased field holds in the row (``id_number`` and ``visitor_name`` are NOT NULL).
ERASED_VALUES: dict[str, Any] = {"visitor_name": "", "id_number": "", "organisation": "", "vehicle_plate": None}
#: What a flag detail names an erased visitor by.
ERASED_NAME = "erased"
#: Visits erased per transaction.
BATCH_SIZE = 200


@dataclass
class VisitRetentionResult:
    cutoff: datetime
    visits: int = 0  # erased (or, in a dry run, to be erased)
    kept_held: int = 0  # old visits kept because an event they explain is held
    trail_fields: int = 0  # fields erased from audit records about them
    flag_details: int = 0  # events whose flag details named one of them


def _old(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Visit.check_in_at < cutoff, Visit.personal_erased_at.is_(None))


def apply_visit_retention(
    engine: sa.Engine,
    settings: Settings,
    *,
    actor: str,
    role: str,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> VisitRetentionResult:
    """Erase the personal fields of visits checked in more than ``days`` (default
    ``visitors.retention_days``) ago, in their rows and in the audit trail, except held ones.

    ``dry_run`` counts the visits without changing anything.
    """
    days = days if days is not None else settings.visitors.retention_days
    if days is None or days < 1:
        raise RetentionError("no visitor retention period: set visitors.retention_days in the configuration "
                             "or give --visitor-days")
    now = now or utcnow()
    result = VisitRetentionResult(cutoff=now - timedelta(days=days))
    with session_scope(engine) as session:
        count = sa.select(sa.func.count()).select_from(Visit)
        result.kept_held = session.execute(count.where(_old(result.cutoff), visit_held(Visit.id))).scalar_one()
        if dry_run:
            result.visits = session.execute(count.where(_old(result.cutoff), ~visit_held(Visit.id))).scalar_one()
            return result
    while True:
        with session_scope(engine) as session:
            visits = session.exec(
                select(Visit).where(_old(result.cutoff), ~visit_held(Visit.id)).order_by(Visit.id).limit(BATCH_SIZE)
                .with_for_update().execution_options(populate_existing=True)
            ).all()
            for visit in visits:
                result.trail_fields += _erase(session, visit, now, actor=actor, role=role)
            result.flag_details += _forget_names(session, settings, visits)
        result.visits += len(visits)
        if len(visits) < BATCH_SIZE:
            return result


def _erase(session: Session, visit: Visit, now: datetime, *, actor: str, role: str) -> int:
    """Erase one visit's personal fields, in its row and its audit records; the trail fields erased."""
    records = session.exec(
        select(AuditRecord).where(AuditRecord.entity == "visit", AuditRecord.entity_id == str(visit.id),
                                  AuditRecord.seq.is_not(None)).order_by(AuditRecord.seq)
    ).all()
    erased = erase_in_records(session, records, set(PERSONAL_VISIT_FIELDS))
    for name, value in ERASED_VALUES.items():
        setattr(visit, name, value)
    visit.personal_erased_at = now
    session.add(visit)
    record_erasure(session, actor=actor, role=role, entity="visit", entity_id=visit.id, reason=RETENTION,
                   erased=erased, visit_fields=list(PERSONAL_VISIT_FIELDS), personal_erased_at=now,
                   check_in_at=visit.check_in_at)
    return sum(len(item.get(side, [])) for item in erased for side in ("before", "after"))


def _forget_names(session: Session, settings: Settings, visits: list[Visit]) -> int:
    """Blank the erased visitors' names in the flag details of the events that name them; how many events.

    A verdict names the visits it considered, and only those checked in around the entry: the
    events looked at are those from the window before the first check-in to a visit's longest
    cover after the last."""
    if not visits:
        return 0
    ids = {visit.id for visit in visits}
    before = timedelta(minutes=settings.crosscheck.window_before_minutes)
    first = min(v.check_in_at for v in visits) - before
    last = max(v.check_in_at for v in visits) + timedelta(days=MAX_VISIT_DAYS + 1)
    events = session.exec(select(EntryEvent).where(
        EntryEvent.occurred_at >= first, EntryEvent.occurred_at <= last, EntryEvent.flag_items.is_not(None),
        EntryEvent.flag_items.contains('"visit"'),
    )).all()
    changed = 0
    for event in events:
        items = json.loads(event.flag_items or "[]")
        if _blank_names(items, ids):
            event.flag_items = json.dumps(items, ensure_ascii=False)
            event.flag_detail = wording.render(items)
            session.add(event)
            changed += 1
    return changed


def _blank_names(value: Any, ids: set[int]) -> bool:
    """Blank the name of every visit cover in ``value`` (verdict items) whose id is in ``ids``."""
    found = False
    if isinstance(value, dict):
        if value.get("type") == "visit" and value.get("id") in ids and value.get("name"):
            value["name"] = ERASED_NAME
            found = True
        for item in value.values():
            found = _blank_names(item, ids) or found
    elif isinstance(value, list):
        for item in value:
            found = _blank_names(item, ids) or found
    return found
