"""Checking that nothing was changed afterwards: the audit chain, the event rows and the evidence files.

``verify_integrity`` walks the audit chain in ``seq`` order and locates every break: a record
whose content no longer hashes to its ``sha256`` (a field changed), a ``prev_sha256`` that does
not name its predecessor (a record rewritten with a recomputed hash), a gap in ``seq`` (records
deleted) and records standing in another place than the one they were chained in (reordered).
From the same pass it knows what every event looked like when stored (its ``event.recorded``
record) and every audited change since (reviews, automatic resolutions, retention), and
compares each event row and each evidence file with that. A file deleted by retention is
reported as expired, not missing: retention's audit record says so. Continuous recording's
segments and gaps are checked the same way, in the same pass (``segment_integrity``).

The chain covers each record's payload digests, not its payloads (``gatewatch.audit.payloads``):
each payload field is checked against its digest, and one changed is reported as altered,
naming it. A personal field gone from a payload is erased on the record when a later
``personal.erased`` record names it (retention), and altered ("erased without record") otherwise.

Only one check runs at a time, from the web or the command line: ``verify_integrity_exclusive``
holds the database lock ``integrity`` (``gatewatch.models.locks``) while it walks, and raises
``LockBusy`` when another check holds it.

Events stored before the chain existed have no ``event.recorded`` record; ``seal_events``
records them as they stand now, under the name of whoever seals them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.audit import payloads, trail
from gatewatch.audit.erasure import ErasureLedger
from gatewatch.audit.events import (
    AUDITED_EVENT_FIELDS,
    EVIDENCE_FIELDS,
    EVIDENCE_PATH_FIELDS,
    FIXED_EVENT_FIELDS,
    RECORDED_ACTIONS,
    record_event,
)
from gatewatch.evidence.files import file_sha256, resolve
from gatewatch.models import locks
from gatewatch.models.db import session_scope
from gatewatch.models.tables import AuditChainHead, AuditRecord, EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings

#: Each kind of finding is listed this many times at most; the rest are counted.
ISSUE_LIMIT = 500
#: The lock a check holds: one check at a time across every web server and the command line.
LOCK = "integrity"
LOCK_TTL = timedelta(minutes=2)
_CHECKED_EVENT_FIELDS = (*FIXED_EVENT_FIELDS, *AUDITED_EVENT_FIELDS)


class ChainProblem(StrEnum):
    CONTENT = "content_mismatch"  # the record's fields no longer hash to its sha256
    LINK = "broken_link"  # prev_sha256 is not the previous record's sha256
    MISSING = "missing"  # positions absent from the chain: records deleted
    REORDERED = "reordered"  # the record was chained at another position or under another id
    UNCHAINED = "unchained"  # a record with no place in the chain
    HEAD = "head_mismatch"  # the chain head row disagrees with the newest record
    PAYLOAD = "payload_altered"  # a payload field no longer matches its chained digest
    ERASED_UNRECORDED = "erased_without_record"  # a personal field gone with no erasure record naming it


class EventProblem(StrEnum):
    UNRECORDED = "unrecorded"  # no event.recorded record: stored outside the application, or before the chain
    ALTERED = "altered"  # a field differs from what the audit trail says
    DELETED = "deleted"  # recorded, but the row is gone
    RECORDED_TWICE = "recorded_twice"


class FileProblem(StrEnum):
    MISSING = "missing"
    ALTERED = "altered"
    UNHASHED = "unhashed"  # recorded without a hash (sealed while the file was missing)


@dataclass(frozen=True)
class ChainIssue:
    kind: ChainProblem
    record_id: int | None
    seq: int | None
    message: str
    field: str | None = None  # a payload's: "after.id_number"; "after.*" for the fields without a digest of their own


@dataclass(frozen=True)
class EventIssue:
    kind: EventProblem
    event_id: int
    message: str
    field: str | None = None
    expected: Any = None
    actual: Any = None


@dataclass(frozen=True)
class FileIssue:
    kind: FileProblem
    event_id: int
    path: str
    expected_sha256: str | None
    actual_sha256: str | None

    @property
    def message(self) -> str:
        if self.kind == FileProblem.MISSING:
            return f"event #{self.event_id}: {self.path} is missing (expected SHA-256 {self.expected_sha256})"
        if self.kind == FileProblem.UNHASHED:
            return f"event #{self.event_id}: {self.path} has no recorded hash to check it against"
        return (f"event #{self.event_id}: {self.path} was altered: expected SHA-256 {self.expected_sha256}, "
                f"found {self.actual_sha256}")


@dataclass(frozen=True)
class ExpiredFile:
    event_id: int
    path: str
    sha256: str | None
    expired_at: str  # as the audit trail recorded it, ISO 8601 UTC


@dataclass
class IssueList:
    """Findings of one kind, the first ``ISSUE_LIMIT`` kept, all counted."""

    items: list[Any] = field(default_factory=list)
    total: int = 0

    def add(self, item: Any) -> None:
        self.total += 1
        if len(self.items) < ISSUE_LIMIT:
            self.items.append(item)


@dataclass
class IntegrityReport:
    checked_at: datetime
    records: int = 0
    head_seq: int = 0
    head_sha256: str = trail.GENESIS_SHA256
    events: int = 0
    files_checked: bool = True
    files: int = 0
    chain: IssueList = field(default_factory=IssueList)
    event_issues: IssueList = field(default_factory=IssueList)
    file_issues: IssueList = field(default_factory=IssueList)
    expired: IssueList = field(default_factory=IssueList)  # not a problem: deleted by retention, as recorded
    segments: int = 0  # continuous recording's segments and gaps checked (their files count in ``files``)
    gaps: int = 0
    recording_issues: IssueList = field(default_factory=IssueList)  # segment and gap rows
    expired_segments: IssueList = field(default_factory=IssueList)  # segment files gone on the record (retention, restore)
    erased_fields: int = 0  # personal fields gone from payloads, each named by an erasure record: not a problem

    @property
    def ok(self) -> bool:
        return not (self.chain.total or self.event_issues.total or self.file_issues.total
                    or self.recording_issues.total)

    @property
    def first_break(self) -> ChainIssue | None:
        return self.chain.items[0] if self.chain.items else None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for ``--json`` and the web page."""
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        data["ok"] = self.ok
        for name in ("chain", "event_issues", "file_issues", "recording_issues"):
            for item, issue in zip(data[name]["items"], getattr(self, name).items, strict=True):
                item["message"] = issue.message
        return data

    def lines(self) -> list[str]:
        """The report as text, problems first."""
        out = [f"audit chain: {self.records} records, head seq {self.head_seq} sha256 {self.head_sha256}"]
        for title, issues in (("chain", self.chain), ("events", self.event_issues), ("files", self.file_issues),
                              ("recordings", self.recording_issues)):
            out += [f"  {title}: {issue.message}" for issue in issues.items]
            if issues.total > len(issues.items):
                out.append(f"  {title}: ... and {issues.total - len(issues.items)} more")
        files = f"{self.files} evidence files" if self.files_checked else "evidence files not checked"
        out.append(f"events: {self.events} checked; {files}; {self.expired.total} files deleted by retention")
        out.append(f"payloads: {self.erased_fields} personal fields erased on the record (retention)")
        out.append(f"recordings: {self.segments} segments and {self.gaps} gaps checked; "
                   f"{self.expired_segments.total} segment files gone on the record (retention, or left out "
                   "of a restored backup)")
        if self.chain.items:
            first = self.chain.items[0]
            out.append(f"FIRST BREAK: record id {first.record_id} (seq {first.seq}): {first.kind}")
        out.append("OK: the records and evidence are as written" if self.ok else
                   f"FAILED: {self.chain.total} chain, {self.event_issues.total} event, "
                   f"{self.file_issues.total} file and {self.recording_issues.total} recording problems")
        return out


