"""The guard's "Scan KTP": a photo of the card in, the NIK and name for the registration form out.

The page (static/ktp_scan.js) takes the photo with the tablet's camera, scales it down and posts
it here; this view hands it to the KTP reader process (``gatewatch.visitors.ktp_scanner``) and
answers JSON that the page puts in the form, for the guard to check against the card. Nothing is
saved: the guard registers the visit as usual. The photo is kept only with
``visitors.keep_ktp_photos`` (``gatewatch.evidence.ktp_photos``).

Refusals are JSON with a message the page shows: 400 no photo, 413 larger than
``visitors.ktp_upload_max_mb``, 422 not a picture (checked by its first bytes here, and by
decoding in the reader), 503 the reader failed or took too long.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from gatewatch.evidence.ktp_photos import keep_photo
from gatewatch.models.enums import Role
from gatewatch.visitors.imports import MEGABYTE
from gatewatch.visitors.ktp_scanner import NotAPicture, ScanFailed, scanner_for
from gatewatch.web import access, csrf
from gatewatch.web.auth import actor
from gatewatch.web.context import db, settings

bp = Blueprint("ktp_scan", __name__)

#: What a multipart body may carry besides the photo: the CSRF token, the parts' headers.
FORM_OVERHEAD_BYTES = 64 * 1024
#: How the pictures a browser sends begin: JPEG, PNG, WebP (RIFF....WEBP).
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _refused(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _too_large() -> tuple[Response, int]:
    return _refused(_("The photo is larger than %(size)d MB: take it again, or scale it down.",
                      size=settings().visitors.ktp_upload_max_mb), 413)


def is_picture(head: bytes) -> bool:
    """Whether ``head``, a file's first bytes, begins as a JPEG, PNG or WebP picture does."""
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


@bp.post("/visits/ktp-scan")
@access.allow(Role.GUARD)  # the registration form it fills is the guards'
@csrf.protection.exempt  # checked below, once the upload's own size limit is set
def scan() -> tuple[Response, int]:
    """Read the KTP in the posted photo (``photo``); JSON with the NIK (null when unreadable) and name."""
    limit = settings().visitors.ktp_upload_max_mb * MEGABYTE
    request.max_content_length = limit + FORM_OVERHEAD_BYTES
    try:
        csrf.protect()
        upload = request.files.get("photo")
        photo = upload.read(limit + 1) if upload is not None else b""
    except RequestEntityTooLarge:
        return _too_large()
    if not photo:
        return _refused(_("Take a photo of the KTP first."), 400)
    if len(photo) > limit:
        return _too_large()
    if not is_picture(photo[:16]):
        return _refused(_("This file is not a photo (JPEG, PNG or WebP)."), 422)
    try:
        answer = scanner_for(settings()).scan(photo)
    except NotAPicture:
        return _refused(_("The photo cannot be read as a picture: take it again."), 422)
    except ScanFailed:
        return _refused(_("The KTP reader is not answering: try again, or type the NIK and name."), 503)
    kept = False
    if settings().visitors.keep_ktp_photos:
        username, role = actor()
        session = db()
        keep_photo(session, settings(), photo, actor=username, role=role, now=datetime.now(UTC))
        session.commit()
        kept = True
    return jsonify(_answer(answer, kept)), 200


def _answer(answer: dict, kept: bool) -> dict:
    """The reader's answer with the sentence the page shows beside the form."""
    if answer.get("nik"):
        message = _("Read from the card: check the name and NIK against the KTP, then register.")
    elif answer.get("name"):
        message = _("The NIK could not be read with certainty: type it from the KTP. Check the name.")
    else:
        message = _("Nothing could be read on this photo: take it again, flat and without glare, or type the "
                    "NIK and name.")
    return {
        "nik": answer.get("nik"),
        "nik_problem": answer.get("nik_problem"),
        "name": answer.get("name"),
        "birth_date": answer.get("birth_date"),
        "birth_place": answer.get("birth_place"),
        "province": answer.get("province"),
        "regency": answer.get("regency"),
        "seconds": answer.get("seconds"),
        "kept": kept,
        "message": message,
    }
