"""Signed evidence exports from the auditor's page: make one, download it, check one kept here.

The form may ask for annotated clips (the boxes and gate line drawn in); the job makes them in a
process of its own (``gatewatch.evidence.export_jobs``), since the web app loads no video library.

An export is made in the background (``gatewatch.evidence.export_jobs``): the form registers a
job and the browser goes to the job's page, which follows its progress and, once it is done,
offers the job's own file. Exports are kept in data_dir/exports under names the server makes;
the page offers only the files listed there, so no name from a request reaches the file system. An export checked elsewhere needs the installation's
public key, which the page shows (``gatewatch export verify FILE.zip --public-key KEY``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlmodel import select

from gatewatch.events.queries import cameras_by_id
from gatewatch.evidence.export import (
    ExportError,
    ExportSelection,
    ExportVerification,
    verify_export,
)
from gatewatch.evidence.export_jobs import (
    ExportJobState,
    ExportStatus,
    export_job_state,
    exports_dir,
    job_file,
    start_export_job,
)
from gatewatch.evidence.signing import (
    SigningKeyError,
    fingerprint,
    installation_key,
    public_key_pem,
    public_key_text,
)
from gatewatch.models.filters import MAX_ID, FilterError, day_bounds, parse_day
from gatewatch.models.tables import ExportJob
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, engine, settings
from gatewatch.web.views.audit import READERS

bp = Blueprint("exports", __name__, url_prefix="/audit/exports")

_EVENT_IDS = re.compile(r"[\s,;]+")
#: Export jobs listed on the page, newest first.
JOB_LIST_LIMIT = 10


@dataclass(frozen=True)
class KeptExport:
    name: str
    size_bytes: int
    created_at: datetime


def _folder() -> Path:
    return exports_dir(settings())


def _kept() -> list[KeptExport]:
    """The exports in data_dir/exports, newest first."""
    kept = [(path.name, path.stat()) for path in _folder().glob("*.zip")]
    return sorted((KeptExport(name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)) for name, stat in kept),
                  key=lambda export: export.created_at, reverse=True)


def _kept_path(name: str) -> Path:
    """The kept export called ``name``; 404 for anything else."""
    if name not in {path.name for path in _folder().glob("*.zip")}:
        abort(404)
    return _folder() / name


def _public_key() -> Ed25519PublicKey:
    """This installation's export-signing key (SigningKeyError when it cannot be read)."""
    return installation_key(settings().data_dir).public_key()


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          checked: ExportVerification | None = None, status: int = 200) -> tuple[str, int]:
    try:
        public = _public_key()
        key = {"text": public_key_text(public), "fingerprint": fingerprint(public), "error": None}
    except SigningKeyError as exc:
        key = {"text": None, "fingerprint": None, "error": str(exc)}
    jobs = db().exec(select(ExportJob).order_by(ExportJob.id.desc()).limit(JOB_LIST_LIMIT)).all()
    html = render_template("audit_exports.html", form=form or {}, errors=errors or {}, exports=_kept(), key=key,
                           checked=checked, cameras=cameras_by_id(db()).values(), jobs=jobs,
                           job_labels=_job_labels())
    return html, status


def _day(form: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    try:
        return parse_day(form.get(name), name)
    except FilterError:
        errors[name] = _("Not a date: use the date picker or YYYY-MM-DD.")
        return None


def _event_number(text: str) -> bool:
    """An event id as typed: ASCII digits (``"²".isdigit()`` is true too), at most ``MAX_ID``."""
    return text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID)) and 1 <= int(text) <= MAX_ID


def _selection(form: dict[str, str]) -> tuple[ExportSelection | None, dict[str, str]]:
    """What the form asks for: whole site days from..to (both included) and a camera, or event numbers."""
    errors: dict[str, str] = {}
    ids_text = form.get("event_ids", "").strip()
    if ids_text:
        parts = [part for part in _EVENT_IDS.split(ids_text) if part]
        if not all(_event_number(part) for part in parts):
            errors["event_ids"] = _("Event numbers are whole numbers separated by commas or spaces.")
            return None, errors
        return ExportSelection(event_ids=tuple(sorted({int(part) for part in parts}))), errors
    first, last = _day(form, "from", errors), _day(form, "to", errors)
    if not errors and (first is None or last is None):
        errors["from" if first is None else "to"] = _("Choose the first and the last day, or give event numbers.")
    if errors:
        return None, errors
    assert first is not None and last is not None
    zone = settings().zone
    camera_id = form.get("camera_id") or None
    if camera_id is not None and camera_id not in cameras_by_id(db()):
        errors["camera_id"] = _("There is no such camera.")
        return None, errors
    since, until = day_bounds(first, zone)[0], day_bounds(last, zone)[1]
    return ExportSelection(since=since, until=until, camera_id=camera_id), errors


@bp.get("")
@access.allow(READERS)
def index() -> tuple[str, int]:
    return _page()


@bp.post("")
@access.allow(READERS)
def create() -> ResponseReturnValue:
    """Register the export and make it in the background; its page follows it."""
    form = request.form.to_dict()
    selection, errors = _selection(form)
    if selection is None:
        return _page(form, errors, status=422)
    username, role = actor()
    try:
        job_id = start_export_job(engine(), settings(), selection, actor=username, role=role,
                                  annotated=form.get("annotated") == "1")
    except ExportError as exc:
        return _page(form, {"form": str(exc)}, status=422)
    return redirect(url_for("exports.job", job_id=job_id), 303)


def _job_labels() -> dict[str, str]:
    return {ExportStatus.PENDING: _("Waiting to start"), ExportStatus.RUNNING: _("Exporting"),
            ExportStatus.DONE: _("Done"), ExportStatus.FAILED: _("Failed")}


def _job_state(job_id: int) -> ExportJobState:
    state = export_job_state(db(), job_id)
    if state is None:
        abort(404)
    return state


@bp.get("/jobs/<int:job_id>")
@access.allow(READERS)
def job(job_id: int) -> str:
    state = _job_state(job_id)
    return render_template("audit_export_job.html", job=state, labels=_job_labels(),
                           ready=job_file(settings(), state) is not None)


@bp.get("/jobs/<int:job_id>.json")
@access.allow(READERS)
def job_progress(job_id: int) -> Response:
    """Where the job stands: its page refreshes when this changes (app.js's data-poll)."""
    state = _job_state(job_id)
    return jsonify(status=state.status, finished=state.finished, items_done=state.items_done,
                   items_total=state.items_total, percent=state.percent, error=state.error)


@bp.get("/jobs/<int:job_id>/download")
@access.allow(READERS)
def job_download(job_id: int) -> Response:
    """The job's own file, once it is done; its name was made by the server."""
    path = job_file(settings(), _job_state(job_id))
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)


@bp.get("/<name>")
@access.allow(READERS)
def download(name: str) -> Response:
    return send_file(_kept_path(name), mimetype="application/zip", as_attachment=True, download_name=name)


@bp.post("/<name>/verify")
@access.allow(READERS)
def check(name: str) -> tuple[str, int]:
    """Check a kept export against this installation's own public key."""
    return _page(checked=verify_export(_kept_path(name), _public_key()))


@bp.get("/public-key.pem")
@access.allow(READERS)
def public_key() -> Response:
    pem = public_key_pem(_public_key())
    response = Response(pem, mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = "attachment; filename=gatewatch-export-key.pem"
    return response
