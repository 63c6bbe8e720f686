"""The auditor's integrity check: the audit chain, the event rows and the evidence files, on demand.

Every check run here is itself put on the audit trail (``audit.verified``, with its outcome),
so the page can say when the records were last found whole, and by whom.
"""

from __future__ import annotations

import json

from flask import Blueprint, render_template
from sqlmodel import select

from gatewatch.audit import trail
from gatewatch.evidence.integrity import IntegrityReport, verify_integrity
from gatewatch.models.tables import AuditRecord
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, engine, settings
from gatewatch.web.views.audit import READERS

bp = Blueprint("integrity", __name__, url_prefix="/audit")

VERIFIED = "audit.verified"
#: Earlier checks listed on the page.
HISTORY = 20


def _summary(report: IntegrityReport) -> dict[str, object]:
    first = report.first_break
    return {"ok": report.ok, "records": report.records, "head_seq": report.head_seq, "events": report.events,
            "files": report.files, "expired_files": report.expired.total,
            "problems": {"chain": report.chain.total, "events": report.event_issues.total,
                         "files": report.file_issues.total},
            "first_break": {"record_id": first.record_id, "seq": first.seq, "kind": first.kind.value}
            if first else None}


def _page(report: IntegrityReport | None = None) -> str:
    earlier = db().exec(
        select(AuditRecord).where(AuditRecord.action == VERIFIED).order_by(AuditRecord.id.desc()).limit(HISTORY)
    ).all()
    history = [(record, json.loads(record.after or "{}")) for record in earlier]
    return render_template("audit_verify.html", report=report, history=history)


@bp.get("/verify")
@access.allow(READERS)
def page() -> str:
    return _page()


@bp.post("/verify")
@access.allow(READERS)
def run() -> str:
    report = verify_integrity(engine(), settings())
    session = db()
    username, role = actor()
    trail.record(session, actor=username, role=role, action=VERIFIED, entity="audit", entity_id=report.head_seq,
                 after=_summary(report))
    session.commit()
    return _page(report)
