#!/usr/bin/env python3
"""Do a box's gate cameras keep up live? N cameras, real RTSP streams, M minutes: prints a table, writes JSON.

    python scripts/soak.py [--cameras 4] [--minutes 10] [--detect-stream] [--process-per-camera] [--json F]

The knobs also come from the environment (``make soak``): ``SOAK_CAMERAS`` (default 4),
``SOAK_MINUTES`` (default 10), ``SOAK_DETECT_STREAM=1`` and ``SOAK_PROCESS_PER_CAMERA=1`` (a worker
process per camera instead of one process for all, to compare); a flag given wins.

How it runs, all in one run so that figures from faster and slower days compare:

* reference: first the reference mode's CPU per frame on the street footage (``analysis.mode:
  reference``, detection on the whole of every frame), measured by ``scripts/bench.py``'s own
  machinery in a process of its own (``_measure``: model loaded and compiled before the clock).
* footage: the street footage (1080p30, about 10 s) remuxed without re-encoding into a looping
  Matroska file long enough for the run (``ffmpeg -stream_loop N -c copy``); with the detect
  stream, a 640x360 copy made by ``bench.scaled_copy`` (PyAV/libx264, a keyframe every 2 s) is
  looped the same way.
* streams: GStreamer's RTSP server (Debian's python3 with PyGObject, as in
  ``tests/camera/test_rtsp_stream.py``), one server process per camera on a port of its own,
  serving the looped file at its own pace; each reader gets its own pipeline from the file's start.
  With the detect stream each server also serves the 640x360 loop, the camera's ``detect_source``.
* live: a temporary configuration (SQLite in a temporary data_dir, the street gate line of
  ``samples/gatewatch.yaml``, ``analysis.stats_log_seconds: 10``) with cameras soak-1..N, run
  by ``gatewatch -v worker --all`` for M minutes (which migrates the new database once, then
  starts each camera's worker with ``-v``), then SIGTERM, waiting for it to end. The worker's
  log is kept beside the JSON (``soak-results.worker.log``).

What it measures:

* dropped frames per camera, and the frames it received (analysed plus dropped): from the
  worker's log. Each session of a camera (a connection) ends with the camera worker's
  "<id>: F frames at ..., D dropped; ms per frame: ..." (``RunStats.describe`` of the whole
  session), summed over sessions. The pipeline's lines every ``stats_log_seconds`` and the
  "behind real time" warnings are windows (``RunStats.since``) of a session: the pipeline's
  are summed only for a camera with no end line (they miss the last window). Drops made while a
  track was near the line (overload's last resort, "(N near the line)") are shown apart. The first
  pipeline window's drops are shown apart ("dropped at start"): frames that queued while the
  worker connected and compiled its model.
* CPU: every second, psutil reads the CPU times (user and system, with those of reaped
  children) of the worker and all its descendant processes, and of the RTSP servers; a process
  keeps the last figure read from it. ``cpu_per_camera_second`` is the workers' CPU seconds over
  cameras x wall seconds (a shared detector cannot be split by camera); ``server_cpu_per_second``
  is the servers' CPU seconds per wall second. The ratio printed: the workers' CPU per input
  frame (received frames, dropped included) over the reference mode's CPU per frame (issue 17's
  target: at most 1/6).
* memory: the sum of the worker processes' resident sizes, sampled every second: its peak, and
  its growth per minute as the slope of a least-squares line through the samples after the
  first minute (model loading and warm-up excluded).
* entries and exits per camera from the database (``EntryEvent.direction``), against an offline
  analysis: ``gatewatch process`` on the looped file cut to as many frames as that camera
  received (analysed plus dropped), from the loop's start (and its detect stream cut the same way).
  Approximate: a live stream starts when the worker connects and RTP delivery may lose the
  frames before the first keyframe, so the live camera's frames need not line up exactly with
  the cut file's; a crossing within a second or so of either end may count on one side only.
* lag per camera: ``EntryEvent.created_at - occurred_at`` (crossing to stored event), its 95th percentile.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SOAK_SHARED", "/work/shared"))
FOOTAGE = SHARED / "footage" / "street-pedestrians.mp4"
MODEL = SHARED / "models" / "yolo11n_int8_openvino_model"
SYSTEM_PYTHON = "/usr/bin/python3"
#: Serves a file at rtsp://127.0.0.1:PORT/gate (and a second at /detect), run with SYSTEM_PYTHON.
SERVER_SCRIPT = str(ROOT / "scripts" / "rtsp_serve.py")
#: A stats line: the camera worker's end of a session (whole session), the pipeline's window of
#: stats_log_seconds, or the worker's "behind real time" window (of the status interval).
STATS_LINE = re.compile(r"(?P<logger>gatewatch[\w.]*): (?P<camera>soak-\d+): (?P<behind>behind real time: )?"
                        r"(?P<frames>\d+) frames at .*?(?P<dropped>\d+) dropped"
                        r"(?: \((?P<near>\d+) near the line\))?; ms per frame")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def _loop(video: Path, out: Path, seconds: float) -> Path:
    """``video`` repeated without re-encoding into a Matroska file at least ``seconds`` long."""
    import av

    with av.open(str(video)) as source:
        length = float(source.duration / 1_000_000) if source.duration else 10.0
    loops = math.ceil(seconds / length) + 1
    _run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(video), "-c", "copy", str(out)],
         timeout=600)
    return out


def _cut(video: Path, out: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``video``, packets as stored."""
    _run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-frames:v", str(frames), "-c", "copy", str(out)],
         timeout=600)
    return out


