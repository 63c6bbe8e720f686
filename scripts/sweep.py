#!/usr/bin/env python3
"""Does the default mode count what the reference mode counts on many lines, and what a person counts?

    python scripts/sweep.py [--footage street-motorcycles.mp4 ...] [--image-size 640] [--hand-only]
                            [--set analysis.scale=1.0 ...] [--json test-output/sweep.json]

For each footage file (all of ../shared/footage by default), with every countable class:

* the reference mode (whole of every frame) runs once, and its tracks are kept frame by frame:
  its tracks do not depend on the line, so every line is counted from them without the detector;
* the default mode (the configuration's analysis settings, changed by ``--set``) runs once per
  line, because its shortcuts depend on the line; all runs share one loaded model;
* where ``tests/data/<footage>_hand_count.json`` exists, its lines are counted too and set beside
  the hand count (riders and pedestrians together are its persons).

The lines: horizontal at 0.30, 0.35, ... 0.85 of the height and two diagonals, inside below.
The other direction (inside above) swaps entries and exits on both sides alike, so it agrees
wherever this one does. Only counting runs here (no evidence, no database): ``make bench`` times
the product path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gatewatch.settings import COUNTABLE_CLASSES, AnalysisSettings, CameraSettings, load_settings  # noqa: E402
from gatewatch.vision.agreement import Counts, TrackedFrame, count_crossings, count_line  # noqa: E402
from gatewatch.vision.analyser import FrameAnalyser  # noqa: E402
from gatewatch.vision.detector import YoloTracker, load_model  # noqa: E402
from gatewatch.vision.gate import Crossing  # noqa: E402
from gatewatch.vision.runstats import RunStats  # noqa: E402
from gatewatch.vision.sources import FileSource  # noqa: E402

SHARED = ROOT.parent / "shared"
HAND_COUNTS = ROOT / "tests" / "data"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
Line = tuple[tuple[float, float], tuple[float, float]]
LINES: list[Line] = [((0.0, y / 100), (1.0, y / 100)) for y in range(30, 86, 5)] + [
    ((0.0, 0.35), (1.0, 0.75)),
    ((0.0, 0.75), (1.0, 0.35)),
]


def camera(line: Line, inside: tuple[float, float] = (0.5, 0.95)) -> CameraSettings:
    return CameraSettings(id="sweep", name="sweep", source="sweep", classes=COUNTABLE_CLASSES,
                          gate={"line": [list(line[0]), list(line[1])], "inside": list(inside)})


def analyse(video: Path, cam: CameraSettings, yolo: YoloTracker, analysis: AnalysisSettings
            ) -> tuple[list[Crossing], list[TrackedFrame], tuple[int, int], RunStats]:
    """One run over ``video``: its crossings, what it tracked in each frame, the frame size, its stats."""
    source = FileSource(video, START)
    stats, crossings, frames = RunStats(), [], []
    analyser, size = None, (0, 0)
    try:
        for frame in source.frames():
            if analyser is None:
                analyser, size = FrameAnalyser(cam, yolo, analysis, frame.size, stats), frame.size
            result = analyser.analyse(frame)
            crossings += result.crossings
            frames.append(TrackedFrame(frame.index, frame.time, result.objects))
            stats.frames += 1
    finally:
        source.close()
    return crossings, frames, size, stats


def hand_lines(video: Path) -> Iterator[tuple[str, Line, tuple[float, float], Counts]]:
    """The lines counted by hand for ``video``, as (name, line, inside, counts)."""
    path = HAND_COUNTS / f"{video.stem.replace('-', '_')}_hand_count.json"
    if not path.is_file():
        return
    for name, line in json.loads(path.read_text())["lines"].items():
        counts: Counts = {}
        for direction, key in (("entry", "entries"), ("exit", "exits")):
            for label, n in line[key].items():
                counts[(label, direction)] = n
        persons = line.get("riders", 0) + line.get("pedestrians", 0)
        if persons:
            counts[("person", "entry")] = persons
        yield name, tuple(map(tuple, line["line"])), tuple(line["inside"]), dict(sorted(counts.items()))


def text(counts: Counts) -> str:
    return " ".join(f"{label}:{direction[:2]}{n}" for (label, direction), n in counts.items()) or "-"


def sweep(video: Path, settings: Any, model: Any, fast: AnalysisSettings,
          hand_only: bool = False) -> dict[str, Any]:
    yolo = YoloTracker(settings.detector, COUNTABLE_CLASSES, model=model)
    started = time.perf_counter()
    reference_mode = fast.model_copy(update={"mode": "reference"})
    _, reference, size, _ = analyse(video, camera(LINES[0]), yolo, reference_mode)
    print(f"{video.name}: reference tracked in {time.perf_counter() - started:.0f} s", flush=True)
    rows = []
    swept = [] if hand_only else [(f"{line}", line, (0.5, 0.95), None) for line in LINES]
    lines = swept + list(hand_lines(video))
    for name, line, inside, hand in lines:
        cam = camera(line, inside)
        ref = count_line(reference, cam.gate, size, COUNTABLE_CLASSES)
        crossings, _, _, stats = analyse(video, cam, yolo, fast)
        default = count_crossings(crossings, COUNTABLE_CLASSES)
        same = default == ref
        rows.append({"line": name, "reference": text(ref), "default": text(default), "same": same,
                     "hand": text(hand) if hand is not None else None, "detected_on": stats.analysed,
                     "frames": stats.frames})
        hand_text = f"  hand {text(hand)}" if hand is not None else ""
        print(f"  {'same' if same else 'DIFF'} {name:<32} reference {text(ref):<44} default {text(default)}"
              f"{hand_text}", flush=True)
    differ = sum(not row["same"] for row in rows if row["hand"] is None)
    if swept:
        print(f"  {differ} of {len(swept)} lines differ; {time.perf_counter() - started:.0f} s", flush=True)
    return {"footage": video.name, "lines": rows, "lines_differing": differ}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "samples" / "gatewatch.yaml")
    parser.add_argument("--footage", nargs="*", help="file names in ../shared/footage (default: all)")
    parser.add_argument("--image-size", type=int, help="detector.image_size for both modes")
    parser.add_argument("--set", nargs="*", default=[], metavar="analysis.KEY=VALUE",
                        help="change the default mode's analysis settings")
    parser.add_argument("--hand-only", action="store_true", help="only the lines counted by hand")
    parser.add_argument("--json", type=Path, default=ROOT / "test-output" / "sweep.json")
    args = parser.parse_args()
    settings = load_settings(args.config)
    if args.image_size:
        settings = settings.model_copy(
            update={"detector": settings.detector.model_copy(update={"image_size": args.image_size})})
    changes = dict(item.removeprefix("analysis.").split("=", 1) for item in args.set)
    fast = AnalysisSettings.model_validate({**settings.analysis.model_dump(), **changes})
    model = load_model(settings.detector)
    names = args.footage or sorted(p.name for p in (SHARED / "footage").glob("*.mp4"))
    if args.hand_only:
        names = [name for name in names if any(hand_lines(SHARED / "footage" / name))]
    results = [sweep(SHARED / "footage" / name, settings, model, fast, args.hand_only) for name in names]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"image_size": settings.detector.image_size, "analysis": changes,
                                     "results": results}, indent=2))


if __name__ == "__main__":
    main()