# --- the chain --------------------------------------------------------------------------------


def _where(row: Mapping[str, Any]) -> str:
    return f"record id {row['id']} (seq {row['seq']})"


class _ChainWalk:
    """Checks records one by one in ``seq`` order, remembering only the previous one."""

    def __init__(self, report: IntegrityReport, lookup: Callable[[str], Mapping[str, Any] | None]) -> None:
        self.report = report
        self.lookup = lookup  # a record by its sha256
        self.previous: Mapping[str, Any] | None = None
        self.expected_seq = 1

    def add(self, row: Mapping[str, Any]) -> None:
        self.report.records += 1
        previous, expected_seq = self.previous, self.expected_seq
        expected_link = previous["sha256"] if previous else trail.GENESIS_SHA256
        content_ok = trail.record_digest(row) == row["sha256"]
        if row["seq"] > expected_seq:
            after = f"after {_where(previous)}" if previous else "at the start"
            self._issue(ChainProblem.MISSING, row, f"seq {expected_seq}..{row['seq'] - 1} missing {after}, "
                                                   f"before {_where(row)}: records were deleted")
        elif row["prev_sha256"] != expected_link and self._link_problem(row, previous, content_ok):
            content_ok = True  # the reorder explains the content: its seq or id changed
        if not content_ok and not self._renumbered(row, previous):
            self._issue(ChainProblem.CONTENT, row, f"{_where(row)}: its fields hash to "
                        f"{trail.record_digest(row)}, not to its sha256 {row['sha256']}: a field was changed")
        self.previous, self.expected_seq = row, max(expected_seq, row["seq"] + 1)

    def _link_problem(self, row: Mapping[str, Any], previous: Mapping[str, Any] | None, content_ok: bool) -> bool:
        """Report a prev_sha256 that does not name the previous record; True when it was a reorder."""
        target = self.lookup(row["prev_sha256"])
        before = _where(previous) if previous else "the start of the chain"
        if target is not None and (previous is None or target["id"] != previous["id"]):
            moved = "this record was moved" if not content_ok else "the records before it were reordered"
            self._issue(ChainProblem.REORDERED, row, f"{_where(row)} stands after {before} but was chained "
                        f"after {_where(target)}: {moved}")
            return True
        culprit = f"{_where(previous)} was rewritten with a recomputed hash" if previous else "the first record was"
        self._issue(ChainProblem.LINK, row, f"{_where(row)}: prev_sha256 {row['prev_sha256']} is not the hash "
                    f"{previous['sha256'] if previous else trail.GENESIS_SHA256} of {before}: {culprit}, "
                    f"or this link was changed" + ("" if content_ok else " (and this record's fields too)"))
        return False

    def _renumbered(self, row: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bool:
        """A record whose content hashes right under another id it plausibly had: ids were swapped."""
        for candidate in {row["seq"], (previous["id"] + 1) if previous else 1} - {row["id"]}:
            if trail.record_digest({**row, "id": candidate}) == row["sha256"]:
                self._issue(ChainProblem.REORDERED, row, f"{_where(row)} was written as record id {candidate}: "
                                                         "records were renumbered or swapped")
                return True
        return False

    def finish(self, head: AuditChainHead | None) -> None:
        last = self.previous
        last_seq, last_sha = (last["seq"], last["sha256"]) if last else (0, trail.GENESIS_SHA256)
        self.report.head_seq, self.report.head_sha256 = last_seq, last_sha
        if head is None:
            self._issue(ChainProblem.HEAD, last, "the chain head row is missing")
        elif head.seq > last_seq:
            self._issue(ChainProblem.MISSING, last, f"seq {last_seq + 1}..{head.seq} missing at the end: the chain "
                                                    f"head names {head.seq} records: the newest records were deleted")
        elif (head.seq, head.sha256) != (last_seq, last_sha):
            self._issue(ChainProblem.HEAD, last, f"the chain head names seq {head.seq} sha256 {head.sha256}, "
                                                 f"the newest record is seq {last_seq} sha256 {last_sha}")

    def _issue(self, kind: ChainProblem, row: Mapping[str, Any] | None, message: str) -> None:
        self.report.chain.add(ChainIssue(kind, row["id"] if row else None, row["seq"] if row else None, message))


class _PayloadCheck:
    """Checks each record's payloads against its chained digests, and matches erased fields with erasures."""

    def __init__(self, report: IntegrityReport) -> None:
        self.report = report
        self.erasures = ErasureLedger()

    def add(self, row: Mapping[str, Any]) -> None:
        for finding in payloads.check(row):
            name = f"{finding.side}.{finding.field}"
            if finding.state == payloads.FieldState.MISSING:
                self.erasures.missing(row, finding.side, finding.field)
            elif finding.field == payloads.REST:
                self._issue(ChainProblem.PAYLOAD, row, name, f"{_where(row)}: its {finding.side} fields other than the "
                            "personal ones are not what the chain says: the payload was altered")
            else:
                what = "was added" if finding.state == payloads.FieldState.ADDED else "was altered"
                self._issue(ChainProblem.PAYLOAD, row, name,
                            f"{_where(row)}: {finding.side} field {finding.field} {what}: it is not what the chain says")
        self.erasures.add(row)

    def finish(self) -> None:
        self.report.erased_fields = self.erasures.erased
        for where, side, name in self.erasures.unexplained():
            self._issue(ChainProblem.ERASED_UNRECORDED, where, f"{side}.{name}",
                        f"{_where(where)}: {side} field {name} is gone, but no erasure record names it: "
                        "the payload was altered")

    def _issue(self, kind: ChainProblem, row: Mapping[str, Any], name: str, message: str) -> None:
        self.report.chain.add(ChainIssue(kind, row["id"], row["seq"], message, name))


# --- events and files -------------------------------------------------------------------------


def canonical_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as they compare with what an audit record holds: through the same canonical JSON."""
    return json.loads(trail.canonical_json(dict(values)) or "{}")


@dataclass
class _Recorded:
    record_id: int
    expected: dict[str, Any]  # every checked field, as the audit trail says it is now
    files: list[tuple[str, str | None]]  # (path, sha256) as stored


class _EventLedger:
    """What the audit trail says each event is, built from its records in chain order."""

    def __init__(self, report: IntegrityReport) -> None:
        self.report = report
        self.events: dict[int, _Recorded] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        if row["entity"] != "event" or not str(row["entity_id"]).isdigit():
            return
        event_id = int(row["entity_id"])
        after = json.loads(row["after"]) if row["after"] else {}
        known = self.events.get(event_id)
        if row["action"] in RECORDED_ACTIONS:
            if known is not None:
                self.report.event_issues.add(EventIssue(EventProblem.RECORDED_TWICE, event_id,
                                             f"event #{event_id} is recorded by record id {known.record_id} "
                                             f"and again by record id {row['id']}"))
                return
            files = [(after[p], after.get(h)) for p, h in EVIDENCE_FIELDS if after.get(p)]
            self.events[event_id] = _Recorded(row["id"], after, files)
        elif known is not None:
            known.expected.update({name: after[name] for name in AUDITED_EVENT_FIELDS if name in after})

    def check(self, event: Mapping[str, Any], data_dir: Path, check_files: bool) -> None:
        self.report.events += 1
        event_id = event["id"]
        recorded = self.events.pop(event_id, None)
        if recorded is None:
            self.report.event_issues.add(EventIssue(EventProblem.UNRECORDED, event_id,
                                         f"event #{event_id} has no event.recorded audit record: stored outside "
                                         "the application, or before the chain (`gatewatch audit seal`)"))
            return
        actual = canonical_values({name: event[name] for name in _CHECKED_EVENT_FIELDS})
        for name in _CHECKED_EVENT_FIELDS:
            if name in recorded.expected and actual[name] != recorded.expected[name]:
                self.report.event_issues.add(EventIssue(
                    EventProblem.ALTERED, event_id, f"event #{event_id}: {name} is {actual[name]!r}, but the audit "
                    f"trail says {recorded.expected[name]!r}", name, recorded.expected[name], actual[name]))
        if check_files:
            for path, sha256 in recorded.files:
                self._check_file(event_id, path, sha256, recorded.expected, data_dir)

    def _check_file(self, event_id: int, path: str, sha256: str | None, expected: Mapping[str, Any],
                    data_dir: Path) -> None:
        self.report.files += 1
        found = resolve(data_dir, path)
        expired_at = expected.get("evidence_expired_at")
        if found is None:
            if expired_at and path not in {expected.get(path_field) for path_field in EVIDENCE_PATH_FIELDS}:
                self.report.expired.add(ExpiredFile(event_id, path, sha256, expired_at))
            else:
                self.report.file_issues.add(FileIssue(FileProblem.MISSING, event_id, path, sha256, None))
            return
        if sha256 is None:
            self.report.file_issues.add(FileIssue(FileProblem.UNHASHED, event_id, path, None, None))
            return
        actual = file_sha256(found)
        if actual != sha256:
            self.report.file_issues.add(FileIssue(FileProblem.ALTERED, event_id, path, sha256, actual))

    def finish(self) -> None:
        for event_id, recorded in sorted(self.events.items()):
            self.report.event_issues.add(EventIssue(EventProblem.DELETED, event_id,
                                         f"event #{event_id} was recorded by record id {recorded.record_id} "
                                         "but its row is gone"))


# --- the whole check --------------------------------------------------------------------------


def _stream(session: Session, query: sa.Select[Any]) -> Iterator[Mapping[str, Any]]:
    yield from session.execute(query.execution_options(yield_per=1000)).mappings()


def verify_integrity(engine: sa.Engine, settings: Settings, *, check_files: bool = True) -> IntegrityReport:
    """Walk the audit chain, the events, the recordings and (unless ``check_files`` is False) their files."""
    from gatewatch.evidence.segment_integrity import RecordingLedger  # it builds on this module's report

    report = IntegrityReport(checked_at=utcnow(), files_checked=check_files)
    records = AuditRecord.__table__
    with Session(engine) as session, engine.connect() as lookups:
        def by_hash(sha256: str) -> Mapping[str, Any] | None:
            found = lookups.execute(sa.select(records).where(records.c.sha256 == sha256).limit(1)).mappings()
            return found.first()

        walk, ledger, recordings = _ChainWalk(report, by_hash), _EventLedger(report), RecordingLedger(report)
        contents = _PayloadCheck(report)
        for row in _stream(session, sa.select(records).where(records.c.seq.is_not(None)).order_by(records.c.seq)):
            walk.add(row)
            contents.add(row)
            ledger.add(row)
            recordings.add(row)
        walk.finish(session.get(AuditChainHead, 1))
        contents.finish()
        for row in _stream(session, sa.select(records).where(records.c.seq.is_(None)).order_by(records.c.id)):
            report.chain.add(ChainIssue(ChainProblem.UNCHAINED, row["id"], None,
                                        f"record id {row['id']} has no place in the chain: it was inserted "
                                        "around the application, or its seq was cleared"))
        events = EntryEvent.__table__
        for row in _stream(session, sa.select(events).order_by(events.c.id)):
            ledger.check(row, settings.data_dir, check_files)
        ledger.finish()
        recordings.check(session, settings.data_dir, check_files)
    return report


def verify_integrity_exclusive(engine: sa.Engine, settings: Settings, *, check_files: bool = True,
                               holder: str = "integrity check") -> IntegrityReport:
    """``verify_integrity`` holding the ``integrity`` lock; LockBusy (naming the holder) when a check runs."""
    with locks.held(engine, LOCK, locks.new_holder(holder), LOCK_TTL):
        return verify_integrity(engine, settings, check_files=check_files)


def seal_events(engine: sa.Engine, settings: Settings, *, actor: str, role: str) -> int:
    """Record (``event.sealed``) every event that has no ``event.recorded`` record, as it stands now.

    For events stored before the chain existed: their files are hashed now, and the audit
    record says who vouched for them and when. Returns how many were sealed.
    """
    recorded = sa.exists().where(
        AuditRecord.entity == "event",
        AuditRecord.action.in_(RECORDED_ACTIONS),
        AuditRecord.entity_id == sa.cast(EntryEvent.id, sa.String),
    )
    with session_scope(engine) as session:
        events = session.exec(select(EntryEvent).where(~recorded).order_by(EntryEvent.id)).all()
        for event in events:
            for path_field, hash_field in EVIDENCE_FIELDS:
                found = resolve(settings.data_dir, getattr(event, path_field))
                if found is not None and getattr(event, hash_field) is None:
                    setattr(event, hash_field, file_sha256(found))
            record_event(session, event, action="event.sealed", actor=actor, role=role)
    return len(events)
