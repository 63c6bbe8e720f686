"""The audit trail for auditors: every change, who made it and what it was before and after."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Blueprint, Response, render_template, request, stream_with_context

from gatewatch.audit.queries import AuditFilter, distinct_values, find_records, iter_records
from gatewatch.models.enums import Role
from gatewatch.models.filters import FilterError
from gatewatch.models.spreadsheet import safe_row
from gatewatch.models.tables import AuditRecord
from gatewatch.vision.redaction import redact_url
from gatewatch.web import access
from gatewatch.web.context import db, settings
from gatewatch.web.i18n import site_time
from gatewatch.web.navigation import int_arg

bp = Blueprint("audit", __name__)
#: Records written before camera credentials were masked (``camera.disconnected`` reasons) may
#: hold a stream's password: the hash chain keeps them as written, so they are masked when shown.
bp.add_app_template_filter(redact_url, "redacted")

READERS = (Role.AUDITOR, Role.ADMIN)
PAGE_SIZE = 100
CSV_COLUMNS = ("id", "at_utc", "at_site", "actor", "role", "action", "entity", "entity_id", "before", "after")


def _filter() -> tuple[AuditFilter, str | None]:
    try:
        return AuditFilter.parse(request.args), None
    except FilterError as error:
        return AuditFilter(), error.field


@bp.get("/audit")
@access.allow(READERS)
def index() -> tuple[str, int]:
    session = db()
    audit_filter, error = _filter()
    page = int_arg("page", 1)
    rows = find_records(
        session, audit_filter, settings().zone, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    html = render_template(
        "audit.html",
        records=rows[:PAGE_SIZE],
        has_next=len(rows) > PAGE_SIZE,
        page=page,
        audit_filter=audit_filter,
        filter_error=error,
        actors=distinct_values(session, AuditRecord.actor),
        actions=distinct_values(session, AuditRecord.action),
    )
    return html, 400 if error else 200


def _csv_lines(records: Iterator[AuditRecord]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + flush()  # the byte-order mark makes spreadsheet programs read UTF-8
    for record in records:
        writer.writerow(safe_row(
            [
                record.id,
                record.at.isoformat(),
                site_time(record.at),
                record.actor,
                record.role,
                record.action,
                record.entity,
                record.entity_id,
                redact_url(record.before or ""),
                redact_url(record.after or ""),
            ]
        ))
        yield flush()


@bp.get("/audit.csv")
@access.allow(READERS)
def export() -> Response | tuple[str, int]:
    audit_filter, error = _filter()
    if error:
        return f"invalid filter: {error}", 400
    records = iter_records(db(), audit_filter, settings().zone)
    response = Response(stream_with_context(_csv_lines(records)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=gatewatch-audit.csv"
    return response
