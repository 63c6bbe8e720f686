"""The ``replay`` and ``replay-run`` commands: stored footage analysed again into a replay run of its
own, apart from the live records, and compared with the events stored at the time.

``gatewatch.camera.replay`` loads no video library at import (the ``--tolerance`` default in the
help comes from it); the analysis, and with it cv2, av and torch, loads inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatewatch.camera.replay import (
    DEFAULT_TOLERANCE_FRAMES,
    Outcome,
    ReplayBusy,
    ReplayComparison,
    ReplayError,
    compare_replay,
    create_replay,
    replay_lock,
    run_replay,
    run_replay_queue,
    start_next_replay,
)
from gatewatch.cli.analysis import video_errors
from gatewatch.cli.app import App, UsageError, actor_option, echo_json, gate_options, gate_override, with_app

if TYPE_CHECKING:
    from gatewatch.models.tables import EntryEvent, ReplayEvent


@click.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--camera", "camera_id", required=True, help="Configured camera the footage came from.")
@click.option("--start", required=True, help="Wall-clock time of the first frame, ISO 8601.")
@gate_options
@click.option("--tolerance", default=DEFAULT_TOLERANCE_FRAMES, show_default=True, type=click.IntRange(min=0),
              help="Frames a crossing may move and still count as the same event.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@actor_option
@with_app
def replay(app: App, video: Path, camera_id: str, start: str, line: str | None, inside: str | None,
           tolerance: int, as_json: bool, actor: str) -> None:
    """Analyse VIDEO again as camera ID, apart from the live records, and compare with the stored events."""
    from tqdm import tqdm

    camera = gate_override(app.camera(camera_id), line, inside)
    start_time = app.parse_time(start, "--start")
    try:
        with replay_lock(app.engine, "replay (command line)") as keeper:
            with video_errors():
                run_id = create_replay(app.engine, app.settings, camera, video, start_time, actor=actor)
            with tqdm(unit="frame", desc=f"replay #{run_id}", leave=False, disable=None) as bar:
                def progress(frames: int) -> None:
                    bar.update(frames - bar.n)

                with video_errors(ReplayError, OSError):
                    run_replay(app.engine, app.settings, run_id, on_frame=progress, lost=keeper.lost)
    except ReplayBusy as exc:
        raise UsageError(f"{exc}; try again when it has ended") from None
    start_next_replay(app.engine, app.settings)  # replays queued on the auditor's page meanwhile
    comparison = compare_replay(app.engine, run_id, tolerance)
    if as_json:
        echo_json(comparison.as_dict())
    else:
        _print_comparison(comparison)


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
    click.echo(f"replay #{run.id} of {Path(run.video).name} as {run.camera_id} ({run.source_key}): {run.status}")
    click.echo(f"  {'outcome':<8} {'class':<10} {'dir':<5} {'stored':>20} {'replayed':>20}")
    for row in comparison.rows:
        click.echo(f"  {row.outcome.value:<8} {row.label:<10} {row.direction:<5} {side(row.stored):>20} "
                   f"{side(row.replayed):>20}")
    counts = ", ".join(f"{outcome.value} {comparison.count(outcome)}" for outcome in Outcome)
    offset = comparison.time_offset
    click.echo(f"  {counts}" + (f"; replayed times differ by {offset.total_seconds():+.3f} s" if offset else ""))
    if not any(row.stored for row in comparison.rows):
        click.echo(f"  note: no events stored for camera {run.camera_id} from this footage")
    click.echo("  IDENTICAL: the replay reproduces the stored events" if comparison.identical
               else "  DIFFERENT: see missing, extra and shifted above")
