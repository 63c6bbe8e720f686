"""The ``replay`` and ``replay-run`` commands: stored footage analysed again into a replay run of its
own, apart from the live records, and compared with the events stored at the time.

``gatewatch.camera.replay`` loads no video library at import (the ``--tolerance`` default in the
help comes from it); the analysis, and with it cv2, av and torch, loads inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatewatch.camera.replay import (
    DEFAULT_TOLERANCE_FRAMES,
    Outcome,
    ReplayComparison,
    ReplayError,
    compare_replay,
    create_replay,
    run_replay,
)
from gatewatch.cli.analysis import video_errors
from gatewatch.cli.app import App, actor_option, echo_json, gate_options, gate_override, with_app

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
    with video_errors():
        run_id = create_replay(app.engine, app.settings, camera, video, start_time, actor=actor)
    with tqdm(unit="frame", desc=f"replay #{run_id}", leave=False, disable=None) as bar:
        def progress(frames: int) -> None:
            bar.update(frames - bar.n)

        _run(app, run_id, progress)
    comparison = compare_replay(app.engine, run_id, tolerance)
    if as_json:
        echo_json(comparison.as_dict())
    else:
        _print_comparison(comparison)


@click.command("replay-run")
@click.argument("run_id", type=int)
@with_app
def replay_run(app: App, run_id: int) -> None:
    """Run replay RUN_ID as requested on the auditor's page (the web app starts this itself)."""
    _run(app, run_id)
    _print_comparison(compare_replay(app.engine, run_id))


def _run(app: App, run_id: int, on_frame: Callable[[int], None] | None = None) -> None:
    """Run the replay, its failures told as the exit codes say: bad footage 1, a wrong model 2."""
    with video_errors(ReplayError, OSError):
        run_replay(app.engine, app.settings, run_id, on_frame=on_frame)


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
