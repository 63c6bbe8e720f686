"""Commands that analyse video: ``process`` (a stored file) and ``worker`` (live cameras), and what
``replay`` and the demo share with them: ``video_errors``, ``run_analysis`` and ``print_summary``.

The video libraries (cv2, av, torch, ultralytics, ...) load inside the commands, never when this
module is imported, so the other commands and ``--help`` start without them.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gatewatch.cli.app import App, InputError, UsageError, gate_options, gate_override, with_app

if TYPE_CHECKING:
    from gatewatch.camera.analysis import AnalysisResult
    from gatewatch.models.tables import EntryEvent
    from gatewatch.settings import CameraSettings


def _event_json(event: EntryEvent) -> str:
    return json.dumps({
        "camera": event.camera_id,
        "track_id": event.track_id,
        "label": event.label,
        "direction": event.direction,
        "time": event.occurred_at.isoformat(),
        "frame": event.frame_index,
        "confidence": event.confidence,
        "flag": event.flag,
        "rides_track_id": event.rides_track_id,
    })


@contextmanager
def video_errors(*bad_input: type[Exception]) -> Iterator[None]:
    """Failures of the video libraries told as the exit codes say: bad footage (a ``SourceError``
    or one of ``bad_input``) 1, a wrong model 2. Loads them: only for commands that run video.

    The message is redacted: it may quote a camera's source URL, password and all."""
    from gatewatch.vision.detector import DetectorError
    from gatewatch.vision.redaction import redact_url
    from gatewatch.vision.sources import SourceError

    try:
        yield
    except (SourceError, *bad_input) as exc:
        raise InputError(redact_url(str(exc))) from None
    except DetectorError as exc:
        raise UsageError(redact_url(str(exc))) from None


def analysed_camera(app: App, camera_id: str) -> CameraSettings:
    """The configured camera ``camera_id``; a usage error when it is external (nothing to analyse)."""
    camera = app.camera(camera_id)
    if camera.is_external:
        raise UsageError(f"camera {camera_id!r} is external: another system posts its crossings "
                         "(POST /api/v1/crossings), so there is no video to analyse as it")
    return camera


def run_analysis(app: App, camera: CameraSettings, video: Path, start: datetime, model: Any = None,
                 detect_video: Path | None = None) -> AnalysisResult:
    """``analyse_file`` with its errors turned into messages and exit codes."""
    from gatewatch.camera.analysis import AnalysisBrokenOff, analyse_file

    with video_errors(AnalysisBrokenOff):
        return analyse_file(app.engine, app.settings, camera, video, start, model=model, detect_video=detect_video)


def print_summary(video: Path, camera: CameraSettings, result: AnalysisResult) -> None:
    stats, stored = result.stats, result.stored
    click.echo(f"{video.name} as {camera.id}: {stats.frames} frames in {stats.seconds:.1f} s "
               f"({stats.frames_per_second:.1f} frames/s)")
    labels = sorted({label for label, _ in stats.crossings})
    click.echo(f"  {'class':<12}{'entries':>8}{'exits':>8}")
    for label in labels:
        click.echo(f"  {label:<12}{stats.crossings[(label, 'entry')]:>8}{stats.crossings[(label, 'exit')]:>8}")
    flags = Counter(s.event.flag for s in stored if s.event.flag)
    click.echo("  flagged: " + (", ".join(f"{reason} {n}" for reason, n in sorted(flags.items())) or "none"))
    new = sum(s.created for s in stored)
    click.echo(f"  stored: {new} new events, {len(stored) - new} already stored by an earlier run")


@click.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", required=True, help="Configured camera the footage comes from.")
@click.option("--start", help="Wall-clock time of the first frame, ISO 8601 (default: now).")
@click.option("--detect-video", type=click.Path(path_type=Path),
              help="The same footage as a smaller stream (the camera's substream): analysed instead of VIDEO, "
                   "while clips, snapshots and plates come from VIDEO; matched by time from each file's start.")
@gate_options
@click.option("--json", "as_json", is_flag=True, help="Print each event as one JSON line, nothing else.")
@with_app
def process(app: App, video: Path, camera_id: str, start: str | None, detect_video: Path | None,
            line: str | None, inside: str | None, as_json: bool) -> None:
    """Analyse a stored video file as camera ID and store its events."""
    camera = gate_override(app, analysed_camera(app, camera_id), line, inside)
    start_time = app.parse_time(start, "--start") if start else datetime.now(UTC)
    result = run_analysis(app, camera, video, start_time, detect_video=detect_video)
    if as_json:
        for item in result.stored:
            click.echo(_event_json(item.event))
    else:
        print_summary(video, camera, result)


@click.command()
@click.option("--camera", "camera_id", help="Configured camera to run, in a process of its own.")
@click.option("--all", "all_cameras", is_flag=True,
              help="Every configured camera, in one supervised process sharing one detector.")
@click.option("--process-per-camera", is_flag=True,
              help="With --all: a supervised process per camera instead (isolation, at a model runtime each).")
@click.option("--in-process", is_flag=True,
              help="Every configured camera in this process, unsupervised (what --all supervises).")
@with_app
def worker(app: App, camera_id: str | None, all_cameras: bool, process_per_camera: bool, in_process: bool) -> None:
    """Run a configured camera (or all of them) until SIGINT or SIGTERM."""
    if sum((bool(camera_id), all_cameras, in_process)) != 1:
        raise UsageError("give one of --camera ID, --all or --in-process")
    if process_per_camera and not all_cameras:
        raise UsageError("--process-per-camera goes with --all")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if all_cameras:
        if app.config_path is None:
            app.settings  # noqa: B018 - with no configuration at all, the message every command gives
            raise UsageError("--all needs the configuration file (--config or GATEWATCH_CONFIG)")
        from gatewatch.camera.supervisor import Supervisor

        app.engine  # noqa: B018 - made and migrated here, once: workers starting together race to do it
        from gatewatch.alerts.runner import start_dispatcher

        start_dispatcher(app.engine, app.settings, stop)  # webhooks: alerts/runner.py
        Supervisor(app.settings, app.config_path, app.database_url, per_camera=process_per_camera,
                   verbose=logging.getLogger().isEnabledFor(logging.INFO)).run(stop)
        return
    if in_process:
        from gatewatch.camera.box import run_box

        with video_errors():
            run_box(app.engine, app.settings, app.settings.cameras, stop)
        return

    from gatewatch.camera.worker import run_camera

    with video_errors():
        run_camera(app.engine, app.settings, analysed_camera(app, camera_id), stop)
