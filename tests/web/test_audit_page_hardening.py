"""The audit trail as auditors read it: a stream password recorded before credentials were masked
stays hidden on the page and in the CSV, and a cell a spreadsheet would run as a formula does not."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient

from gatewatch.audit import trail
from gatewatch.models.db import session_scope
from gatewatch.models.enums import Role

LEAKED = "rtsp://admin:s3cret@10.0.0.2:554/stream1"


def _old_records(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        trail.record(session, actor="system", role="system", action="camera.disconnected", entity="camera",
                     entity_id="gate-a", after={"reason": f"cannot open {LEAKED}: Connection refused"})
        trail.record(session, actor="=HYPERLINK(\"http://evil.example\",\"x\")", role="guard", action="visit.created",
                     entity="visit", entity_id=7, after={"visitor_name": "+cmd|' /C calc'!A0"})


def test_the_audit_page_and_csv_hide_a_password_recorded_in_clear(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    _old_records(web_engine)
    auditor = client_for(Role.AUDITOR)
    page = auditor.get("/audit").get_data(as_text=True)
    table = auditor.get("/audit.csv").get_data(as_text=True)
    for text in (page, table):
        assert "s3cret" not in text and "rtsp://***@10.0.0.2:554/stream1" in text


def test_the_audit_csv_does_not_start_a_cell_with_a_formula(
    client_for: Callable[[Role], FlaskClient], web_engine: sa.Engine
) -> None:
    _old_records(web_engine)
    table = client_for(Role.ADMIN).get("/audit.csv").get_data(as_text=True)
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in table
    assert ',=HYPERLINK' not in table and ',"=HYPERLINK' not in table
