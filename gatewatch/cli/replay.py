"""The ``replay`` and ``replay-run`` commands: stored footage analysed again into a replay run of its
own, apart from the live records, and compared with the events stored at the time.

The footage is a file (``replay VIDEO --camera ID --start ISO``) or a period of a camera's
continuous recording (``replay --camera ID --from ISO --to ISO``).

``gatewatch.camera.replay`` loads no video library at import (the ``--tolerance`` default in the
help comes from it); the analysis, and with it cv2, av and torch, loads inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatewatch.camera.recorded import MAX_PERIOD, PeriodError
from gatewatch.camera.replay import (
    DEFAULT_TOLERANCE_FRAMES,
    DEFAULT_TOLERANCE_SECONDS,
    Outcome,
    ReplayBusy,
    ReplayComparison,
    ReplayError,
    compare_replay,
    create_replay,
    replay_lock,
    request_recorded_replay,
    run_replay,
    run_replay_queue,
    start_next_replay,
)
from gatewatch.cli.analysis import video_errors
from gatewatch.cli.app import App, UsageError, actor_option, echo_json, gate_options, gate_override, with_app
from gatewatch.settings import CameraSettings

if TYPE_CHECKING:
    from gatewatch.models.tables import EntryEvent, ReplayEvent


@click.command()
@click.argument("video", type=click.Path(path_type=Path), required=False)
@click.option("--camera", "camera_id", required=True, help="Configured camera the footage came from.")
@click.option("--start", help="VIDEO: wall-clock time of its first frame, ISO 8601.")
@click.option("--from", "period_from", help="No VIDEO: the camera's recordings from this time, ISO 8601.")
@click.option("--to", "period_to",
              help=f"... to this time (at most {int(MAX_PERIOD.total_seconds() // 60)} minutes after --from).")
@gate_options
@click.option("--tolerance", default=DEFAULT_TOLERANCE_FRAMES, show_default=True, type=click.IntRange(min=0),
              help="Frames a crossing may move and still count as the same event.")
@click.option("--tolerance-seconds", default=DEFAULT_TOLERANCE_SECONDS, show_default=True,
              type=click.FloatRange(min=0), help="Recorded time: the same, in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@actor_option
@with_app
def replay(app: App, video: Path | None, camera_id: str, start: str | None, period_from: str | None,
           period_to: str | None, line: str | None, inside: str | None, tolerance: int, tolerance_seconds: float,
           as_json: bool, actor: str) -> None:
    """Analyse VIDEO, or camera ID's recordings --from --to, again as camera ID, apart from the live
    records, and compare with the stored events."""
    from tqdm import tqdm

    camera = gate_override(app, app.camera(camera_id), line, inside)
    register = _request(app, camera, video, start, period_from, period_to, actor)
    try:
        with replay_lock(app.engine, "replay (command line)") as keeper:
            with video_errors():
                run_id = register()
            with tqdm(unit="frame", desc=f"replay #{run_id}", leave=False, disable=None) as bar:
                def progress(frames: int) -> None:
                    bar.update(frames - bar.n)

                with video_errors(ReplayError, OSError):
                    run_replay(app.engine, app.settings, run_id, on_frame=progress, lost=keeper.lost)
    except ReplayBusy as exc:
        raise UsageError(f"{exc}; try again when it has ended") from None
    start_next_replay(app.engine, app.settings)  # replays queued on the auditor's page meanwhile
    comparison = compare_replay(app.engine, run_id, tolerance, tolerance_seconds)
    if as_json:
        echo_json(comparison.as_dict())
    else:
        _print_comparison(comparison)


def _request(app: App, camera: CameraSettings, video: Path | None, start: str | None, period_from: str | None,
             period_to: str | None, actor: str) -> Callable[[], int]:
    """What registers the replay the options ask for, once the options are checked."""
    if video is not None:
        if period_from or period_to:
            raise UsageError("--from and --to replay recordings: give them without VIDEO")
        if start is None:
            raise UsageError("VIDEO needs --start, the wall-clock time of its first frame")
        start_time = app.parse_time(start, "--start")
        return lambda: create_replay(app.engine, app.settings, camera, video, start_time, actor=actor)
    if start is not None:
        raise UsageError("--start goes with VIDEO; a camera's recordings take --from and --to")
    if not (period_from and period_to):
        raise UsageError("give VIDEO and --start, or --from and --to for the camera's recordings")
    begin, end = app.parse_time(period_from, "--from"), app.parse_time(period_to, "--to")

    def register() -> int:
        try:
            return request_recorded_replay(app.engine, app.settings, camera, begin, end, actor=actor)
        except PeriodError as exc:
            raise UsageError(f"--from/--to: {exc}") from None

    return register


@click.command("replay-run")
@click.argument("run_id", type=int)
@click.option("--handoff", hidden=True, help="The replay lock's name as the web app took it for this process.")
@with_app
def replay_run(app: App, run_id: int, handoff: str | None) -> None:
    """Run replay RUN_ID as requested on the auditor's page, then the replays queued after it
    (the web app starts this itself)."""
    with video_errors(ReplayError, OSError):  # another replay holding the lock too: exit 1
        run_replay_queue(app.engine, app.settings, first=run_id, handoff=handoff)
    _print_comparison(compare_replay(app.engine, run_id))


def _print_comparison(comparison: ReplayComparison) -> None:
    def side(event: EntryEvent | ReplayEvent | None) -> str:
        return "-" if event is None else f"#{event.id} f{event.frame_index} t{event.track_id}"

    run = comparison.run
    if comparison.recorded:
        assert run.period_end is not None
        what = f"the recordings from {run.footage_start.isoformat()} to {run.period_end.isoformat()}"
    else:
        what = Path(run.video).name
    click.echo(f"replay #{run.id} of {what} as {run.camera_id} ({run.source_key}): {run.status}")
    click.echo(f"  {'outcome':<8} {'class':<10} {'dir':<5} {'stored':>20} {'replayed':>20}")
    for row in comparison.rows:
        apart = f" {row.time_delta.total_seconds():+.3f} s" if comparison.recorded and row.time_delta is not None else ""
        click.echo(f"  {row.outcome.value:<8} {row.label:<10} {row.direction:<5} {side(row.stored):>20} "
                   f"{side(row.replayed):>20}{apart}")
    counts = ", ".join(f"{outcome.value} {comparison.count(outcome)}" for outcome in Outcome)
    offset = comparison.time_offset
    click.echo(f"  {counts}" + (f"; replayed times differ by {offset.total_seconds():+.3f} s" if offset else ""))
    if not any(row.stored for row in comparison.rows):
        click.echo(f"  note: no events stored for camera {run.camera_id} "
                   + ("in this period" if comparison.recorded else "from this footage"))
    click.echo("  IDENTICAL: the replay reproduces the stored events" if comparison.identical
               else "  DIFFERENT: see missing, extra and shifted above")