def _street_gate() -> dict[str, Any]:
    import yaml

    sample = yaml.safe_load((ROOT / "samples" / "gatewatch.yaml").read_text())
    camera = next(c for c in sample["cameras"] if Path(c["source"]).name == FOOTAGE.name)
    return {"gate": camera["gate"], "classes": camera["classes"]}


def _config(folder: Path, cameras: list[dict[str, Any]]) -> Path:
    import yaml

    config = {
        "data_dir": str(folder / "data"),
        "detector": {"model": str(MODEL)},
        "analysis": {"stats_log_seconds": 10},
        "cameras": cameras,
    }
    path = folder / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _camera(camera_id: str, source: str, detect_source: str | None = None) -> dict[str, Any]:
    return {"id": camera_id, "name": camera_id, "source": source,
            **({"detect_source": detect_source} if detect_source else {}), **_street_gate()}


def _reference_cpu_ms(folder: Path) -> dict[str, Any]:
    """The reference mode's CPU per frame on the street footage, by scripts/bench.py in a process of its own."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    (folder / "reference").mkdir()
    config = _config(folder / "reference", [_camera("soak-reference", str(FOOTAGE))])
    args = argparse.Namespace(config=config, detect_video=None)
    figures = bench._measure(args, "reference", "soak-reference", FOOTAGE)
    return {"cpu_ms_per_frame": bench._cpu_ms(figures), "frames": figures["frames"],
            "cpu_seconds": figures["cpu_seconds"]}


class Sampler:
    """CPU times (last read per process) and resident size of a process tree, read every second."""

    def __init__(self, roots: list[int]) -> None:
        import psutil

        self._psutil = psutil
        self._roots = [psutil.Process(pid) for pid in roots]
        self.cpu: dict[int, float] = {}
        self.rss_mb: list[tuple[float, float]] = []  # (seconds since start, MB)

    def sample(self, at: float) -> None:
        rss = 0
        for root in self._roots:
            try:
                processes = [root, *root.children(recursive=True)]
            except self._psutil.Error:
                continue
            for process in processes:
                try:
                    with process.oneshot():
                        times = process.cpu_times()
                        memory = process.memory_info().rss
                except self._psutil.Error:
                    continue
                self.cpu[process.pid] = times.user + times.system + times.children_user + times.children_system
                rss += memory
        self.rss_mb.append((at, rss / 2**20))

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


def _slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of MB over time, per minute, of the samples after the first minute."""
    later = [(t, y) for t, y in points if t >= 60.0]
    if len(later) < 2:
        return 0.0
    mean_t = sum(t for t, _ in later) / len(later)
    mean_y = sum(y for _, y in later) / len(later)
    spread = sum((t - mean_t) ** 2 for t, _ in later)
    return sum((t - mean_t) * (y - mean_y) for t, y in later) / spread * 60.0 if spread else 0.0


