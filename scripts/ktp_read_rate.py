"""How well the KTP scan reads: exact NIK reads over rendered cards, and the time per scan.

Renders ``--cards`` KTP-like cards with random plausible people (tests/ktp_cards.py), photographs
each at a slant, blurred and with glare, and reads it as the web app's reader does
(``KtpReader`` then ``ktp_check.checked_scan``). Reports how many NIKs were read exactly, how many
came out unreadable, and how many were wrong (must be 0: a wrong read must come out unreadable),
the names read exactly, the OCR models' load time and the time per scan (wall clock, and the
CPU time, which does not depend on what else the machine runs).

``--process`` also times the reader the web app talks to (``gatewatch ktp-read --serve``): its
first scan (process start and models' load included) and the next ones, photo sent over the pipe.

    .venv/bin/python scripts/ktp_read_rate.py --cards 120 [--process] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gatewatch.vision.ktp_reader import KtpReader, decode_image
from gatewatch.visitors.ktp_check import checked_scan
from gatewatch.visitors.ktp_scanner import KtpScanner
from tests.ktp_cards import random_card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=1, help="OCR threads (plates.threads)")
    parser.add_argument("--process", action="store_true", help="also time the reader process the web app uses")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--slant", type=float, default=0.06, help="perspective: corner shift, fraction of the card")
    parser.add_argument("--blur", type=float, default=1.2, help="largest Gaussian blur, px")
    parser.add_argument("--glare", type=float, default=0.35, help="strongest glare spot, 0..1")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality of the photos")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    distortion = {"slant": args.slant, "blur": args.blur, "glare": args.glare, "quality": args.quality}
    cards = [random_card(rng, **distortion) for _ in range(args.cards)]
    started = time.perf_counter()
    reader = KtpReader(threads=args.threads)
    reader.warm_up()
    load_seconds = time.perf_counter() - started
    outcomes: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    times, cpu_times, names, wrong, name_misses = [], [], 0, [], []
    for card in cards:
        started, cpu_started = time.perf_counter(), time.process_time()
        scan = checked_scan(reader.read(decode_image(card.photo)))
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
        names += scan.name == card.person.name
        if scan.name != card.person.name:
            name_misses.append((card.person.name, scan.name))
        if scan.nik is None:
            outcomes["unreadable"] += 1
            problems[scan.nik_problem or "?"] += 1
        elif scan.nik == card.person.nik:
            outcomes["exact"] += 1
        else:
            outcomes["wrong"] += 1
            wrong.append((card.person.nik, scan.nik))
    figures = {
        "cards": args.cards,
        "exact": outcomes["exact"],
        "unreadable": outcomes["unreadable"],
        "wrong": outcomes["wrong"],
        "exact_rate": round(outcomes["exact"] / args.cards, 3),
        "names_exact": names,
        "unreadable_because": dict(problems.most_common()),
        "models_load_seconds": round(load_seconds, 2),
        "scan_seconds_mean": round(statistics.mean(times), 3),
        "scan_seconds_median": round(statistics.median(times), 3),
        "scan_seconds_max": round(max(times), 3),
        "scan_cpu_seconds_mean": round(statistics.mean(cpu_times), 3),
        "photo_kb_mean": round(statistics.mean(len(card.photo) for card in cards) / 1024),
        "threads": args.threads,
        "distortion": distortion,
    }
    if wrong:
        figures["wrong_reads"] = wrong
    figures["names_missed_first"] = name_misses[:8]
    if args.process:
        figures.update(_process_times([card.photo for card in cards[:6]]))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def _process_times(photos: list[bytes]) -> dict[str, float]:
    """The web app's reader: the first scan (process start, models' load) and the next ones."""
    scanner = KtpScanner([sys.executable, "-m", "gatewatch", "ktp-read", "--serve"])
    try:
        started = time.perf_counter()
        scanner.scan(photos[0])
        first = time.perf_counter() - started
        later = []
        for photo in photos[1:]:
            started = time.perf_counter()
            scanner.scan(photo)
            later.append(time.perf_counter() - started)
    finally:
        scanner.close()
    return {"process_first_scan_seconds": round(first, 2),
            "process_later_scan_seconds_mean": round(statistics.mean(later), 3)}


if __name__ == "__main__":
    main()
