"""Evidence export: one signed ZIP an auditor can check on any machine with the installation's public key.

What the ZIP holds:

- ``events.csv``/``.json``, ``reviews``, ``visits``, ``authorisations`` (those the events link
  to, NIKs masked by ``visitors.nik_display``) and ``audit`` (the audit records about all of
  these, with their chain fields);
- ``evidence/...``: the snapshots, clips and boxes JSON files, under the paths the events name:
  a clip as stored (for a copied clip, the camera's own packets) and the boxes drawn over it;
- ``annotated/event-<id>.mp4``, when asked for (``annotated``): each event's clip with its boxes
  and gate line drawn in, made at export time (``gatewatch.evidence.annotated``); a derivative
  beside the original, named in the events table's ``annotated_clip``;
- ``report.html``: the flagged entries and what became of them, readable offline (inline CSS,
  images from the ZIP's own ``evidence/`` folder once unpacked);
- ``manifest.json``: the selection, the audit chain head at export time, the signer's public
  key and the SHA-256 and size of every other file; ``manifest.json.sig``: the base64 Ed25519
  signature of ``manifest.json``'s bytes by the installation's key (``gatewatch.evidence.signing``).

The ``.csv`` tables escape text that a spreadsheet would run as a formula
(``gatewatch.models.spreadsheet``); the ``.json`` tables keep every value as stored.

``verify_export`` checks the signature, every file's hash, and that no file was added or
removed; each problem names the file. The ZIP may come from anyone, so no member is read
beyond a limit of its kind (``MAX_MANIFEST_BYTES``, ``MAX_SIGNATURE_BYTES``,
``MAX_MEMBER_BYTES``): a member declaring more is reported too large without being read, and
one decompressing to more than it declares is caught by counting the bytes as they come.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, SQLModel, select

from gatewatch.audit import trail
from gatewatch.audit.events import EVIDENCE_FIELDS, RECORDED_ACTIONS
from gatewatch.crosscheck import wording
from gatewatch.evidence.annotated import Renditions, zip_name
from gatewatch.evidence.files import atomic_file, resolve
from gatewatch.evidence.signing import (
    SigningKeyError,
    fingerprint,
    installation_key,
    load_public_key,
    public_key_text,
    raw_public_key,
    verify_signature,
)
from gatewatch.models.db import session_scope
from gatewatch.models.spreadsheet import safe_dict
from gatewatch.models.tables import (
    AuditChainHead,
    AuditRecord,
    Authorisation,
    Camera,
    EntryEvent,
    Review,
    Visit,
)
from gatewatch.models.types import utcnow
from gatewatch.settings import Settings
from gatewatch.visitors.nik_display import masked_members, with_masked_nik

FORMAT = "gatewatch-evidence-export/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
_CHUNK = 500  # ids per IN (...) query
MEGABYTE = 1 << 20
#: The most ``verify_export`` reads of the manifest: ours are a few MB for tens of thousands of files.
MAX_MANIFEST_BYTES = 64 * MEGABYTE
#: The most it reads of the signature file: base64 of 64 bytes and a newline.
MAX_SIGNATURE_BYTES = 4096
#: The most it hashes of any other member: a clip is tens of MB, a table a few hundred.
MAX_MEMBER_BYTES = 2048 * MEGABYTE
#: ``create_export``'s progress: called with (items done, items in all) as the evidence is copied.
Progress = Callable[[int, int], None]


class ExportError(Exception):
    """The export cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class ExportSelection:
    """A period (``since`` included, ``until`` excluded) and optionally a camera, or a list of event ids."""

    since: datetime | None = None
    until: datetime | None = None
    camera_id: str | None = None
    event_ids: tuple[int, ...] = ()

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        if self.event_ids:
            return [EntryEvent.id.in_(self.event_ids)]
        if self.since is None or self.until is None:
            raise ExportError("choose a period (from and to) or a list of event ids")
        if self.since >= self.until:
            raise ExportError("the period ends before it starts")
        where = [EntryEvent.occurred_at >= self.since, EntryEvent.occurred_at < self.until]
        if self.camera_id:
            where.append(EntryEvent.camera_id == self.camera_id)
        return where

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExportSelection:
        """The selection ``as_dict`` gave."""
        since, until = values.get("since"), values.get("until")
        return cls(since=datetime.fromisoformat(since) if since else None,
                   until=datetime.fromisoformat(until) if until else None,
                   camera_id=values.get("camera_id"), event_ids=tuple(values.get("event_ids") or ()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "camera_id": self.camera_id,
            "event_ids": list(self.event_ids),
        }


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    events: int
    flagged: int
    files: int
    manifest_sha256: str
    signer: str  # key fingerprint
    evidence_problems: list[str]  # evidence that no longer matches what was recorded, or is missing
    annotated: int = 0  # annotated renditions in the ZIP
    annotation_problems: list[str] = field(default_factory=list)  # events that got none, and why


# --- reading what goes in ---------------------------------------------------------------------


def _where_in(session: Session, model: type[SQLModel], column: Any, values: Iterable[Any], *extra: Any) -> list[Any]:
    wanted = sorted(set(values) - {None})
    found: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        found += session.exec(select(model).where(column.in_(wanted[start:start + _CHUNK]), *extra)).all()
    return found


@dataclass
class _Contents:
    events: Sequence[EntryEvent]
    reviews: list[Review]
    visits: list[Visit]
    authorisations: list[Authorisation]
    records: list[AuditRecord]
    head: AuditChainHead | None

    def event_records(self) -> dict[int, list[AuditRecord]]:
        """The audit records about each event, in chain order."""
        found: dict[int, list[AuditRecord]] = defaultdict(list)
        for record in self.records:
            if record.entity == "event":
                found[int(record.entity_id)].append(record)
        return found


def check_selection(session: Session, selection: ExportSelection) -> None:
    """Raise ExportError when the selection cannot be exported (no such camera or event, a wrong
    period), reading only ids: what a background export checks before it is queued."""
    if selection.camera_id and session.get(Camera, selection.camera_id) is None:
        raise ExportError(f"there is no camera {selection.camera_id!r}")
    conditions = selection.conditions()
    if selection.event_ids:
        found = set(session.exec(select(EntryEvent.id).where(*conditions)).all())
        unknown = sorted(set(selection.event_ids) - found)
        if unknown:
            raise ExportError(f"there is no event {', '.join(f'#{i}' for i in unknown)}")


def _read_contents(session: Session, selection: ExportSelection) -> _Contents:
    if selection.camera_id and session.get(Camera, selection.camera_id) is None:
        raise ExportError(f"there is no camera {selection.camera_id!r}")
    events = session.exec(
        select(EntryEvent).where(*selection.conditions()).order_by(EntryEvent.occurred_at, EntryEvent.id)
    ).all()
    unknown = sorted(set(selection.event_ids) - {e.id for e in events})
    if unknown:
        raise ExportError(f"there is no event {', '.join(f'#{i}' for i in unknown)}")
    event_ids = [e.id for e in events]
    reviews = sorted(_where_in(session, Review, Review.event_id, event_ids), key=lambda r: (r.at, r.id))
    visit_ids = {e.visit_id for e in events} | {r.visit_id for r in reviews}
    visits = sorted(_where_in(session, Visit, Visit.id, visit_ids), key=lambda v: v.id)
    authorisations = sorted(_where_in(session, Authorisation, Authorisation.id, {e.authorisation_id for e in events}),
                            key=lambda a: a.id)
    records: list[AuditRecord] = []
    for entity, ids in (("event", event_ids), ("visit", [v.id for v in visits]),
                        ("authorisation", [a.id for a in authorisations])):
        records += _where_in(session, AuditRecord, AuditRecord.entity_id, map(str, ids), AuditRecord.entity == entity)
    records.sort(key=lambda r: (r.seq is None, r.seq or 0, r.id))
    return _Contents(events, reviews, visits, authorisations, records, session.get(AuditChainHead, 1))


# --- writing ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):  # an authorisation's dates and daily hours too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=_plain) + "\n").encode()


def _csv_bytes(rows: list[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(safe_dict({k: "" if v is None else v.isoformat() if isinstance(v, datetime) else v
                                   for k, v in row.items()}))
    return ("\ufeff" + buffer.getvalue()).encode()  # the byte-order mark makes spreadsheets read UTF-8


class _ZipWriter:
    """Writes members and remembers each one's SHA-256 and size for the manifest."""

    def __init__(self, archive: zipfile.ZipFile, when: datetime) -> None:
        self.archive = archive
        self.date_time = when.timetuple()[:6]
        self.files: dict[str, dict[str, Any]] = {}

    def _info(self, name: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def add_bytes(self, name: str, data: bytes, *, listed: bool = True) -> None:
        """Write ``data`` as ``name``; ``listed=False`` for the manifest and its signature."""
        self.archive.writestr(self._info(name, compress=True), data)
        if listed:
            self.files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def add_file(self, name: str, source: Path) -> str:
        """Copy ``source`` in as ``name`` (stored: JPEG and H.264 are compressed already); its SHA-256."""
        digest, size = hashlib.sha256(), 0
        with open(source, "rb") as src, self.archive.open(self._info(name, compress=False), "w", force_zip64=True) as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
                size += len(block)
        self.files[name] = {"sha256": digest.hexdigest(), "bytes": size}
        return digest.hexdigest()

    def add_table(self, name: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
        self.add_bytes(f"{name}.json", _json_bytes(rows))
        self.add_bytes(f"{name}.csv", _csv_bytes(rows, columns))


def _copy_evidence(out: _ZipWriter, event: EntryEvent, data_dir: Path) -> tuple[str, list[str]]:
    """Put the event's files in the ZIP; returns the evidence status and the problems found."""
    if event.evidence_expired_at is not None:
        return "expired", []
    problems, copied = [], 0
    root = data_dir.resolve()
    for path_field, hash_field in EVIDENCE_FIELDS:
        relative, expected = getattr(event, path_field), getattr(event, hash_field)
        if not relative:
            continue
        found = resolve(data_dir, relative)
        if found is None:
            problems.append(f"event #{event.id}: {relative} is missing")
            continue
        actual = out.add_file(found.relative_to(root).as_posix(), found)
        copied += 1
        if expected is None:
            problems.append(f"event #{event.id}: {relative} has no recorded hash")
        elif actual != expected:
            problems.append(f"event #{event.id}: {relative} differs from the file recorded (SHA-256 {expected})")
    if problems:
        return "PROBLEM", problems
    return ("verified" if copied else "none"), []


def _flag_text(event: EntryEvent, settings: Settings) -> str:
    """Why the event is flagged, worded in the site's language; events stored before verdicts were
    kept as items have their English text."""
    if not event.flag_items:
        return event.flag_detail or ""
    return wording.render_in(json.loads(event.flag_items), settings.language, settings.zone)


def _rows(models: Sequence[SQLModel]) -> list[dict[str, Any]]:
    return [model.model_dump() for model in models]


def _columns(model: type[SQLModel], *extra: str) -> list[str]:
    return [*model.model_fields, *extra]


def create_export(
    engine: sa.Engine,
    settings: Settings,
    selection: ExportSelection,
    output: Path,
    *,
    actor: str,
    role: str,
    progress: Progress | None = None,
    annotated: Renditions | None = None,
) -> ExportSummary:
    """Write the signed ZIP to ``output`` (atomically) and audit ``evidence.exported``.

    ``progress`` is told (events done, events in all) after each event's evidence is copied.
    ``annotated``: the renditions made for this export (``annotated.render_renditions``), put in
    the ZIP under ``annotated/``; None for none.
    """
    try:
        key = installation_key(settings.data_dir)
    except SigningKeyError as exc:
        raise ExportError(str(exc)) from None
    created = utcnow()
    with Session(engine) as session:
        contents = _read_contents(session, selection)
    with atomic_file(output) as handle, zipfile.ZipFile(handle, "w") as archive:
        out = _ZipWriter(archive, created)
        evidence: dict[int, str] = {}
        renditions: dict[int, str] = {}
        problems: list[str] = []
        total = len(contents.events)
        if progress is not None:
            progress(0, total)
        for done, event in enumerate(contents.events, 1):
            evidence[event.id], found = _copy_evidence(out, event, settings.data_dir)
            problems += found
            rendition = annotated.file(event.id) if annotated is not None else None
            if rendition is not None:
                out.add_file(zip_name(event.id), rendition)
                renditions[event.id] = zip_name(event.id)
            if progress is not None:
                progress(done, total)
        events = [{**row, "evidence_check": evidence[row["id"]], "flag_text": _flag_text(event, settings),
                   "annotated_clip": renditions.get(event.id)}
                  for row, event in zip(_rows(contents.events), contents.events, strict=True)]
        out.add_table("events", events, _columns(EntryEvent, "evidence_check", "flag_text", "annotated_clip"))
        out.add_table("reviews", _rows(contents.reviews), _columns(Review))
        # An export leaves the installation: NIKs in it are masked, whoever makes it (nik_display).
        out.add_table("visits", [with_masked_nik(row) for row in _rows(contents.visits)], _columns(Visit))
        out.add_table("authorisations", [{**row, "members": masked_members(row["members"])}
                                          for row in _rows(contents.authorisations)], _columns(Authorisation))
        out.add_table("audit", _rows(contents.records), _columns(AuditRecord))
        flagged = _flagged_entries(contents, evidence, settings)
        public = key.public_key()
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat(),
            "created_by": actor,
            "timezone": settings.timezone,
            "selection": selection.as_dict(),
            "counts": {"events": len(contents.events), "flagged_entries": len(flagged),
                       "reviews": len(contents.reviews), "audit_records": len(contents.records)},
            "audit_chain_head": {"seq": contents.head.seq if contents.head else 0,
                                 "sha256": contents.head.sha256 if contents.head else trail.GENESIS_SHA256},
            "evidence_problems": problems,
            "annotated": None if annotated is None else {"clips": len(renditions), "problems": annotated.problems},
            "signer": {"algorithm": "Ed25519", "public_key": public_key_text(public),
                       "fingerprint": fingerprint(public)},
        }
        out.add_bytes("report.html", _report_html(contents, flagged, manifest, settings).encode())
        manifest["files"] = out.files
        manifest_bytes = _json_bytes(manifest)
        out.add_bytes(MANIFEST, manifest_bytes, listed=False)
        out.add_bytes(SIGNATURE, base64.b64encode(key.sign(manifest_bytes)) + b"\n", listed=False)
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    with session_scope(engine) as session:
        trail.record(session, actor=actor, role=role, action="evidence.exported", entity="export",
                     entity_id=manifest_sha256, after={"file": output.name, "selection": selection.as_dict(),
                                                       "events": len(contents.events), "files": len(out.files),
                                                       "signer": fingerprint(public)})
    return ExportSummary(output, len(contents.events), len(flagged), len(out.files), manifest_sha256,
                         fingerprint(public), problems, len(renditions),
                         list(annotated.problems) if annotated is not None else [])


# --- the report -------------------------------------------------------------------------------


@dataclass
class _Flagged:
    event: EntryEvent
    first_flag: str | None
    evidence: str
    reviews: list[Review] = field(default_factory=list)
    automatic: list[tuple[datetime, str]] = field(default_factory=list)  # when, what explained it
    visit: Visit | None = None
    text: str = ""  # the latest verdict, worded in the site's language


def _explained_by(record: AuditRecord) -> str:
    after = json.loads(record.after or "{}")
    if after.get("visit_id"):
        return f"visit #{after['visit_id']}"
    return f"authorisation #{after.get('authorisation_id')}"


def _flagged_entries(contents: _Contents, evidence: dict[int, str], settings: Settings) -> list[_Flagged]:
    """Entries the cross-check flagged, now or when stored, with what happened to them."""
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in contents.reviews:
        reviews[review.event_id].append(review)
    visits = {v.id: v for v in contents.visits}
    event_records = contents.event_records()
    flagged = []
    for event in contents.events:
        records = event_records[event.id]
        first = next((json.loads(r.after or "{}").get("flag") for r in records if r.action in RECORDED_ACTIONS), None)
        if not (event.flag or first):
            continue
        automatic = [(r.at, _explained_by(r)) for r in records if r.action == "event.auto_resolved"]
        flagged.append(_Flagged(event, first or event.flag, evidence[event.id], reviews[event.id], automatic,
                                visits.get(event.visit_id), _flag_text(event, settings)))
    return flagged


_REPORT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gatewatch evidence export {{ created }}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:78em;padding:0 1em;color:#1b1b1b}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d4d4d4;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f1f1f1}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
.mono{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}.detail{white-space:pre-wrap;font-size:.9em}
.bad{color:#a40000;font-weight:600}.ok{color:#1d6b1d}img{max-width:240px;height:auto;display:block}
ul{margin:.2em 0;padding-left:1.1em}
</style></head><body>
<h1>gatewatch evidence export</h1>
<p>Created {{ created }} ({{ tz }}) by {{ m.created_by }}.
Check it with <code>gatewatch export verify FILE.zip --public-key KEY</code>.</p>
<dl>
<dt>Selection</dt><dd>{% if m.selection.event_ids %}events {{ m.selection.event_ids|join(", ") }}{% else %}
{{ since }} to {{ until }}{% if m.selection.camera_id %}, camera {{ m.selection.camera_id }}{% endif %}{% endif %}</dd>
<dt>Events</dt><dd>{{ m.counts.events }} ({{ entries }} entries, {{ exits }} exits); {{ flagged|length }} entries flagged</dd>
<dt>Audit chain head</dt><dd class="mono">seq {{ m.audit_chain_head.seq }}, {{ m.audit_chain_head.sha256 }}</dd>
<dt>Signed by</dt><dd class="mono">Ed25519 {{ m.signer.fingerprint }}</dd>
<dt>Evidence</dt><dd>{% if m.evidence_problems %}<span class="bad">{{ m.evidence_problems|length }} problems:</span>
<ul>{% for p in m.evidence_problems %}<li>{{ p }}</li>{% endfor %}</ul>
{% else %}<span class="ok">every file included matches the hash recorded when it was written</span>{% endif %}</dd>
</dl>
<h2>Flagged entries and their resolution</h2>
{% if not flagged %}<p>No entry in this selection was flagged.</p>{% else %}
<table><thead><tr><th>Event</th><th>Snapshot</th><th>Flagged as</th><th>Now</th><th>Resolution</th></tr></thead><tbody>
{% for f in flagged %}<tr>
<td>#{{ f.event.id }}<br>{{ local(f.event.occurred_at) }}<br>{{ f.event.camera_id }}<br>{{ f.event.label }} {{ f.event.direction }}</td>
<td>{% if f.event.snapshot_path and f.evidence != "expired" %}<a href="{{ f.event.clip_path or f.event.snapshot_path }}">
<img src="{{ f.event.snapshot_path }}" alt="snapshot of event {{ f.event.id }}"></a>{% endif %}
<span class="{{ 'ok' if f.evidence == 'verified' else 'bad' }}">evidence: {{ f.evidence }}</span></td>
<td><b>{{ f.first_flag }}</b>{% if f.text %}<div class="detail">latest check: {{ f.text }}</div>{% endif %}</td>
<td>{{ f.event.status }}{% if f.event.flag %} ({{ f.event.flag }}){% endif %}</td>
<td><ul>
{% for at, by in f.automatic %}<li>{{ local(at) }}: explained automatically by a later registration: {{ by }}</li>{% endfor %}
{% for r in f.reviews %}<li>{{ local(r.at) }}: {{ r.actor }}: <b>{{ r.decision }}</b>{% if r.note %}: {{ r.note }}{% endif %}</li>{% endfor %}
{% if f.visit %}<li>linked visit #{{ f.visit.id }}: {{ "erased by retention" if f.visit.personal_erased_at else f.visit.visitor_name }}{% if f.visit.organisation %}, {{ f.visit.organisation }}{% endif %},
checked in {{ local(f.visit.check_in_at) }}</li>{% endif %}
{% if not (f.automatic or f.reviews or f.visit) %}<li class="bad">no resolution</li>{% endif %}
</ul></td></tr>
{% endfor %}</tbody></table>{% endif %}
<h2>Files</h2><p>The SHA-256 of every file is in <code>manifest.json</code>, signed in <code>manifest.json.sig</code>.
The data is in <code>events</code>, <code>reviews</code>, <code>visits</code>, <code>authorisations</code> and <code>audit</code>
(<code>.csv</code> and <code>.json</code>).</p>
</body></html>
""")


def _report_html(contents: _Contents, flagged: list[_Flagged], manifest: dict[str, Any], settings: Settings) -> str:
    zone = settings.zone

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    directions = Counter(e.direction for e in contents.events)
    selection = manifest["selection"]
    return _REPORT.render(
        m=manifest, flagged=flagged, local=local, tz=settings.timezone,
        created=local(datetime.fromisoformat(manifest["created_at"])),
        since=local(datetime.fromisoformat(selection["since"])) if selection["since"] else "",
        until=local(datetime.fromisoformat(selection["until"])) if selection["until"] else "",
        entries=directions["entry"], exits=directions["exit"],
    )


# --- verification -----------------------------------------------------------------------------


@dataclass
class ExportVerification:
    path: Path
    problems: list[str] = field(default_factory=list)
    files: int = 0  # files whose hash was checked and matched
    signer: str | None = None  # fingerprint of the key the signature was checked with
    key_given: bool = False  # False: checked with the key the export itself names
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class _TooLarge(Exception):
    """A member declares, or decompresses to, more than its limit."""


_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


def _size_text(size: int) -> str:
    return f"{size / MEGABYTE:,.0f} MB" if size >= MEGABYTE else f"{size:,} bytes"


def _limit_for(name: str) -> int:
    return {MANIFEST: MAX_MANIFEST_BYTES, SIGNATURE: MAX_SIGNATURE_BYTES}.get(name, MAX_MEMBER_BYTES)


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int,
                 block: Callable[[bytes], None]) -> None:
    """Pass the member's bytes to ``block``, never more than ``limit``: the declared size is checked
    first, and the bytes are counted as they come in case the declaration lies."""
    if info.file_size > limit:
        raise _TooLarge(f"declares {_size_text(info.file_size)} uncompressed, more than the "
                        f"{_size_text(limit)} a member of its kind may have; not read (a ZIP bomb?)")
    count = 0
    with archive.open(info) as member:
        while chunk := member.read(min(1 << 20, limit + 1 - count)):
            count += len(chunk)
            if count > limit or count > info.file_size:
                raise _TooLarge(f"decompresses to more than the {_size_text(info.file_size)} it declares "
                                f"(limit {_size_text(limit)}); reading stopped")
            block(chunk)


def _member_sha256(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    _read_capped(archive, info, _limit_for(info.filename), digest.update)
    return digest.hexdigest()


def _read_member(archive: zipfile.ZipFile, name: str, result: ExportVerification) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        result.problems.append(f"{name}: missing from the ZIP")
        return None
    parts: list[bytes] = []
    try:
        _read_capped(archive, info, _limit_for(name), parts.append)
    except _TooLarge as exc:
        result.problems.append(f"{name}: too large: {exc}")
    except _DAMAGE as exc:
        result.problems.append(f"{name}: damaged inside the ZIP ({exc})")
    else:
        return b"".join(parts)
    return None


def _check_signature(result: ExportVerification, manifest_bytes: bytes, signature_text: bytes | None,
                     public_key: Ed25519PublicKey | None) -> None:
    manifest = result.manifest or {}
    try:
        embedded = load_public_key(str(manifest.get("signer", {}).get("public_key", "")))
    except SigningKeyError:
        embedded = None
        result.problems.append(f"{MANIFEST}: names no valid signer public key")
    if public_key is not None and embedded is not None and raw_public_key(public_key) != raw_public_key(embedded):
        result.problems.append(f"{MANIFEST}: signed by key {fingerprint(embedded)}, not by the given key "
                               f"{fingerprint(public_key)}")
    key = public_key or embedded
    if key is None or signature_text is None:
        return
    result.signer = fingerprint(key)
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        result.problems.append(f"{SIGNATURE}: not a base64 signature")
        return
    if not verify_signature(key, signature, manifest_bytes):
        result.problems.append(f"{SIGNATURE}: the signature does not match {MANIFEST} for key {result.signer}: "
                               f"{MANIFEST} was changed after signing, or it was signed by another key")


def verify_export(path: Path, public_key: Ed25519PublicKey | None = None) -> ExportVerification:
    """Check an export: the signature (with ``public_key``, else the key it names), every hash, no extra file."""
    result = ExportVerification(path, key_given=public_key is not None)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.problems.append(f"{path}: not a readable ZIP file ({exc})")
        return result
    with archive:
        names = archive.namelist()
        result.problems += [f"{name}: appears {count} times in the ZIP" for name, count in Counter(names).items()
                            if count > 1]
        manifest_bytes = _read_member(archive, MANIFEST, result)
        signature_text = _read_member(archive, SIGNATURE, result)
        if manifest_bytes is None:
            return result
        try:
            result.manifest = json.loads(manifest_bytes)
            listed = dict(result.manifest["files"])
        except (ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"{MANIFEST}: not a manifest ({exc})")
            return result
        if result.manifest.get("format") != FORMAT:
            result.problems.append(f"{MANIFEST}: format {result.manifest.get('format')!r}, expected {FORMAT!r}")
        _check_signature(result, manifest_bytes, signature_text, public_key)
        for name in dict.fromkeys(names):
            if name in (MANIFEST, SIGNATURE):
                continue
            expected = listed.pop(name, None)
            if expected is None:
                result.problems.append(f"{name}: not listed in {MANIFEST} (added after signing)")
                continue
            try:
                actual = _member_sha256(archive, archive.getinfo(name))
            except _TooLarge as exc:
                result.problems.append(f"{name}: too large: {exc}")
                continue
            except _DAMAGE as exc:
                result.problems.append(f"{name}: damaged inside the ZIP ({exc})")
                continue
            if actual != expected.get("sha256"):
                result.problems.append(f"{name}: SHA-256 {actual} differs from {MANIFEST}'s {expected.get('sha256')}")
            else:
                result.files += 1
        result.problems += [f"{name}: listed in {MANIFEST} but missing from the ZIP" for name in listed]
    return result
