"""The gate line editor: an admin places a camera's line on its latest picture, sees what the
line would do to the crossings already counted, and saves it.

The page shows the line in force (saved here earlier, else the configuration's) and where it came
from. On the camera's latest analysed frame (``/cameras/<id>/live.jpg``, which the worker
publishes; a neutral canvas of the camera's shape until it has) the admin drags the line's two
ends and the inside marker, or clicks where the inside is, and sets the dead band; the same
numbers are form fields, so the page also works from the keyboard and without its script.

While the admin edits, the page asks ``preview.json`` how the edited line, and the line in force,
count the stored boxes of the camera's latest events (``gatewatch.evidence.line_preview``).
Saving goes through ``gate_lines.save_line``: audited with the line before and after, and the
running worker counts against it within seconds (its ``LineWatch``). Only admins use any of it.
An external camera (another system posts its crossings) has no picture and nothing is counted
here, so its line cannot be edited.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gatewatch.camera.footage import sync_camera_row
from gatewatch.camera.gate_lines import (
    LineError,
    in_force,
    parse_placement,
    placed_gate,
    save_line,
    saved_gate,
)
from gatewatch.evidence import line_preview
from gatewatch.models.enums import Role
from gatewatch.models.tables import Camera
from gatewatch.settings import CameraSettings, GateSettings
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import configured_camera, db, settings
from gatewatch.web.validation import FORM_ERROR

bp = Blueprint("gate_lines", __name__)

#: The form's fields (and the preview's query): the line's ends, the inside point, the dead band.
POINT_FIELDS = ("line_x1", "line_y1", "line_x2", "line_y2", "inside_x", "inside_y")
MARGIN_FIELD = "margin"
#: The largest dead band (GateSettings.margin), a fraction of the picture's height.
MAX_MARGIN = 0.2


def _camera_or_404(camera_id: str) -> CameraSettings:
    camera = configured_camera(camera_id)
    if camera is None:
        abort(404)
    return camera


def form_values(gate: GateSettings) -> dict[str, str]:
    """The form's fields for ``gate``'s placement."""
    (x1, y1), (x2, y2) = gate.line
    numbers = (x1, y1, x2, y2, *gate.inside)
    values = {name: _number(value) for name, value in zip(POINT_FIELDS, numbers, strict=True)}
    return {**values, MARGIN_FIELD: _number(gate.margin)}


def _number(value: float) -> str:
    """``value`` as its shortest exact text (so a form saved unchanged is the same line), without ``.0``."""
    return str(float(value)).removesuffix(".0")


def read_placement(values: Mapping[str, str]) -> tuple[dict[str, object] | None, dict[str, str]]:
    """A placement from the form's (or the preview query's) fields, or the errors per field."""
    numbers: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name in (*POINT_FIELDS, MARGIN_FIELD):
        text = (values.get(name) or "").strip().replace(",", ".")  # a decimal comma, as Indonesian writes it
        high = MAX_MARGIN if name == MARGIN_FIELD else 1.0
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and 0.0 <= number <= high):
            errors[name] = _("Give a number from 0 to %(high)s.", high=_number(high))
        else:
            numbers[name] = number
    if errors:
        return None, errors
    x1, y1, x2, y2, ix, iy = (numbers[name] for name in POINT_FIELDS)
    return parse_placement([[x1, y1], [x2, y2]], [ix, iy], numbers[MARGIN_FIELD]), {}


def checked_gate(camera: CameraSettings, values: Mapping[str, str]) -> tuple[GateSettings | None, dict[str, str]]:
    """``camera``'s gate placed as ``values`` say, or the errors (per field, or for the whole line)."""
    placement, errors = read_placement(values)
    if placement is None:
        return None, errors
    try:
        return placed_gate(camera, placement), {}
    except LineError as error:
        line = placement["line"]
        if line[0] == line[1]:  # type: ignore[index]
            return None, {FORM_ERROR: _("The line's two ends are the same point: move one of them away.")}
        if "inside" in str(error):
            return None, {FORM_ERROR: _("The inside point lies on the line, so it names neither side: "
                                        "put it on the inside of the gate.")}
        return None, {FORM_ERROR: _("This line cannot be used: %(problem)s", problem=str(error))}


