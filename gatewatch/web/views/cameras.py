"""Live status of the gate cameras, as their workers last reported it.

An external camera has no worker (another system posts its crossings), so it is shown as such,
never as disconnected. A status note is shown redacted: workers mask a source URL's password as
they write the note, but a note from an older worker may still hold one, and every role reads this.

Each camera's clip kind is the one of its latest event with a clip: the camera's own packets
(copied) where a browser plays its stream, else encoded with the boxes burned in. The worker
chooses it from the stream itself, so the page shows what its events actually got.

A camera analysed on a detect stream (``detect_source``) is checked against the smallest object
it must find (``analysis.min_object_pixels``, in the main stream's pixels): the worker reports
both streams' sizes, and the page warns when the detect stream makes such an object smaller than
the detector needs, or when that setting is not set at all.

Each running camera shows its share of the box (``web.camera_load``) beside its load in CPU
seconds per second, and a badge while overload degrades its analysis.

A camera whose worker found it covered, blurred or moved (``camera.tamper_watch``) shows a
*Tampered* badge and the worker's note of what changed, until its picture is right again.

Above the table, a tile per camera shows its latest analysed frame (``vision.live_view``: the
worker publishes a small JPEG and a JSON sidecar to ``data_dir/live`` about once a second; the web
app never decodes video). ``static/live.js`` polls ``live.json`` every second and draws the gate
line, its inside side, its dead band and the boxes of the tracks followed over the picture. A
camera that is down shows its last picture greyed, with its time and the status note.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, send_file, url_for
from flask_babel import gettext as _
from sqlmodel import Session, select

from gatewatch.camera.gate_lines import in_force
from gatewatch.events.queries import cameras_by_id
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.settings import EXTERNAL_SOURCE
from gatewatch.vision.live_files import live_paths
from gatewatch.vision.redaction import redact_optional
from gatewatch.vision.region import DetectStreamCheck, check_detect_stream
from gatewatch.web import access
from gatewatch.web.camera_load import box_shares
from gatewatch.web.context import configured_camera, db, settings
from gatewatch.web.i18n import site_time, zone_name

bp = Blueprint("cameras", __name__)

#: A connected camera whose last frame is older than this is shown as stalled.
STALE_AFTER = timedelta(seconds=30)
#: How often the page asks for the cameras' latest pictures.
LIVE_SECONDS = 1


@bp.get("/cameras")
@access.allow(access.EVERYONE)
def index() -> str:
    cameras, now = list(cameras_by_id(db()).values()), utcnow()
    return render_template(
        "cameras.html", cameras=cameras, now=now, stale_after=STALE_AFTER, shares=box_shares(cameras, now),
        external_source=EXTERNAL_SOURCE, redact=redact_optional, clip_kinds=clip_kinds(db(), cameras),
        detect_checks=detect_checks(cameras), min_object_pixels=settings().analysis.min_object_pixels,
        image_size=settings().detector.image_size, live_seconds=LIVE_SECONDS,
        pictures={c.id for c in cameras if _live_path(c.id, ".jpg").is_file()},
    )


@bp.get("/cameras/<camera_id>/live.jpg")
@access.allow(access.EVERYONE)
def live_picture(camera_id: str) -> Response:
    """The camera's latest analysed frame as its worker published it; 404 until it has."""
    if db().get(Camera, camera_id) is None:  # only a known camera's name ever becomes a path
        abort(404)
    path = _live_path(camera_id, ".jpg")
    if not path.is_file():
        return Response(_("No picture from camera %(camera)s yet: its worker publishes one once it analyses frames.",
                          camera=camera_id), 404, mimetype="text/plain")
    return send_file(path, mimetype="image/jpeg", max_age=0)  # no-store: the app's default for every answer


@bp.get("/cameras/live.json")
@access.allow(access.EVERYONE)
def live_json() -> Response:
    """Every camera's state and latest picture, for the page's tiles (``static/live.js``)."""
    cameras, now = list(cameras_by_id(db()).values()), utcnow()
    return jsonify(cameras=[_live_state(camera, now) for camera in cameras])


def _live_path(camera_id: str, suffix: str) -> Path:
    picture, sidecar = live_paths(settings().data_dir, camera_id)
    return picture if suffix == ".jpg" else sidecar


def _sidecar(camera_id: str) -> dict[str, Any] | None:
    """The sidecar of the camera's latest picture; None when there is none (or it does not read)."""
    try:
        document = json.loads(_live_path(camera_id, ".json").read_bytes())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _gate_in_force(camera: Camera) -> dict[str, Any] | None:
    """The placement of the line in force for a configured camera; None for one not configured."""
    configured = configured_camera(camera.id)
    return None if configured is None else in_force(db(), configured).gate.placement()


def _time_text(moment: datetime | None) -> str | None:
    return f"{site_time(moment)} {zone_name()}" if moment is not None else None


def _live_state(camera: Camera, now: datetime) -> dict[str, Any]:
    """One tile: the camera's state as the table shows it, and its picture with what to draw over it."""
    stalled = camera.connected and (not camera.last_frame_at or now - camera.last_frame_at > STALE_AFTER)
    state: dict[str, Any] = {
        "id": camera.id, "name": camera.name, "external": camera.source == EXTERNAL_SOURCE,
        "connected": camera.connected, "stalled": bool(stalled),
        "last_frame_at": camera.last_frame_at.isoformat() if camera.last_frame_at else None,
        "last_frame_text": _time_text(camera.last_frame_at), "note": redact_optional(camera.status_note),
        "picture": None, "time": None, "time_text": None, "frame_size": None, "boxes": [], "gate": None,
    }
    sidecar = None if state["external"] else _sidecar(camera.id)
    if sidecar is not None:
        try:
            moment = datetime.fromisoformat(str(sidecar.get("time")))
        except ValueError:
            moment = None
        version = int(moment.timestamp() * 1000) if moment is not None else 0
        state.update(picture=url_for("cameras.live_picture", camera_id=camera.id, t=version),
                     time=moment.isoformat() if moment else None, time_text=_time_text(moment),
                     frame_size=sidecar.get("frame_size"), boxes=sidecar.get("boxes") or [], gate=sidecar.get("gate"))
    if state["gate"] is None and not state["external"]:
        state["gate"] = _gate_in_force(camera)
    return state


def detect_checks(cameras: list[Camera]) -> dict[str, DetectStreamCheck]:
    """Camera id -> the check of its detect stream, for cameras a worker reported one for."""
    minimum = settings().analysis.min_object_pixels
    checks = {c.id: check_detect_stream(minimum, c.frame_height, c.detect_height) for c in cameras}
    return {camera_id: check for camera_id, check in checks.items() if check.problem is not None}


def clip_kinds(session: Session, cameras: list[Camera]) -> dict[str, str]:
    """Camera id -> the ClipKind of its latest event with a clip; cameras with none are left out."""
    kinds = {}
    for camera in cameras:
        if camera.source == EXTERNAL_SOURCE:
            continue
        kind = session.exec(
            select(EntryEvent.clip_kind)
            .where(EntryEvent.camera_id == camera.id, EntryEvent.clip_kind.is_not(None))  # type: ignore[union-attr]
            .order_by(EntryEvent.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).first()
        if kind is not None:
            kinds[camera.id] = kind
    return kinds
