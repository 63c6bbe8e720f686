"""Replays from the auditor's page: stored footage analysed again as a camera, then compared.

The page registers the replay (queued) and, when no replay runs, starts a runner of the queue
in a process of its own (``start_next_replay``), so the web app never loads the video and
model libraries; it follows the run through the database. One replay runs at a time on the
site, whichever web server was asked: the others wait, listed with their place in the queue.
When replays wait and no runner holds the lock (it crashed, and its lock lapsed), the page says
so and offers to start the queue again (a POST: a page view starts nothing).
Footage is chosen from the files under ``footage_dir``, never named by a path in the request.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlmodel import select

from gatewatch.camera.footage import footage_file, list_footage
from gatewatch.camera.replay import (
    CANCELLABLE,
    Outcome,
    ReplayError,
    ReplayStatus,
    cancel_replay,
    compare_replay,
    queue_positions,
    replay_progress,
    replay_runner,
    request_replay,
    start_next_replay,
)
from gatewatch.models.tables import ReplayRun
from gatewatch.settings import CameraSettings, ConfigError, override_gate
from gatewatch.web import access
from gatewatch.web.auth import actor
from gatewatch.web.context import db, engine, settings
from gatewatch.web.views.audit import READERS

bp = Blueprint("replays", __name__, url_prefix="/audit/replays")
log = logging.getLogger(__name__)

#: Runs listed on the page, newest first.
LIST_LIMIT = 50
#: ``datetime-local`` inputs with seconds take this form.
INPUT_TIME = "%Y-%m-%dT%H:%M:%S"


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    runs = db().exec(select(ReplayRun).order_by(ReplayRun.id.desc()).limit(LIST_LIMIT)).all()
    folder = settings().effective_footage_dir
    positions = _queue()
    html = render_template("replays.html", form=form or {}, errors=errors or {}, runs=runs,
                           footage=list_footage(folder), footage_dir=folder, cameras=settings().cameras,
                           positions=positions, stalled=_stalled(positions))
    return html, status


def _queue() -> dict[int, int]:
    """Queued replays and their places (1: the next to start)."""
    return queue_positions(engine())


def _stalled(positions: dict[int, int]) -> bool:
    """Replays wait and nobody holds the lock: their runner stopped (crashed) or never started."""
    return bool(positions) and replay_runner(engine()) is None


def _start_queue() -> None:
    try:
        start_next_replay(engine(), settings())
    except OSError:  # the runner process could not start: the runs stay queued, the page says so
        log.exception("could not start the replay queue")


def _start_time(text: str) -> datetime | None:
    """A ``datetime-local`` value, read in the site's time zone."""
    try:
        return settings().site_time(text)
    except ValueError:
        return None


def _camera(form: dict[str, str], errors: dict[str, str]) -> CameraSettings | None:
    """The chosen camera, with the gate line the form gives instead of its own, if any."""
    try:
        camera = settings().camera(form.get("camera_id", ""))
    except ConfigError:
        errors["camera_id"] = _("Choose one of the configured cameras.")
        return None
    line, inside = form.get("line", "").strip(), form.get("inside", "").strip()
    if not (line or inside):
        return camera
    if not (line and inside):
        errors["line" if not line else "inside"] = _("Give both the line and the inside point, or neither.")
        return None
    try:
        return override_gate(camera, line, inside)
    except ConfigError as exc:
        errors["line"] = str(exc)
        return None


@bp.get("")
@access.allow(READERS)
def index() -> tuple[str, int]:
    return _page({"start": datetime.now(settings().zone).strftime(INPUT_TIME)})


@bp.post("")
@access.allow(READERS)
def create() -> ResponseReturnValue:
    form = request.form.to_dict()
    errors: dict[str, str] = {}
    video = footage_file(settings().effective_footage_dir, form.get("footage", ""))
    if video is None:
        errors["footage"] = _("Choose one of the footage files listed.")
    start = _start_time(form.get("start", ""))
    if start is None:
        errors["start"] = _("Give the date and time of the footage's first frame.")
    camera = _camera(form, errors)
    if errors:
        return _page(form, errors, status=422)
    assert video is not None and start is not None and camera is not None
    username, _role = actor()
    run_id = request_replay(engine(), settings(), camera, video.path, start, actor=username)
    _start_queue()  # starts it now if no replay runs; else it waits its turn
    return redirect(url_for("replays.show", run_id=run_id), 303)


def _run(run_id: int) -> ReplayRun:
    run = db().get(ReplayRun, run_id)
    if run is None:
        abort(404)
    return run


@bp.get("/<int:run_id>")
@access.allow(READERS)
def show(run_id: int) -> str:
    run = _run(run_id)
    positions = _queue() if run.status == ReplayStatus.PENDING else {}
    position = positions.get(run_id)
    progress = replay_progress(engine(), run_id)
    comparison = compare_replay(engine(), run_id) if progress.finished else None
    gate = json.loads(run.parameters)["camera"]["gate"]
    return render_template("replay.html", run=run, progress=progress, comparison=comparison, gate=gate,
                           outcomes=list(Outcome), position=position, stalled=_stalled(positions))


@bp.get("/<int:run_id>/progress")
@access.allow(READERS)
def progress(run_id: int) -> ResponseReturnValue:
    try:
        state = replay_progress(engine(), run_id)
    except ReplayError:
        abort(404)
    position = queue_positions(engine()).get(run_id) if state.status == ReplayStatus.PENDING else None
    return jsonify(status=state.status, frames_done=state.frames_done, frames_total=state.frames_total,
                   crossings=state.crossings, finished=state.finished, error=state.error, queue_position=position)


@bp.post("/<int:run_id>/cancel")
@access.allow(READERS)
def cancel(run_id: int) -> ResponseReturnValue:
    if _run(run_id).status not in CANCELLABLE:
        abort(409)
    cancel_replay(engine(), run_id)
    return redirect(url_for("replays.show", run_id=run_id), 303)


@bp.post("/queue/start")
@access.allow(READERS)
def start_queue() -> ResponseReturnValue:
    """Start the queue again after its runner stopped; nothing happens while a replay runs."""
    _start_queue()
    return redirect(url_for("replays.index"), 303)
