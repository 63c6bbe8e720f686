"""Checking continuous recording against the audit chain: segment rows, their files, and gaps.

Part of ``verify_integrity``'s walk: from the chain it learns what every segment looked like when
stored (its ``recording.segment`` record, with the file's SHA-256) and what retention did since
(``recording.expired``: path cleared, ``deleted_at`` set), and what every gap said. Then each
row is compared with that, and each segment's file with its recorded hash: an altered file is
named by its camera, times and path; a missing file is MISSING unless retention deleted it on
the record. A row changed behind the application's back, a row with no record and a record
whose row is gone are reported too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gatewatch.audit import segments as audited
from gatewatch.evidence.files import file_sha256, resolve
from gatewatch.evidence.integrity import FileProblem, IntegrityReport, canonical_values
from gatewatch.models.tables import RecordingGap, RecordingSegment


class RecordingProblem(StrEnum):
    UNRECORDED = "unrecorded"  # no audit record: stored outside the application
    ALTERED = "altered"  # a field differs from what the audit trail says
    DELETED = "deleted"  # recorded, but the row is gone
    RECORDED_TWICE = "recorded_twice"


@dataclass(frozen=True)
class RecordingIssue:
    kind: RecordingProblem
    entity: str  # "segment" or "recording_gap"
    row_id: int
    message: str
    field: str | None = None
    expected: Any = None
    actual: Any = None


@dataclass(frozen=True)
class SegmentFileIssue:
    """A segment's file that is not as recorded; named by camera and times, as a person looks for it."""

    kind: FileProblem
    segment_id: int
    camera_id: str
    started_at: str
    ended_at: str
    path: str
    expected_sha256: str | None
    actual_sha256: str | None

    @property
    def message(self) -> str:
        where = (f"recording segment #{self.segment_id} of camera {self.camera_id} "
                 f"({_when(self.started_at)} to {_when(self.ended_at)} UTC)")
        if self.kind == FileProblem.MISSING:
            return f"{where}: {self.path} is missing (expected SHA-256 {self.expected_sha256})"
        return (f"{where}: {self.path} was altered: expected SHA-256 {self.expected_sha256}, "
                f"found {self.actual_sha256}")


@dataclass(frozen=True)
class ExpiredSegment:
    segment_id: int
    path: str
    sha256: str | None
    expired_at: str  # as the audit trail recorded it, ISO 8601 UTC


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(iso)


@dataclass
class _Recorded:
    record_id: int
    expected: dict[str, Any]  # every checked field, as the audit trail says it is now
    file: tuple[str, str] | None = None  # (path, sha256) as stored; segments only


_CHECKED = {
    audited.SEGMENT_ENTITY: (*audited.FIXED_SEGMENT_FIELDS, *audited.AUDITED_SEGMENT_FIELDS),
    audited.GAP_ENTITY: audited.GAP_FIELDS,
}
_RECORDED = {audited.SEGMENT_ENTITY: audited.SEGMENT_RECORDED, audited.GAP_ENTITY: audited.GAP_RECORDED}
_TABLES = {audited.SEGMENT_ENTITY: RecordingSegment.__table__, audited.GAP_ENTITY: RecordingGap.__table__}


class RecordingLedger:
    """What the audit trail says each segment and gap is, built from its records in chain order."""

    def __init__(self, report: IntegrityReport) -> None:
        self.report = report
        self.rows: dict[str, dict[int, _Recorded]] = {entity: {} for entity in _CHECKED}

    def add(self, row: Mapping[str, Any]) -> None:
        entity = row["entity"]
        if entity not in _CHECKED or not str(row["entity_id"]).isdigit():
            return
        row_id, after = int(row["entity_id"]), json.loads(row["after"]) if row["after"] else {}
        known = self.rows[entity].get(row_id)
        if row["action"] == _RECORDED[entity]:
            if known is not None:
                self._issue(RecordingProblem.RECORDED_TWICE, entity, row_id, f"is recorded by record id "
                            f"{known.record_id} and again by record id {row['id']}")
                return
            file = (after["path"], after["sha256"]) if entity == audited.SEGMENT_ENTITY and after.get("path") else None
            self.rows[entity][row_id] = _Recorded(row["id"], after, file)
        elif known is not None:
            known.expected.update({name: after[name] for name in audited.AUDITED_SEGMENT_FIELDS if name in after})

    def check(self, session: Session, data_dir: Path, check_files: bool) -> None:
        """Compare every segment and gap row with the trail, then report the recorded ones whose row is gone."""
        for entity, table in _TABLES.items():
            query = sa.select(table).order_by(table.c.id).execution_options(yield_per=1000)
            for row in session.execute(query).mappings():
                self._check_row(entity, row, data_dir, check_files)
        for entity, recorded in self.rows.items():
            for row_id, known in sorted(recorded.items()):
                self._issue(RecordingProblem.DELETED, entity, row_id,
                            f"was recorded by record id {known.record_id} but its row is gone")

    def _check_row(self, entity: str, row: Mapping[str, Any], data_dir: Path, check_files: bool) -> None:
        if entity == audited.SEGMENT_ENTITY:
            self.report.segments += 1
        else:
            self.report.gaps += 1
        recorded = self.rows[entity].pop(row["id"], None)
        if recorded is None:
            self._issue(RecordingProblem.UNRECORDED, entity, row["id"],
                        f"has no {_RECORDED[entity]} audit record: stored outside the application")
            return
        fields = _CHECKED[entity]
        actual = canonical_values({name: row[name] for name in fields})
        for name in fields:
            if name in recorded.expected and actual[name] != recorded.expected[name]:
                self._issue(RecordingProblem.ALTERED, entity, row["id"], f"{name} is {actual[name]!r}, but the "
                            f"audit trail says {recorded.expected[name]!r}", name, recorded.expected[name],
                            actual[name])
        if check_files and recorded.file is not None:
            self._check_file(row["id"], recorded, data_dir)

    def _check_file(self, segment_id: int, recorded: _Recorded, data_dir: Path) -> None:
        path, sha256 = recorded.file or ("", "")
        expected = recorded.expected
        self.report.files += 1
        found = resolve(data_dir, path)
        if found is None:
            if expected.get("deleted_at") and not expected.get("path"):
                self.report.expired_segments.add(ExpiredSegment(segment_id, path, sha256, expected["deleted_at"]))
            else:
                self.report.file_issues.add(self._file_issue(FileProblem.MISSING, segment_id, recorded, None))
            return
        actual = file_sha256(found)
        if actual != sha256:
            self.report.file_issues.add(self._file_issue(FileProblem.ALTERED, segment_id, recorded, actual))

    @staticmethod
    def _file_issue(kind: FileProblem, segment_id: int, recorded: _Recorded, actual: str | None) -> SegmentFileIssue:
        path, sha256 = recorded.file or ("", None)
        expected = recorded.expected
        return SegmentFileIssue(kind, segment_id, str(expected.get("camera_id")), str(expected.get("started_at")),
                                str(expected.get("ended_at")), path, sha256, actual)

    def _issue(self, kind: RecordingProblem, entity: str, row_id: int, text: str, field: str | None = None,
               expected: Any = None, actual: Any = None) -> None:
        name = "recording segment" if entity == audited.SEGMENT_ENTITY else "recording gap"
        self.report.recording_issues.add(RecordingIssue(kind, entity, row_id, f"{name} #{row_id}{': ' if kind == RecordingProblem.ALTERED else ' '}{text}", field,
                                                        expected, actual))
