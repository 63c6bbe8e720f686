"""A person's data on request: everything held about one NIK, with the evidence of their entries.

Indonesia's Personal Data Protection law (UU No. 27 Tahun 2022) gives a person the right to see
what is held about them. For a NIK this gathers:

- the visits registered with it, every column;
- the standing authorisations that name it as a member (the authorisation and that member);
- the entry events about those visits: linked to one, reviewed as one, or whose cross-check
  verdict names one (a flagged entry says which visits it considered, by name), with their
  reviews and their evidence files' paths and SHA-256s as recorded;
- its entries on the persons watch list, removed ones too;
- the audit records about those visits and watch-list entries (who did what, when; their
  payloads stay in the trail).

``write_zip`` puts that as ``subject.json`` into a ZIP with the events' evidence files (under the
paths the events name, as the evidence export does) and a ``manifest.json`` of every file's
SHA-256 and size. ``record_access`` audits the look-up (``visits.subject_access``) with the NIK
masked: the trail never holds it in clear. Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from gatewatch.audit import trail
from gatewatch.audit.events import EVIDENCE_FIELDS
from gatewatch.crosscheck import wording
from gatewatch.crosscheck.service import MAX_VISIT_DAYS
from gatewatch.evidence.export import _copy_evidence, _ZipWriter
from gatewatch.evidence.files import atomic_file, resolve
from gatewatch.models.tables import AuditRecord, Authorisation, EntryEvent, Review, Visit, WatchlistPerson
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import members_of
from gatewatch.visitors.nik_display import masked_nik

FORMAT = "gatewatch-subject-access/1"
DATA_FILE = "subject.json"
MANIFEST = "manifest.json"
ACTION = "visits.subject_access"
#: How long before a check-in an entry may be that names the visit (the cover window is minutes).
_NAMED_BEFORE = timedelta(days=1)


@dataclass
class SubjectData:
    """What is held about one NIK."""

    nik: str
    visits: list[Visit] = field(default_factory=list)
    authorisations: list[tuple[Authorisation, list[dict[str, str]]]] = field(default_factory=list)
    events: list[EntryEvent] = field(default_factory=list)
    why: dict[int, list[str]] = field(default_factory=dict)  # event id: linked, reviewed, named
    reviews: list[Review] = field(default_factory=list)
    watchlist: list[WatchlistPerson] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"visits": len(self.visits), "authorisations": len(self.authorisations),
                "events": len(self.events), "reviews": len(self.reviews), "watchlist": len(self.watchlist),
                "audit_records": len(self.records)}


# --- gathering --------------------------------------------------------------------------------


def _names_visit(event: EntryEvent, visit_ids: set[int]) -> bool:
    """Whether the event's verdict names one of the visits: its cover, one it considered, or a watch-list entry."""
    try:
        items = json.loads(event.flag_items or "[]")
    except ValueError:
        return False
    for item in items:
        cover = item.get("cover") or {}
        if cover.get("type") == "visit" and cover.get("id") in visit_ids:
            return True
        if item.get("code") == "watchlist_person" and item.get("visit") in visit_ids:
            return True
    return False


def _events(session: Session, data: SubjectData) -> None:
    ids = {visit.id for visit in data.visits}
    if not ids:
        return
    why: dict[int, list[str]] = {}
    found: dict[int, EntryEvent] = {}
    for event in session.exec(select(EntryEvent).where(EntryEvent.visit_id.in_(ids))).all():
        found[event.id] = event
        why.setdefault(event.id, []).append("linked")
    data.reviews = list(session.exec(select(Review).where(Review.visit_id.in_(ids))).all())
    reviewed = {review.event_id for review in data.reviews}
    for event in session.exec(select(EntryEvent).where(EntryEvent.id.in_(reviewed))).all() if reviewed else []:
        found[event.id] = event
        why.setdefault(event.id, []).append("reviewed")
    for visit in data.visits:
        window = (EntryEvent.occurred_at >= visit.check_in_at - _NAMED_BEFORE,
                  EntryEvent.occurred_at <= visit.check_in_at + timedelta(days=MAX_VISIT_DAYS),
                  EntryEvent.flag_items.is_not(None))
        for event in session.exec(select(EntryEvent).where(*window)).all():
            if _names_visit(event, {visit.id}):
                found[event.id] = event
                if "named" not in why.setdefault(event.id, []):
                    why[event.id].append("named")
    data.events = sorted(found.values(), key=lambda e: (e.occurred_at, e.id))
    data.why = why
    # Every review of those events: what people decided about the entries is held about them too.
    known = {review.id for review in data.reviews}
    event_ids = [event.id for event in data.events]
    if event_ids:
        data.reviews += [r for r in session.exec(select(Review).where(Review.event_id.in_(event_ids))).all()
                         if r.id not in known]
    data.reviews.sort(key=lambda r: (r.at, r.id))


