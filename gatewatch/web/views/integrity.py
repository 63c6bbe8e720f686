"""The auditor's integrity check: the audit chain, the event rows and the evidence files, on demand.

Every check run here is itself put on the audit trail (``audit.verified``, with its outcome),
so the page can say when the records were last found whole, and by whom.

One check runs at a time (the database lock ``integrity``, shared with ``gatewatch audit
verify``): a second request while one runs is answered 409 with a message, never a second walk.
"""

from __future__ import annotations

import json

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _
from sqlmodel import select

from gatewatch.audit import trail
from gatewatch.evidence.integrity import IntegrityReport, verify_integrity_exclusive
from gatewatch.models.locks import LockBusy
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
            "segments": report.segments, "expired_segments": report.expired_segments.total,
            "problems": {"chain": report.chain.total, "events": report.event_issues.total,
                         "files": report.file_issues.total, "recordings": report.recording_issues.total},
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
def run() -> str | tuple[str, int]:
    username, role = actor()
    try:
        report = verify_integrity_exclusive(engine(), settings(), holder=f"integrity check by {username}")
    except LockBusy:
        flash(_("An integrity check is already running: wait until it ends and see its result under Earlier "
                "checks. A second one was not started."), "error")
        return _page(), 409
    session = db()
    trail.record(session, actor=username, role=role, action=VERIFIED, entity="audit", entity_id=report.head_seq,
                 after=_summary(report))
    session.commit()
    return _page(report)