def _wait_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the RTSP server exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the RTSP server did not listen within 15 s: {log.read_text()[-2000:]}")


def _dropped_and_frames(log_text: str) -> dict[str, dict[str, int]]:
    """Per camera: frames received (analysed plus dropped), dropped, and dropped near the line,
    summed over its sessions."""
    sessions: dict[str, list[tuple[int, int, int]]] = {}
    windows: dict[str, list[tuple[int, int, int]]] = {}
    for match in STATS_LINE.finditer(log_text):
        figures = (int(match["frames"]), int(match["dropped"]), int(match["near"] or 0))
        if match["logger"] == "gatewatch.camera.worker" and not match["behind"]:
            sessions.setdefault(match["camera"], []).append(figures)
        elif match["logger"] == "gatewatch.vision.pipeline":
            windows.setdefault(match["camera"], []).append(figures)
    result = {}
    for camera in set(sessions) | set(windows):
        counted = sessions.get(camera) or windows.get(camera, [])
        first = windows.get(camera, [(0, 0, 0)])[0][1]
        result[camera] = {"frames": sum(f for f, _, _ in counted), "dropped": sum(d for _, d, _ in counted),
                          "dropped_near_line": sum(n for _, _, n in counted), "dropped_first_window": first}
    return result


def _live_events(config: Path) -> dict[str, list[tuple[str, float]]]:
    """Per camera: (direction, lag seconds) of each stored event."""
    sys.path.insert(0, str(ROOT))
    from sqlmodel import Session, select

    from gatewatch.models.db import make_engine
    from gatewatch.models.tables import EntryEvent
    from gatewatch.settings import load_settings

    engine = make_engine(load_settings(config).effective_database_url)
    events: dict[str, list[tuple[str, float]]] = {}
    with Session(engine) as session:
        for event in session.exec(select(EntryEvent)):
            lag = (event.created_at - event.occurred_at).total_seconds()
            events.setdefault(event.camera_id, []).append((event.direction, lag))
    engine.dispose()
    return events


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _offline(folder: Path, camera_id: str, frames: int, looped: Path, detect_looped: Path | None) -> dict[str, int]:
    """Entries and exits of ``gatewatch process`` on the first ``frames`` frames of the loop."""
    work = folder / f"offline-{camera_id}"
    work.mkdir()
    video = _cut(looped, work / "cut.mkv", frames)
    command = [sys.executable, "-m", "gatewatch", "process", str(video), "--camera", "soak-offline", "--json",
               "--config", str(_config(work, [_camera("soak-offline", str(video))]))]
    if detect_looped is not None:
        command += ["--detect-video", str(_cut(detect_looped, work / "cut-detect.mkv", frames))]
    out = _run(command, capture_output=True, text=True, cwd=ROOT, timeout=3600).stdout
    directions = [json.loads(line).get("direction") for line in out.splitlines() if line.startswith("{")]
    return {"entries": directions.count("entry"), "exits": directions.count("exit")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=int(os.environ.get("SOAK_CAMERAS", "4")))
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10")))
    parser.add_argument("--detect-stream", action="store_true",
                        default=os.environ.get("SOAK_DETECT_STREAM", "") not in ("", "0"),
                        help="serve a 640x360 detect stream to each camera as its detect_source")
    parser.add_argument("--process-per-camera", action="store_true",
                        default=os.environ.get("SOAK_PROCESS_PER_CAMERA", "") not in ("", "0"),
                        help="a worker process per camera (worker --all --process-per-camera) instead of one")
    parser.add_argument("--json", type=Path, default=ROOT / "soak-results.json")
    args = parser.parse_args()
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
            capture_output=True, check=False).returncode != 0 or not shutil.which("ffmpeg"):
        raise SystemExit("the soak needs ffmpeg and Debian's python3-gi gir1.2-gst-rtsp-server-1.0 (make system-deps)")
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    started, load_before = datetime.now(UTC), os.getloadavg()
    seconds = args.minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="gatewatch-soak-") as tmp:
        folder = Path(tmp)
        print("reference mode's CPU per frame ...", file=sys.stderr, flush=True)
        reference = _reference_cpu_ms(folder)
        print(f"looping {FOOTAGE.name} for {args.minutes:g} min ...", file=sys.stderr, flush=True)
        looped = _loop(FOOTAGE, folder / "looped.mkv", seconds + 60)
        detect_looped = None
        if args.detect_stream:
            detect = bench.scaled_copy(FOOTAGE, folder / "detect.mp4")
            detect_looped = _loop(detect, folder / "detect-looped.mkv", seconds + 60)
        servers, cameras = [], []
        for number in range(1, args.cameras + 1):
            port, log = _free_port(), folder / f"rtsp-{number}.log"
            with open(log, "ab") as out:
                server = subprocess.Popen([SYSTEM_PYTHON, SERVER_SCRIPT, str(port), str(looped),
                                           *([str(detect_looped)] if detect_looped else [])], stdout=out, stderr=out)
            _wait_listening(server, port, log)
            servers.append(server)
            cameras.append(_camera(f"soak-{number}", f"rtsp://127.0.0.1:{port}/gate",
                                   f"rtsp://127.0.0.1:{port}/detect" if detect_looped else None))
        config = _config(folder, cameras)
        worker_log = folder / "worker.log"
        print(f"{args.cameras} camera(s) live for {args.minutes:g} min ...", file=sys.stderr, flush=True)
        try:
            with open(worker_log, "wb") as out:
                per_camera = ["--process-per-camera"] if args.process_per_camera else []
                worker = subprocess.Popen([sys.executable, "-m", "gatewatch", "-v", "worker", "--all", *per_camera,
                                           "--config", str(config)], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
            workers, server_cpu = Sampler([worker.pid]), Sampler([s.pid for s in servers])
            begun = time.monotonic()
            while (now := time.monotonic() - begun) < seconds and worker.poll() is None:
                workers.sample(now)
                server_cpu.sample(now)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - begun - now)))
            wall = time.monotonic() - begun
            server_cpu.sample(wall)
            workers.sample(wall)
            if worker.poll() is not None:
                raise SystemExit(f"the worker ended early (exit {worker.returncode}): "
                                 f"{worker_log.read_text()[-3000:]}")
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=120)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        finally:
            for server in servers:
                server.kill()
                server.wait()
        log_text = worker_log.read_text(errors="replace")
        shutil.copyfile(worker_log, args.json.with_suffix(".worker.log"))
        received = _dropped_and_frames(log_text)
        events = _live_events(config)
        rows = []
        for camera in cameras:
            camera_id = camera["id"]
            frames = received.get(camera_id, {"frames": 0, "dropped": 0, "dropped_near_line": 0,
                                              "dropped_first_window": 0})
            total = frames["frames"] + frames["dropped"]
            print(f"{camera_id}: offline analysis of {total} frames ...", file=sys.stderr, flush=True)
            offline = _offline(folder, camera_id, total, looped, detect_looped) if total else \
                {"entries": 0, "exits": 0}
            mine = events.get(camera_id, [])
            rows.append({
                "camera_id": camera_id, "dropped_frames": frames["dropped"],
                "entries": sum(d == "entry" for d, _ in mine), "exits": sum(d == "exit" for d, _ in mine),
                "offline_entries": offline["entries"], "offline_exits": offline["exits"],
                "lag_p95_seconds": _p95([lag for _, lag in mine]),
                "frames_received": total, "dropped_in_first_window": frames["dropped_first_window"],
                "dropped_near_line": frames["dropped_near_line"],
                "behind_warnings": log_text.count(f"{camera_id}: behind real time"),
            })
    input_frames = sum(r["frames_received"] for r in rows)
    live_ms = workers.cpu_seconds / input_frames * 1000.0 if input_frames else None
    results = {
        "when": started.isoformat(timespec="seconds"),
        "minutes": args.minutes, "seconds": wall, "detect_stream": args.detect_stream,
        "process_per_camera": args.process_per_camera,
        "cameras": rows,
        "cpu_per_camera_second": workers.cpu_seconds / (args.cameras * wall),
        "peak_rss_mb": max((mb for _, mb in workers.rss_mb), default=0.0),
        "rss_growth_mb_per_minute": _slope_per_minute(workers.rss_mb),
        "reference_cpu_ms_per_frame": reference["cpu_ms_per_frame"],
        "server_cpu_per_second": server_cpu.cpu_seconds / wall,
        "worker_cpu_seconds": workers.cpu_seconds,
        "live_cpu_ms_per_input_frame": live_ms,
        "live_vs_reference": live_ms / reference["cpu_ms_per_frame"] if live_ms else None,
        "reference": reference,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
    }
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _print(results: dict[str, Any]) -> None:
    rows = results["cameras"]
    print(f"Live soak: {len(rows)} camera(s), {results['seconds'] / 60:.1f} min, 1080p30 RTSP"
          f"{' + 640x360 detect streams' if results['detect_stream'] else ''}"
          f"{', a process per camera' if results.get('process_per_camera') else ', one process'}")
    print(f"{'camera':<10}{'frames':>8}{'dropped':>9}{'entries':>9}{'exits':>7}{'offline in/out':>16}"
          f"{'lag p95 s':>11}{'behind':>8}{'dropped at start':>18}{'near line':>11}")
    for r in rows:
        lag = f"{r['lag_p95_seconds']:.2f}" if r["lag_p95_seconds"] is not None else "-"
        print(f"{r['camera_id']:<10}{r['frames_received']:>8}{r['dropped_frames']:>9}{r['entries']:>9}{r['exits']:>7}"
              f"{r['offline_entries']:>9}/{r['offline_exits']:<6}{lag:>11}{r['behind_warnings']:>8}"
              f"{r['dropped_in_first_window']:>18}{r['dropped_near_line']:>11}")
    frames = sum(r["frames_received"] for r in rows)
    dropped = sum(r["dropped_frames"] for r in rows)
    print(f"{'box':<10}{frames:>8}{dropped:>9}{sum(r['entries'] for r in rows):>9}{sum(r['exits'] for r in rows):>7}"
          f"{sum(r['offline_entries'] for r in rows):>9}/{sum(r['offline_exits'] for r in rows):<6}")
    print(f"worker CPU: {results['cpu_per_camera_second']:.3f} s per camera-second "
          f"({results['worker_cpu_seconds']:.0f} s in all, 2 cores = 2.0 s per second)")
    print(f"memory (all worker processes): peak {results['peak_rss_mb']:.0f} MB, "
          f"growth {results['rss_growth_mb_per_minute']:+.1f} MB/min after the first minute")
    print(f"RTSP servers: {results['server_cpu_per_second']:.3f} CPU s per second")
    if results["live_cpu_ms_per_input_frame"] is not None:
        print(f"CPU per input frame: live {results['live_cpu_ms_per_input_frame']:.1f} ms, reference mode "
              f"{results['reference_cpu_ms_per_frame']:.1f} ms: ratio 1/{1 / results['live_vs_reference']:.1f}"
              f" (target: 1/6 or less)")
    print(f"load average before {results['machine']['load_before'][0]:.2f}, "
          f"after {results['machine']['load_after'][0]:.2f}")


if __name__ == "__main__":
    main()