def _preview(camera: CameraSettings, current: GateSettings, proposed: GateSettings) -> line_preview.LinePreview:
    events = line_preview.recent_events(db(), camera.id)
    return line_preview.preview(events, settings().data_dir, in_force=current, proposed=proposed)


def _page(camera: CameraSettings, form: Mapping[str, str] | None = None,
          errors: dict[str, str] | None = None) -> str:
    session = db()
    row = session.get(Camera, camera.id)
    saved = saved_gate(camera, row)
    current = saved or camera.gate
    preview = None
    if not camera.is_external:
        proposed, problems = checked_gate(camera, form) if form is not None else (current, {})
        preview = _preview(camera, current, proposed if proposed is not None and not problems else current)
    width, height = (row.frame_width, row.frame_height) if row is not None else (None, None)
    return render_template(
        "gate_line.html", camera=camera, row=row, current=current, saved=saved is not None,
        form=dict(form) if form is not None else form_values(current), errors=errors or {},
        preview=preview, events_replayed=line_preview.PREVIEW_EVENTS, max_margin=MAX_MARGIN,
        picture_url=f"{url_for('cameras.index')}/{quote(camera.id, safe='')}/live.jpg",
        aspect=(width / height) if width and height else 16 / 9,
    )


@bp.get("/cameras/<camera_id>/line")
@access.allow(Role.ADMIN)
def editor(camera_id: str) -> str:
    return _page(_camera_or_404(camera_id))


@bp.post("/cameras/<camera_id>/line")
@access.allow(Role.ADMIN)
def save(camera_id: str) -> ResponseReturnValue:
    camera = _camera_or_404(camera_id)
    form = {name: request.form.get(name, "") for name in (*POINT_FIELDS, MARGIN_FIELD)}
    if camera.is_external:
        return _page(camera, form, {FORM_ERROR: _external()}), 409
    gate, errors = checked_gate(camera, form)
    if gate is None:
        return _page(camera, form, errors), 422
    session = db()
    if session.get(Camera, camera.id) is None:  # configured, but no worker has run yet
        sync_camera_row(session, camera)
        session.flush()
    username, role = actor()
    changed = save_line(session, camera, gate, actor=username, role=role)
    session.commit()
    if changed:
        flash(_("Gate line saved; the running worker counts against it within seconds."), "success")
    else:
        flash(_("This is the line in force already: nothing was saved."), "info")
    return redirect(url_for("gate_lines.editor", camera_id=camera.id), 303)


@bp.get("/cameras/<camera_id>/line/preview.json")
@access.allow(Role.ADMIN)
def preview(camera_id: str) -> ResponseReturnValue:
    """How the line in the query (the form's fields) and the line in force count the latest events."""
    camera = configured_camera(camera_id)
    if camera is None:
        return _error(_("There is no camera %(id)s in the configuration.", id=camera_id), 404)
    if camera.is_external:
        return _error(_external(), 409)
    gate, errors = checked_gate(camera, request.args)
    if gate is None:
        message = errors.get(FORM_ERROR) or next(iter(errors.values()))
        return _error(message, 400, errors)
    result = _preview(camera, in_force(db(), camera).gate, gate)
    html = render_template("_line_preview.html", preview=result, events_replayed=line_preview.PREVIEW_EVENTS)
    return jsonify(**result.as_json(), html=html)


def _error(message: str, status: int, fields: dict[str, str] | None = None) -> tuple[Response, int]:
    return jsonify(error=message, fields=fields or {}), status


def _external() -> str:
    return _("This camera is external: another system detects its crossings and posts them here, so it has "
             "no picture and no gate line to place. Change its line in that system.")
