"""Replays from the auditor's page: stored footage analysed again as a camera, then compared.

The footage is a file under ``footage_dir``, or a period of a camera's continuous recording: the
page lists each recording camera with the time its recordings cover and the gaps in it, and a
period is checked against them (start before end, at most ``recorded.MAX_PERIOD``, inside the
recordings, not wholly in a gap) before it is queued.

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
from datetime import datetime, timedelta

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlmodel import select

from gatewatch.camera.footage import footage_file, list_footage
from gatewatch.camera.gate_lines import in_force
from gatewatch.camera.recorded import MAX_PERIOD, Coverage, PeriodError, recorded_cameras
from gatewatch.camera.replay import (
    CANCELLABLE,
    DEFAULT_TOLERANCE_SECONDS,
    SAME_SECONDS,
    Outcome,
    ReplayError,
    ReplayStatus,
    cancel_replay,
    compare_replay,
    queue_positions,
    replay_progress,
    replay_runner,
    request_recorded_replay,
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
#: The period a recorded replay is offered with at first: the last this much of the recordings.
SUGGESTED_PERIOD = timedelta(minutes=10)
#: The recorded-time form's fields are named apart from the file form's: both are on one page.
RECORDED = "rec_"


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    runs = db().exec(select(ReplayRun).order_by(ReplayRun.id.desc()).limit(LIST_LIMIT)).all()
    folder = settings().effective_footage_dir
    positions = _queue()
    recordings = _recordings()
    form = form if form is not None else _suggested(recordings)
    html = render_template("replays.html", form=form, errors=errors or {}, runs=runs,
                           footage=list_footage(folder), footage_dir=folder, cameras=settings().cameras,
                           positions=positions, stalled=_stalled(positions), recordings=recordings,
                           recorded_cameras=[c for c in settings().cameras if recordings.get(c.id)],
                           max_minutes=int(MAX_PERIOD.total_seconds() // 60))
    return html, status


def _recordings() -> dict[str, Coverage | None]:
    """Configured cameras that record or have recordings: what their kept segments cover."""
    configured = {camera.id for camera in settings().cameras}
    covered = recorded_cameras(db(), [camera.id for camera in settings().cameras if camera.record])
    return {camera_id: coverage for camera_id, coverage in covered.items() if camera_id in configured}


def _suggested(recordings: dict[str, Coverage | None]) -> dict[str, str]:
    """The forms as first shown: now as the file's start; the last minutes of the first recordings."""
    zone = settings().zone
    form = {"start": datetime.now(zone).strftime(INPUT_TIME)}
    covered = next((coverage for coverage in recordings.values() if coverage), None)
    if covered is not None:
        begin = max(covered.started_at, covered.ended_at - SUGGESTED_PERIOD)
        form |= {f"{RECORDED}camera_id": covered.camera_id,
                 f"{RECORDED}from": begin.astimezone(zone).strftime(INPUT_TIME),
                 f"{RECORDED}to": covered.ended_at.astimezone(zone).strftime(INPUT_TIME)}
    return form


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


def _camera(form: dict[str, str], errors: dict[str, str], prefix: str = "") -> CameraSettings | None:
    """The chosen camera, with the gate line the form gives instead of the one in force, if any.

    ``prefix``: what the form's field names start with."""
    try:
        camera = settings().camera(form.get(f"{prefix}camera_id", ""))
    except ConfigError:
        errors[f"{prefix}camera_id"] = _("Choose one of the configured cameras.")
        return None
    line, inside = form.get(f"{prefix}line", "").strip(), form.get(f"{prefix}inside", "").strip()
    if not (line or inside):
        return in_force(db(), camera)
    if not (line and inside):
        field = "line" if not line else "inside"
        errors[f"{prefix}{field}"] = _("Give both the line and the inside point, or neither.")
        return None
    try:
        return override_gate(camera, line, inside)
    except ConfigError as exc:
        errors[f"{prefix}line"] = str(exc)
        return None


def _period_error(error: PeriodError) -> str:
    """What is wrong with a period, in the page's language."""
    texts = {
        "order": _("The period ends before it starts."),
        "length": _("A replay covers at most %(minutes)d minutes: choose a shorter period.",
                    minutes=int(MAX_PERIOD.total_seconds() // 60)),
        "none": _("This camera has no recordings."),
        "before": _("The period starts before the camera's recordings: see what they cover above."),
        "after": _("The period ends after the camera's recordings: see what they cover above."),
        "gap": _("The camera recorded nothing in that period: it falls in a gap."),
    }
    return texts.get(error.code, str(error))


@bp.get("")
@access.allow(READERS)
def index() -> tuple[str, int]:
    return _page()


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


@bp.post("/recorded")
@access.allow(READERS)
def create_recorded() -> ResponseReturnValue:
    """Queue a replay of a camera's recordings over a period given in site time."""
    form = request.form.to_dict()
    errors: dict[str, str] = {}
    camera = _camera(form, errors, RECORDED)
    start = _start_time(form.get(f"{RECORDED}from", ""))
    if start is None:
        errors[f"{RECORDED}from"] = _("Give the date and time the period starts.")
    end = _start_time(form.get(f"{RECORDED}to", ""))
    if end is None:
        errors[f"{RECORDED}to"] = _("Give the date and time the period ends.")
    if errors:
        return _page(form, errors, status=422)
    assert camera is not None and start is not None and end is not None
    username, _role = actor()
    try:
        run_id = request_recorded_replay(engine(), settings(), camera, start, end, actor=username)
    except PeriodError as exc:
        errors[f"{RECORDED}to" if exc.end else f"{RECORDED}from"] = _period_error(exc)
        return _page(form, errors, status=422)
    _start_queue()
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
                           outcomes=list(Outcome), position=position, stalled=_stalled(positions),
                           tolerance_seconds=DEFAULT_TOLERANCE_SECONDS, same_seconds=SAME_SECONDS)


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
