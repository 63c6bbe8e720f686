#!/usr/bin/env python3
"""How fast is gate analysis on this machine? Prints a table and writes the figures as JSON.

    python scripts/bench.py [--config samples/gatewatch.yaml] [--json bench-results.json]
                            [--cameras 1,2,4] [--skip-reference] [--modes default,encoded,no-clips]
                            [--skip-hand-counts] [--repeat N]

For each camera of the configuration whose source is a stored file, each in a process of its
own so peak memory is its own:

* decode: every frame decoded as fast as FFmpeg can (its own choice of threads, one per core),
  nothing else: the limit, whatever ``analysis.decode_threads`` the pipeline decodes with;
* reference: ``analysis.mode: reference``, detection and tracking on the whole of every frame;
* default: the analysis settings of the configuration (plate reading included); clips are the
  footage's own packets, remuxed (``evidence.clip_mode: auto`` on H.264 footage);
* encoded: the same with ``evidence.clip_mode: encode``, clips decoded, scaled, boxed and
  encoded again as before clips were copied;
* no-clips: the default mode making no clip at all (its packet ring drops what it is given, in
  its process alone), the baseline both kinds of clip are measured against: the table's
  evidence line gives their CPU per frame, copied and encoded, and the default mode's CPU per
  frame with each;
* no-plates: the default mode without plate reading, so the table can say what reading plates costs.
* detect: the default mode on the street file (the first 1080p one) analysed on a 640x360 detect
  stream made from it when the bench starts (``scaled_copy``, PyAV/libx264, in a temporary
  folder), clips, snapshots and plates from the original (``gatewatch process --detect-video``);
  the table's detect line gives its CPU per frame and crossings against the default mode's.

Both analysis modes run the real product path (``analyse_file``: pipeline, event writer,
evidence encoding and a migrated SQLite database in a temporary directory), and their time runs
until the last event is stored, so the evidence encoding on the writer's thread is part of it.
The model is loaded and compiled for the camera's detection window before the clock starts,
as a running worker has it.
With ``--repeat N`` each mode runs N times, the modes taking turns, and the table shows each
mode's run of least CPU time: on a shared machine, the one least disturbed by other work.
Then N workers analyse the first 1080p file (or the first file) at once in default mode, one
process each, started together after each has loaded the model, and the aggregate real-time
factor is printed. Last, the footage counted by hand (``tests/data/*_hand_count.json``) is counted
on its lines in both modes with the configuration's settings (``scripts/sweep.py --hand-only``),
beside the hand count. Compare runs with the JSON; the machine's load average is recorded in it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("decode", "reference", "default", "encoded", "no-clips", "no-plates", "detect")
#: The detect stream ``detect`` analyses, as a camera's substream would be.
DETECT_SIZE = (640, 360)


def _settings(config: Path, data_dir: Path, mode: str):  # -> Settings; imported lazily for a fast --help
    from gatewatch.settings import AnalysisSettings, load_settings

    settings = load_settings(config)
    update: dict[str, Any] = {"data_dir": data_dir}
    if mode == "reference":
        update["analysis"] = AnalysisSettings(mode="reference")
    if mode == "no-plates":  # the default mode without plate reading, to measure what reading costs
        update["plates"] = settings.plates.model_copy(update={"enabled": False})
    if mode == "encoded":  # clips as they were made before they were copied
        update["evidence"] = settings.evidence.model_copy(update={"clip_mode": "encode"})
    return settings.model_copy(update=update)


def scaled_copy(video: Path, out: Path, size: tuple[int, int] = DETECT_SIZE, crf: int = 23,
                keyframe_seconds: float = 2.0) -> Path:
    """``video`` re-encoded with libx264 at ``size``, same frames and times (pts), a keyframe every ``keyframe_seconds``."""
    import av

    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        stream = source.streams.video[0]
        rate = stream.average_rate
        encoded = target.add_stream("libx264", rate=rate)
        encoded.width, encoded.height = size
        encoded.pix_fmt = "yuv420p"
        encoded.time_base = stream.time_base
        encoded.options = {"preset": "veryfast", "crf": str(crf), "g": str(round(keyframe_seconds * rate))}
        for frame in source.decode(stream):
            scaled = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            target.mux(encoded.encode(scaled))
        target.mux(encoded.encode(None))
    return out


def _make_no_clips() -> None:
    """In this process only: crossings get no clip (the ``no-clips`` mode).

    The packet ring (the footage is H.264) drops every packet it is given, so no clip can be cut,
    and no frame is held for a clip either: what is left is analysis, snapshots and plates.
    """
    from gatewatch.vision.packets import PacketRing

    PacketRing.add = lambda _self, _packet: None  # type: ignore[method-assign]


def _frame_pixels(video: Path) -> int:
    from gatewatch.vision.sources import FileSource

    source = FileSource(video)
    try:
        width, height = next(iter(source.frames())).size
        return width * height
    finally:
        source.close()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


@contextmanager
def _clock() -> Iterator[dict[str, float]]:
    """The block's wall time (``seconds``) and its process's CPU time (``cpu_seconds``), once it ends."""
    spent: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    yield spent
    spent.update(seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu)


def _decode(video: Path) -> dict[str, Any]:
    from gatewatch.vision.sources import FileSource

    source = FileSource(video, datetime.now(UTC), threads=0)
    with _clock() as spent:
        frames = sum(1 for _ in source.frames())
    source.close()
    return {"frames": frames, **spent, "fps": source.fps}


def _analyse(config: Path, camera_id: str, mode: str, wait: bool, detect_video: Path | None = None) -> dict[str, Any]:
    from gatewatch.camera.analysis import analyse_file
    from gatewatch.models.db import make_engine, migrate
    from gatewatch.vision.detector import load_model
    from gatewatch.vision.sources import FileSource

    with tempfile.TemporaryDirectory(prefix="gatewatch-bench-") as tmp:
        settings = _settings(config, Path(tmp), mode)
        camera = settings.camera(camera_id)
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
        model = load_model(settings.detector)
        _warm_up(settings, camera, model, detect_video)
        if mode == "no-clips":
            _make_no_clips()
        paired = _watch_paired() if detect_video is not None else []
        if wait:  # several cameras start together, after each has loaded its model
            print("ready", flush=True)
            sys.stdin.readline()
        with _clock() as spent:
            result = analyse_file(engine, settings, camera, Path(camera.source), datetime.now(UTC),
                                  progress=False, model=model, detect_video=detect_video)
        source = FileSource(Path(camera.source))
        fps = source.fps
        source.close()
        stats = result.stats
        return {
            "frames": stats.frames,
            **spent,
            "analysis_seconds": stats.seconds,
            "fps": fps,
            "analysed": stats.analysed,
            "stage_ms_per_frame": {k: v / stats.frames * 1000.0 for k, v in stats.stages.seconds.items()},
            "crossings": sorted([s.event.label, s.event.direction, s.event.frame_index] for s in result.stored),
            "plates_read": sum(s.event.plate_status == "read" for s in result.stored),
            "clip_kinds": sorted({s.event.clip_kind or "none" for s in result.stored}),
            **({"main_frames_decoded": paired[0].decoded_frames, "main_pictures_read": paired[0].decoded_pictures}
               if paired else {}),
        }


def _watch_paired() -> list:  # -> list[PairedSource], filled as the analysis opens its source
    """The detect mode's ``PairedSource``, kept to read how many main-stream frames it decoded."""
    from gatewatch.vision.paired import PairedSource

    sources: list[PairedSource] = []
    init = PairedSource.__init__

    def kept(self: PairedSource, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        sources.append(self)

    PairedSource.__init__ = kept  # type: ignore[method-assign]
    return sources


def _warm_up(settings, camera, model, detect_video: Path | None = None) -> None:  # Settings, CameraSettings, Model
    """Compile the model for the camera's detection window, as a running worker has it compiled."""
    from gatewatch.vision.analyser import FrameAnalyser
    from gatewatch.vision.detector import YoloTracker
    from gatewatch.vision.runstats import RunStats
    from gatewatch.vision.sources import FileSource

    source = FileSource(detect_video or Path(camera.source))
    try:
        frame = next(iter(source.frames()))
        analyser = FrameAnalyser(camera, YoloTracker(settings.detector, camera.classes, model=model),
                                 settings.analysis, frame.size, RunStats())
        analyser.detector.detect(frame)
    finally:
        source.close()


def child(args: argparse.Namespace) -> None:
    """One measurement in this process; prints its figures as one JSON line."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.child == "decode":
        figures = _decode(Path(args.video))
    else:
        detect = Path(args.detect_video) if args.detect_video else None
        figures = _analyse(Path(args.config), args.camera, args.child, args.wait, detect)
    figures["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(figures), flush=True)


def _spawn(args: argparse.Namespace, mode: str, camera_id: str, video: Path, *, wait: bool = False) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).resolve()), "--config", str(args.config), "--child", mode,
               "--camera", camera_id, "--video", str(video)]
    if wait:
        command.append("--wait")
    if mode == "detect":
        command += ["--detect-video", str(args.detect_video)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _result(process: subprocess.Popen) -> dict[str, Any]:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"a benchmark process failed (exit {process.returncode}); see its output above")
    return json.loads(out.strip().splitlines()[-1])


def _measure(args: argparse.Namespace, mode: str, camera_id: str, video: Path) -> dict[str, Any]:
    figures = _result(_spawn(args, mode, camera_id, video))
    figures["input_fps"] = figures["frames"] / figures["seconds"]
    figures["realtime"] = figures["input_fps"] / figures["fps"]
    return figures


def _together(args: argparse.Namespace, count: int, camera_id: str, video: Path) -> dict[str, Any]:
    """``count`` workers on the same footage at once; each has loaded its model before the start."""
    processes = [_spawn(args, "default", camera_id, video, wait=True) for _ in range(count)]
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("a worker did not start")
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    each = [_result(process) for process in processes]
    wall = max(e["seconds"] for e in each)  # all started together; the last to store its last event
    fps = each[0]["fps"]
    return {
        "cameras": count,
        "wall_seconds": wall,
        "aggregate_realtime": sum(e["frames"] for e in each) / wall / fps,
        "slowest_camera_realtime": min(e["frames"] / e["seconds"] / fps for e in each),
        "peak_rss_mb": max(e["peak_rss_mb"] for e in each),
        "same_crossings": all(e["crossings"] == each[0]["crossings"] for e in each),
    }


def _by_class(crossings: list[list[Any]]) -> str:
    counts = Counter((label, direction) for label, direction, _ in crossings)
    labels = sorted({label for label, _ in counts})
    text = (f"{label} {counts[(label, 'entry')]} in/{counts[(label, 'exit')]} out" for label in labels)
    return ", ".join(text) or "none"


def _agreement(reference: list[list[Any]], default: list[list[Any]]) -> str:
    from gatewatch.vision.agreement import frame_shift

    shift = frame_shift([tuple(c) for c in reference], [tuple(c) for c in default])
    return "DIFFERENT crossings" if shift is None else f"same crossings, frames within {shift}"


def _print_table(files: list[dict[str, Any]], together: list[dict[str, Any]]) -> None:
    header = (f"{'footage':<24}{'mode':<10}{'frames/s':>9}{'x real':>7}{'of decode':>10}{'analysis':>10}"
              f"{'detected':>9}{'CPU ms':>7}{'peak MB':>8}  crossings")
    print(header)
    print("-" * len(header))
    for entry in files:
        name = entry["video"]
        for mode in MODES:
            figures = entry.get(mode)
            if figures is None:
                continue
            analysed = "analysed" in figures
            detected = f"{figures['analysed'] / figures['frames']:.0%}" if analysed else "-"
            alone = f"{figures['frames'] / figures['analysis_seconds']:.1f}" if analysed else "-"
            crossings = _by_class(figures["crossings"]) if analysed else ""
            cpu_ms = figures["cpu_seconds"] / figures["frames"] * 1000
            print(f"{name:<24}{mode:<10}{figures['input_fps']:>9.1f}{figures['realtime']:>7.2f}"
                  f"{figures['input_fps'] / entry['decode']['input_fps']:>10.0%}{alone:>10}{detected:>9}"
                  f"{cpu_ms:>7.1f}{figures['peak_rss_mb']:>8.0f}  {crossings}")
            name = ""
        if "reference" in entry:
            print(f"{'':<24}default vs reference: {entry['default_vs_reference']}")
        if "evidence" in entry:
            print(f"{'':<24}{_evidence_line(entry['evidence'])}")
        if "detect_stream" in entry:
            print(f"{'':<24}{_detect_line(entry['detect_stream'])}")
        if "plate_cost" in entry:
            print(f"{'':<24}plate reading: {entry['plate_cost']:+.1%} time (default vs no-plates), "
                  f"{entry['default']['plates_read']} plates read")
        if "default" in entry:
            stages = entry["default"]["stage_ms_per_frame"]
            print(f"{'':<24}default, ms per frame: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if v))
    for run in together:
        print(f"{run['cameras']} camera(s) at once: {run['aggregate_realtime']:.2f}x real time in all, "
              f"slowest camera {run['slowest_camera_realtime']:.2f}x, peak {run['peak_rss_mb']:.0f} MB per worker"
              + ("" if run["same_crossings"] else ", CROSSINGS DIFFER between workers"))
    print("frames/s: input frames per second until the last event was stored (evidence encoding included);"
          " analysis: input frames per second until analysis ended, the writer still encoding beside it;"
          " CPU ms: CPU time of all the process's threads per input frame (up to 2x the wall time on 2 cores)")


def _cpu_ms(figures: dict[str, Any]) -> float:
    return figures["cpu_seconds"] / figures["frames"] * 1000


def _evidence(entry: dict[str, Any]) -> dict[str, Any]:
    """Clips' CPU per frame, encoded (before) and copied (after), over no clips; the default mode's CPU with each."""
    encoded, copied, none = (entry[mode] for mode in ("encoded", "default", "no-clips"))
    return {
        "encoded_clip_cpu_ms": _cpu_ms(encoded) - _cpu_ms(none),
        "copied_clip_cpu_ms": _cpu_ms(copied) - _cpu_ms(none),
        "encoded_cpu_ms": _cpu_ms(encoded),
        "copied_cpu_ms": _cpu_ms(copied),
        "cpu_change": _cpu_ms(copied) / _cpu_ms(encoded) - 1,
        "clip_kinds": {"encoded": encoded["clip_kinds"], "default": copied["clip_kinds"]},
        "same_crossings": encoded["crossings"] == copied["crossings"] == none["crossings"],
    }


def _evidence_line(evidence: dict[str, Any]) -> str:
    return (f"clips, CPU ms per frame: {evidence['encoded_clip_cpu_ms']:.1f} encoded (before) -> "
            f"{evidence['copied_clip_cpu_ms']:.1f} copied (after); default mode CPU "
            f"{evidence['encoded_cpu_ms']:.1f} -> {evidence['copied_cpu_ms']:.1f} ms per frame "
            f"({evidence['cpu_change']:+.0%}), "
            + ("same crossings" if evidence["same_crossings"] else "CROSSINGS DIFFER"))


def _detect_stream(entry: dict[str, Any]) -> dict[str, Any]:
    """The default mode on a 640x360 detect stream against the default mode on the file itself."""
    detect, default = entry["detect"], entry["default"]
    return {
        "size": list(DETECT_SIZE),
        "original_cpu_ms": _cpu_ms(default),
        "detect_cpu_ms": _cpu_ms(detect),
        "cpu_ratio": _cpu_ms(detect) / _cpu_ms(default),
        "original_crossings": _by_class(default["crossings"]),
        "detect_crossings": _by_class(detect["crossings"]),
        "same_crossings": _by_class(default["crossings"]) == _by_class(detect["crossings"]),
        "main_frames_decoded": detect.get("main_frames_decoded"),
        "main_pictures_read": detect.get("main_pictures_read"),
        "frames": detect["frames"],
    }


def _detect_line(figures: dict[str, Any]) -> str:
    return (f"detect stream {figures['size'][0]}x{figures['size'][1]}, default mode CPU ms per frame: "
            f"{figures['original_cpu_ms']:.1f} original -> {figures['detect_cpu_ms']:.1f} with the detect stream "
            f"(x{figures['cpu_ratio']:.2f}, {figures['cpu_ratio'] - 1:+.0%}); crossings "
            + ("the same" if figures["same_crossings"]
               else f"DIFFER: {figures['original_crossings']} -> {figures['detect_crossings']}")
            + f"; main stream decoded for {figures['main_pictures_read']} pictures (snapshots, plate views): "
              f"{figures['main_frames_decoded']} of {figures['frames']} frames")


def _hand_counts(config: Path) -> list[dict[str, Any]]:
    """The footage counted by hand, counted in both modes (``scripts/sweep.py --hand-only`` prints the lines)."""
    print("\ncounted by hand, per class (en: entries, ex: exits; persons are riders and pedestrians):", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "hand.json"
        sweep = [sys.executable, str(ROOT / "scripts" / "sweep.py"), "--config", str(config), "--hand-only"]
        subprocess.run([*sweep, "--json", str(out)], check=True, cwd=ROOT)
        return json.loads(out.read_text())["results"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "samples" / "gatewatch.yaml")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--cameras", default="1,2,4", help="numbers of cameras to run at once")
    parser.add_argument("--skip-reference", action="store_true", help="leave out the slow reference mode")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="the modes measured on each file, of: " + ", ".join(MODES) + " (decode is always run)")
    parser.add_argument("--skip-hand-counts", action="store_true", help="leave out counting the hand-counted footage")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each mode this many times, interleaved, and keep the run of least CPU time")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--camera", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--detect-video", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    sys.path.insert(0, str(ROOT))
    from gatewatch.settings import load_settings

    settings = load_settings(args.config)
    cameras = [c for c in settings.cameras if Path(c.source).is_file()]
    if not cameras:
        raise SystemExit(f"no camera in {args.config} has a video file as its source")
    modes = [m for m in MODES if m == "decode" or m in args.modes.split(",")]
    if unknown := set(args.modes.split(",")) - set(MODES):
        raise SystemExit(f"no such mode: {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")
    if args.repeat < 1:
        raise SystemExit("--repeat needs a number of runs, 1 or more")
    started, load_before = time.perf_counter(), os.getloadavg()
    big = max(cameras, key=lambda c: _frame_pixels(Path(c.source)))
    scratch = tempfile.TemporaryDirectory(prefix="gatewatch-bench-detect-")
    if "detect" in modes:
        print(f"{Path(big.source).name}: making its {DETECT_SIZE[0]}x{DETECT_SIZE[1]} detect stream ...",
              file=sys.stderr, flush=True)
        args.detect_video = scaled_copy(Path(big.source), Path(scratch.name) / f"detect-{Path(big.source).name}")
    files = []
    for camera in cameras:
        video = Path(camera.source)
        entry: dict[str, Any] = {"video": video.name, "camera": camera.id}
        runs: dict[str, list[dict[str, Any]]] = {}
        for run in range(1, args.repeat + 1):  # modes interleaved, so a busy spell spreads over all
            for mode in modes:
                if (mode == "reference" and args.skip_reference) or (mode == "detect" and camera is not big):
                    continue
                print(f"{video.name}: {mode} (run {run}) ...", file=sys.stderr, flush=True)
                runs.setdefault(mode, []).append(_measure(args, mode, camera.id, video))
        for mode, measured in runs.items():  # the run least disturbed by other work on the machine
            entry[mode] = min(measured, key=lambda figures: figures["cpu_seconds"])
            entry[mode]["cpu_seconds_of_runs"] = [figures["cpu_seconds"] for figures in measured]
        if "reference" in entry and "default" in entry:
            entry["default_vs_reference"] = _agreement(entry["reference"]["crossings"], entry["default"]["crossings"])
        if {"encoded", "default", "no-clips"} <= entry.keys():
            entry["evidence"] = _evidence(entry)
        if {"default", "detect"} <= entry.keys():
            entry["detect_stream"] = _detect_stream(entry)
        if {"default", "no-plates"} <= entry.keys():
            entry["plate_cost"] = entry["default"]["seconds"] / entry["no-plates"]["seconds"] - 1
        files.append(entry)
    scratch.cleanup()
    together = []
    for count in (int(n) for n in args.cameras.split(",") if n):
        print(f"{count} camera(s) at once ...", file=sys.stderr, flush=True)
        together.append(_together(args, count, big.id, Path(big.source)))
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_before": load_before,
                    "load_after": os.getloadavg()},
        "seconds": time.perf_counter() - started,
        "files": files,
        "together": together,
    }
    _print_table(files, together)
    if not args.skip_hand_counts:
        results["hand_counts"] = _hand_counts(args.config)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{results['seconds']:.0f} s in all; load average {load_before[0]:.2f} before, "
          f"{results['machine']['load_after'][0]:.2f} after; figures in {args.json}")


if __name__ == "__main__":
    main()