def gather(session: Session, nik: str) -> SubjectData:
    """Everything held about ``nik`` (validated), read in the caller's session."""
    data = SubjectData(nik)
    data.visits = list(session.exec(
        select(Visit).where(Visit.id_number == nik).order_by(Visit.check_in_at, Visit.id)).all())
    for authorisation in session.exec(select(Authorisation).where(Authorisation.members.contains(nik))
                                      .order_by(Authorisation.id)).all():
        mine = [member for member in members_of(authorisation) if member.get("id_number") == nik]
        if mine:
            data.authorisations.append((authorisation, mine))
    _events(session, data)
    data.watchlist = list(session.exec(
        select(WatchlistPerson).where(WatchlistPerson.nik == nik).order_by(WatchlistPerson.id)).all())
    about = [("visit", [v.id for v in data.visits]), ("watchlistperson", [w.id for w in data.watchlist]),
             ("authorisation", [a.id for a, _ in data.authorisations])]
    for entity, ids in about:
        if ids:
            data.records += session.exec(select(AuditRecord).where(
                AuditRecord.entity == entity, AuditRecord.entity_id.in_([str(i) for i in ids]))).all()
    data.records.sort(key=lambda r: (r.seq is None, r.seq or 0, r.id))
    return data


# --- as data and as text ----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _row(model: Any, *exclude: str) -> dict[str, Any]:
    return {name: _plain(value) for name, value in model.model_dump(exclude=set(exclude)).items()}


def _evidence(event: EntryEvent, data_dir: Path) -> list[dict[str, Any]]:
    """The event's evidence files as recorded: path, SHA-256, and whether the file is there now."""
    files = []
    for path_field, hash_field in EVIDENCE_FIELDS:
        path, sha256 = getattr(event, path_field), getattr(event, hash_field)
        if path or sha256:
            kind = path_field.removesuffix("_path")
            files.append({"kind": kind, "path": path, "sha256": sha256,
                          "present": resolve(data_dir, path) is not None})
    return files


def _flag_text(event: EntryEvent, settings: Settings) -> str:
    if not event.flag_items:
        return event.flag_detail or ""
    return wording.render_in(json.loads(event.flag_items), settings.language, settings.zone)


def as_dict(data: SubjectData, settings: Settings) -> dict[str, Any]:
    """Everything held, as JSON-ready values; times in UTC ISO 8601."""
    reviews: dict[int, list[dict[str, Any]]] = {}
    for review in data.reviews:
        reviews.setdefault(review.event_id, []).append(_row(review))
    return {
        "format": FORMAT,
        "nik": data.nik,
        "generated_at": utcnow().isoformat(),
        "timezone": settings.timezone,
        "counts": data.counts(),
        "visits": [_row(visit) for visit in data.visits],
        "authorisations": [{**_row(a, "members"), "members_named": mine} for a, mine in data.authorisations],
        "events": [{**_row(event), "why": data.why.get(event.id, []), "flag_text": _flag_text(event, settings),
                    "evidence": _evidence(event, settings.data_dir), "reviews": reviews.get(event.id, [])}
                   for event in data.events],
        "watchlist": [_row(entry) for entry in data.watchlist],
        "audit_records": [_row(record, "before", "after") for record in data.records],
    }


