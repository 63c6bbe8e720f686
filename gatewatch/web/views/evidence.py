"""Snapshots, plate crops, clips and the boxes drawn over them, only for people logged in, with range
requests so clips can be scrubbed."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from gatewatch.evidence import files as evidence_files
from gatewatch.models.tables import EntryEvent
from gatewatch.web import access
from gatewatch.web.context import db, settings

bp = Blueprint("evidence", __name__, url_prefix="/evidence")

#: Evidence never changes once written, but it is private: browsers may keep it, proxies may not.
CACHE_SECONDS = 3600


def _event(event_id: int) -> EntryEvent:
    event = db().get(EntryEvent, event_id)
    if event is None:
        abort(404)
    return event


def _send(path: Path | None, mimetype: str) -> Response:
    if path is None:
        abort(404)
    response = send_file(path, mimetype=mimetype, conditional=True, max_age=CACHE_SECONDS)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.get("/<int:event_id>/snapshot.jpg")
@access.allow(access.EVERYONE)
def snapshot(event_id: int) -> Response:
    return _send(evidence_files.resolve(settings().data_dir, _event(event_id).snapshot_path), "image/jpeg")


@bp.get("/<int:event_id>/plate.jpg")
@access.allow(access.EVERYONE)
def plate(event_id: int) -> Response:
    return _send(evidence_files.resolve(settings().data_dir, _event(event_id).plate_crop_path), "image/jpeg")


@bp.get("/<int:event_id>/thumbnail.jpg")
@access.allow(access.EVERYONE)
def thumbnail(event_id: int) -> Response:
    data_dir = settings().data_dir
    source = evidence_files.resolve(data_dir, _event(event_id).snapshot_path)
    try:
        small = evidence_files.thumbnail(data_dir, event_id, source) if source else None
    except OSError:  # not a readable image: there is nothing to show
        small = None
    return _send(small, "image/jpeg")


@bp.get("/<int:event_id>/clip.mp4")
@access.allow(access.EVERYONE)
def clip(event_id: int) -> Response:
    return _send(evidence_files.resolve(settings().data_dir, _event(event_id).clip_path), "video/mp4")


@bp.get("/<int:event_id>/boxes.json")
@access.allow(access.EVERYONE)
def boxes(event_id: int) -> Response:
    """The tracked boxes over the clip (``gatewatch.vision.boxes``' format), which the event page draws."""
    return _send(evidence_files.resolve(settings().data_dir, _event(event_id).boxes_path), "application/json")
