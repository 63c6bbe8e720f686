"""Reading the audit trail: filters by actor, action and site days, in pages or all at once for export."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

import sqlalchemy as sa
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from gatewatch.models.filters import day_bounds, parse_day
from gatewatch.models.tables import AuditRecord


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: date | None = None  # first site day included
    until: date | None = None  # last site day included

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> AuditFilter:
        """From query-string style ``args``; blank values mean no filter; dates are YYYY-MM-DD
        (FilterError naming the field otherwise)."""
        return cls(
            actor=(args.get("actor") or "").strip() or None,
            action=(args.get("action") or "").strip() or None,
            since=parse_day(args.get("from"), "from"),
            until=parse_day(args.get("to"), "to"),
        )

    def conditions(self, zone: tzinfo) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.actor:
            where.append(AuditRecord.actor == self.actor)
        if self.action:
            where.append(AuditRecord.action == self.action)
        if self.since:
            where.append(AuditRecord.at >= day_bounds(self.since, zone)[0])
        if self.until:
            where.append(AuditRecord.at < day_bounds(self.until, zone)[1])
        return where

    def as_args(self) -> dict[str, str]:
        args = {
            "actor": self.actor or "",
            "action": self.action or "",
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in args.items() if v}


def _query(audit_filter: AuditFilter, zone: tzinfo) -> SelectOfScalar[AuditRecord]:
    newest_first = (AuditRecord.at.desc(), AuditRecord.id.desc())
    return select(AuditRecord).where(*audit_filter.conditions(zone)).order_by(*newest_first)


def find_records(
    session: Session, audit_filter: AuditFilter, zone: tzinfo, *, offset: int, limit: int
) -> Sequence[AuditRecord]:
    return session.exec(_query(audit_filter, zone).offset(offset).limit(limit)).all()


def iter_records(session: Session, audit_filter: AuditFilter, zone: tzinfo) -> Iterator[AuditRecord]:
    """Every matching record, newest first, fetched in batches so an export never holds them all."""
    yield from session.exec(_query(audit_filter, zone).execution_options(yield_per=500))


def distinct_values(session: Session, column: sa.ColumnElement[str]) -> list[str]:
    """The values an audit column takes, for a filter's choices (the column is indexed)."""
    return list(session.execute(sa.select(column).distinct().order_by(column)).scalars())