def _local(value: str | None, zone: tzinfo) -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def as_text(values: dict[str, Any], zone: tzinfo) -> str:
    """``as_dict``'s values as a plain report, times at the site."""
    lines = [f"Data held about NIK {values['nik']} ({values['generated_at'][:19]} UTC)", ""]
    counts = values["counts"]
    lines.append("; ".join(f"{name.replace('_', ' ')}: {count}" for name, count in counts.items()))
    if not (counts["visits"] or counts["authorisations"] or counts["watchlist"]):
        lines += ["", "Nothing is held about this NIK."]
        return "\n".join(lines)
    lines += ["", f"Visits ({counts['visits']}):"]
    for visit in values["visits"]:
        lines.append(f"  visit #{visit['id']}: checked in {_local(visit['check_in_at'], zone)}, "
                     f"checked out {_local(visit['checked_out_at'], zone)}")
        for name, value in visit.items():
            if name.endswith("_at") and value:
                value = _local(value, zone)
            lines.append(f"    {name}: {value if value not in (None, '') else '-'}")
    lines += ["", f"Authorisations naming this NIK ({counts['authorisations']}):"]
    for authorisation in values["authorisations"]:
        names = ", ".join(member["name"] for member in authorisation["members_named"])
        lines.append(f"  authorisation #{authorisation['id']} ({authorisation['holder']}): member {names}; "
                     f"{authorisation['valid_from']} to {authorisation['valid_until']}"
                     + (f", ended {_local(authorisation['ended_at'], zone)}" if authorisation["ended_at"] else ""))
    lines += ["", f"Entry events about these visits ({counts['events']}):"]
    for event in values["events"]:
        lines.append(f"  event #{event['id']}: {_local(event['occurred_at'], zone)}, gate {event['camera_id']}, "
                     f"{event['label']} {event['direction']}, {event['status']}"
                     + (f" ({event['flag']})" if event["flag"] else "")
                     + (f", linked to visit #{event['visit_id']}" if event["visit_id"] else "")
                     + f"; {', '.join(event['why'])}")
        for line in (event["flag_text"] or "").splitlines():
            lines.append(f"    {line}")
        for review in event["reviews"]:
            lines.append(f"    review {_local(review['at'], zone)} by {review['actor']}: {review['decision']}"
                         + (f": {review['note']}" if review["note"] else ""))
        for item in event["evidence"]:
            state = "" if item["present"] else " (file no longer there)"
            lines.append(f"    {item['kind']}: {item['path'] or '-'} sha256 {item['sha256'] or '-'}{state}")
        if event["evidence_expired_at"]:
            lines.append(f"    evidence deleted by retention {_local(event['evidence_expired_at'], zone)}")
    lines += ["", f"Persons watch list ({counts['watchlist']}):"]
    for entry in values["watchlist"]:
        removed = f", removed {_local(entry['removed_at'], zone)} by {entry['removed_by']}" if entry["removed_at"] else ""
        lines.append(f"  entry #{entry['id']}: {entry['reason']} (added {_local(entry['created_at'], zone)} "
                     f"by {entry['added_by']}{removed})")
    lines += ["", f"Audit records about them ({counts['audit_records']}):"]
    for record in values["audit_records"]:
        lines.append(f"  {_local(record['at'], zone)} {record['action']} {record['entity']} #{record['entity_id']} "
                     f"by {record['actor']} ({record['role']})")
    return "\n".join(lines)


# --- the ZIP and the audit record -------------------------------------------------------------


@dataclass(frozen=True)
class ZipSummary:
    path: Path
    files: int  # in the ZIP, besides the manifest
    evidence_files: int
    problems: list[str]  # evidence missing or not matching its recorded hash


def write_zip(data: SubjectData, values: dict[str, Any], output: Path, data_dir: Path) -> ZipSummary:
    """``values`` as ``subject.json``, the events' evidence files and ``manifest.json``, written atomically."""
    problems: list[str] = []
    with atomic_file(output) as handle, zipfile.ZipFile(handle, "w") as archive:
        out = _ZipWriter(archive, utcnow())
        for event in data.events:
            problems += _copy_evidence(out, event, data_dir)[1]
        evidence_files = len(out.files)
        out.add_bytes(DATA_FILE, (json.dumps(values, indent=2, ensure_ascii=False) + "\n").encode())
        manifest = {"format": FORMAT, "created_at": values["generated_at"], "evidence_problems": problems,
                    "files": out.files}
        out.add_bytes(MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), listed=False)
    return ZipSummary(output, len(out.files), evidence_files, problems)


def record_access(session: Session, data: SubjectData, *, actor: str, role: str, delivered: str,
                  file: str | None = None) -> AuditRecord:
    """Audit the look-up: who, how many records, the NIK masked, and how it was delivered."""
    after: dict[str, Any] = {"nik": masked_nik(data.nik), **data.counts(), "records": count_records(data),
                             "delivered": delivered}
    if file is not None:
        after["file"] = file
    return trail.record(session, actor=actor, role=role, action=ACTION, entity="subject",
                        entity_id=masked_nik(data.nik), after=after)


def count_records(data: SubjectData) -> int:
    """How many records the answer holds, all kinds together."""
    return sum(data.counts().values())


__all__ = ["ACTION", "DATA_FILE", "FORMAT", "MANIFEST", "SubjectData", "ZipSummary", "as_dict", "as_text",
           "count_records", "gather", "record_access", "write_zip"]
