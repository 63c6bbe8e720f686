#!/usr/bin/env python3
"""What does the live view cost a camera worker? Prints one line: CPU ms per frame, off and on.

    python scripts/bench_live_view.py [--config samples/gatewatch.yaml] [--camera ID] [--video FILE]
                                      [--repeat N] [--json FILE]

The worker itself (``run_camera``: pipeline, event writer, evidence, tamper watch, a migrated
SQLite database in a temporary folder) analyses the configuration's first camera on a file
(by default its own source, the 1080p street footage of the sample configuration), with
``live_view.enabled`` off and on, ``--repeat`` times each, taking turns (off, on, on, off, ...)
so that other work on a shared machine falls on both alike. All in one process: the model is
loaded and compiled once, and a first run, not counted, builds what a worker builds once
(the plate reader's engine). Each run's figure is the process's CPU time over the file's frames;
the line gives each mode's median run and the difference.

A file is analysed faster than it plays, so the live view publishes more pictures a second of
footage than a live camera would (one per second of the clock): the difference is an upper
bound. The line also gives the publications' own CPU, measured on the analysis thread around
each one (``time.thread_time``), which no other work disturbs.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _frames(video: Path) -> int:
    from gatewatch.vision.sources import FileSource

    source = FileSource(video, threads=1)
    try:
        return sum(1 for _ in source.frames())
    finally:
        source.close()


class _Publications:
    """Counts ``LiveView.publish`` calls and the analysis thread's CPU time in them."""

    def __init__(self) -> None:
        from gatewatch.vision.live_view import LiveView

        self.count, self.cpu_seconds = 0, 0.0
        publish = LiveView.publish

        def measured(live: LiveView, *args: Any) -> bool:
            started = time.thread_time()
            try:
                return publish(live, *args)
            finally:
                self.cpu_seconds += time.thread_time() - started
                self.count += 1

        LiveView.publish = measured  # type: ignore[method-assign]


def _run(settings: Any, camera: Any, model: Any, live: bool) -> float:
    """One worker run over the file; the process's CPU seconds it took."""
    from gatewatch.camera.worker import run_camera
    from gatewatch.models.db import make_engine, migrate

    with tempfile.TemporaryDirectory(prefix="gatewatch-live-bench-") as tmp:
        run_settings = settings.model_copy(update={
            "data_dir": Path(tmp), "live_view": settings.live_view.model_copy(update={"enabled": live})})
        engine = make_engine(run_settings.effective_database_url)
        migrate(engine)
        started = time.process_time()
        run_camera(engine, run_settings, camera, threading.Event(), model=model)
        spent = time.process_time() - started
        engine.dispose()
    return spent


def measure(config: Path, camera_id: str | None, video: Path | None, repeat: int) -> dict[str, Any]:
    from gatewatch.settings import load_settings
    from gatewatch.vision.detector import load_model

    settings = load_settings(config)
    camera = settings.camera(camera_id) if camera_id else settings.cameras[0]
    if video is not None:
        camera = camera.model_copy(update={"source": str(video.resolve())})
    frames = _frames(Path(camera.source))
    model = load_model(settings.detector)
    publications = _Publications()
    _run(settings, camera, model, True)  # not counted: compiles the model, builds the plate reader
    publications.count, publications.cpu_seconds = 0, 0.0
    runs: dict[str, list[float]] = {"off": [], "on": []}
    for turn in range(repeat):
        for mode in (("off", "on") if turn % 2 == 0 else ("on", "off")):
            cpu = _run(settings, camera, model, mode == "on")
            runs[mode].append(cpu / frames * 1000.0)
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    per_picture = publications.cpu_seconds / max(1, publications.count) * 1000.0
    pictures_per_run = publications.count / repeat
    return {
        "video": Path(camera.source).name, "frames": frames, "repeat": repeat,
        "cpu_ms_per_frame": runs, "off": off, "on": on, "difference": (on - off) / off,
        "pictures_per_run": pictures_per_run, "publish_ms_per_picture": per_picture,
        "publish_ms_per_frame": per_picture * pictures_per_run / frames,
    }


def line(figures: dict[str, Any]) -> str:
    spread = {mode: f"{min(v):.1f}-{max(v):.1f}" for mode, v in figures["cpu_ms_per_frame"].items()}
    return (f"live view: CPU ms per frame {figures['off']:.1f} off -> {figures['on']:.1f} on "
            f"({figures['difference']:+.1%}; runs {spread['off']} off, {spread['on']} on, median of "
            f"{figures['repeat']} each, {figures['video']}, {figures['frames']} frames); publishing "
            f"{figures['publish_ms_per_picture']:.1f} ms a picture, {figures['pictures_per_run']:.0f} a run: "
            f"{figures['publish_ms_per_frame']:.3f} ms per frame")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "samples" / "gatewatch.yaml")
    parser.add_argument("--camera", help="a camera of the configuration; default its first")
    parser.add_argument("--video", type=Path, help="analyse this file instead of the camera's source")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode, taking turns")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    figures = measure(args.config, args.camera, args.video, max(1, args.repeat))
    print(line(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
