"""A gate's working day, scripted, through the real store and cross-check: ``make day``.

Not the video: crossings are stored as the camera worker stores them (``store_event``: passage,
cross-check, audit), and the guards' registrations, check-outs and the admins' authorisations go
through the same service functions as the pages, each at its moment of the day, in order. Every
entry in the script says whether it is covered (someone registered or authorised it) or a true
intrusion the queue must show (after hours, watch list, tailgater, walk-in, ...). At the end the
table says which entries the cross-check flagged, against that truth.

The day (a Wednesday at a district election commission's warehouse, one gate, open 06:00-20:00):
a police guard post of 4 on a standing authorisation, its guards stepping out and back all day;
warehouse staff (6, weekdays 07:30-16:30) going to lunch; two sub-district officers (Monday,
Wednesday, Friday 09:30-14:30); a delivery truck on an authorisation naming its plate; visitor
parties on foot, by car and by motorbike with one and two riders, one stepping out and back,
one coming back after checking out; a tailgater, a walk-in, unregistered motorbikes, a truck
nobody registered, a fifth person while the guard post is full, a plate on the watch list, and
people after hours.

    python scripts/day.py [--rounds 40] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.camera.recording import store_event
from gatewatch.crosscheck.watchlist import add_plate
from gatewatch.models.db import make_engine, migrate, session_scope
from gatewatch.models.enums import OPEN_STATUSES, EventStatus, PlateStatus
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.settings import Settings
from gatewatch.visitors.authorisations import AuthorisationInput, add_authorisation
from gatewatch.visitors.visits import VisitInput, check_out, register_visit

ZONE = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 12, 2)  # a Wednesday, in the past: check-outs may not lie in the future
CAMERA = "gerbang-utama"
ACTOR = ("guard-day", "guard")
COVERED, INTRUSION = "covered", "intrusion"
_BOX = (0.4, 0.3, 0.5, 0.8)  # any box: these crossings come from a camera, so passages may pair them


def at(clock: str, day_offset: int = 0) -> datetime:
    hours, minutes, *seconds = (float(part) for part in clock.split(":"))
    moment = datetime.combine(DAY + timedelta(days=day_offset), time(0), tzinfo=ZONE)
    return moment + timedelta(hours=hours, minutes=minutes, seconds=seconds[0] if seconds else 0)


@dataclass(frozen=True)
class Cross:
    """A crossing the camera makes; ``truth`` for entries: covered, or an intrusion to flag."""

    at: datetime
    label: str
    direction: str
    what: str  # which part of the day, for the table
    truth: str | None = None
    plate: str | None = None
    track: int = 0
    rides: int | None = None


@dataclass(frozen=True)
class Act:
    """Something a guard or an admin does at a moment: register, check out, authorise, watch."""

    at: datetime
    do: Callable[[Session, Settings, dict[str, int]], None]


Step = Cross | Act


@dataclass
class Script:
    steps: list[Step] = field(default_factory=list)
    _tracks: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def cross(self, moment: datetime, label: str, direction: str, what: str, truth: str | None = None,
              plate: str | None = None, rides: int | None = None) -> int:
        track = next(self._tracks)
        self.steps.append(Cross(moment, label, direction, what, truth if direction == "entry" else None,
                                plate, track, rides))
        return track

    def group(self, moment: datetime, count: int, direction: str, what: str, truth: str | None = None) -> None:
        """``count`` people on foot together, a few tenths of a second apart."""
        for i in range(count):
            self.cross(moment + timedelta(seconds=0.3 * i), "person", direction, what, truth)

    def ride(self, moment: datetime, vehicle: str, riders: int, direction: str, what: str,
             truth: str | None = None, plate: str | None = None) -> None:
        """A motorbike (or car, riders 0) and its riders, who cross with it."""
        track = self.cross(moment, vehicle, direction, what, truth, plate)
        for i in range(riders):
            self.cross(moment + timedelta(seconds=0.2 * (i + 1)), "person", direction, what, truth, rides=track)

    def act(self, moment: datetime, do: Callable[[Session, Settings, dict[str, int]], None]) -> None:
        self.steps.append(Act(moment, do))


def visit(key: str, name: str, nik: str, party: int = 1, **extra: Any) -> Callable[..., None]:
    def do(session: Session, settings: Settings, visits: dict[str, int], moment: datetime) -> None:
        data = VisitInput.parse({"visitor_name": name, "id_number": nik, "party_size": party,
                                 "check_in_at": moment, "camera_id": CAMERA, **extra}, settings.zone)
        visits[key] = register_visit(session, data, actor=ACTOR[0], role=ACTOR[1], settings=settings).id

    return do


def leave(key: str) -> Callable[..., None]:
    def do(session: Session, settings: Settings, visits: dict[str, int], moment: datetime) -> None:
        check_out(session, visits[key], actor=ACTOR[0], role=ACTOR[1], at=moment)

    return do


def authorise(**fields: Any) -> Callable[..., None]:
    def do(session: Session, settings: Settings, _visits: dict[str, int], _moment: datetime) -> None:
        data = AuthorisationInput.parse({"valid_from": DAY - timedelta(days=30), "valid_until": DAY + timedelta(days=60),
                                         **fields}, settings.zone)
        add_authorisation(session, data, actor="admin-day", role="admin", settings=settings)

    return do


def watch(plate: str, reason: str) -> Callable[..., None]:
    def do(session: Session, settings: Settings, _visits: dict[str, int], _moment: datetime) -> None:
        add_plate(session, plate, reason, actor="admin-day", role="admin", settings=settings)

    return do


def _act(script: Script, moment: datetime, do: Callable[..., None]) -> None:
    script.act(moment, lambda session, settings, visits: do(session, settings, visits, moment))


def _standing(script: Script) -> None:
    before = at("18:00", -1)
    _act(script, before, authorise(holder="Pos jaga Polres OKU, regu A", max_persons=4,
                                   start_time="06:30", end_time="19:00"))
    _act(script, before, authorise(holder="Staf gudang KPU", max_persons=6, weekdays=[1, 2, 3, 4, 5],
                                   start_time="07:30", end_time="16:30"))
    _act(script, before, authorise(holder="Petugas PPK Baturaja Timur", max_persons=2, weekdays=[1, 3, 5],
                                   start_time="09:30", end_time="14:30"))
    _act(script, before, authorise(holder="PT Logistik Nusantara", max_vehicles=1, plates=["BG 8123 KA"],
                                   weekdays=[1, 2, 3, 4, 5], start_time="08:00", end_time="12:00"))
    _act(script, before, watch("BG 6666 XX", "reported stolen, Polres OKU"))


def _staff(script: Script) -> None:
    script.group(at("06:35"), 4, "entry", "guard post arrives", COVERED)
    script.group(at("07:35"), 3, "entry", "warehouse staff arrive", COVERED)
    script.group(at("07:36"), 3, "entry", "warehouse staff arrive", COVERED)
    script.group(at("12:00"), 3, "exit", "staff lunch")
    script.group(at("12:45"), 3, "entry", "staff back from lunch", COVERED)
    script.group(at("10:00"), 2, "entry", "sub-district officers", COVERED)
    script.group(at("14:10"), 2, "exit", "sub-district officers")
    script.group(at("16:20"), 6, "exit", "warehouse staff leave")
    script.group(at("18:55"), 4, "exit", "guard post leaves")


#: Moments the guards' rounds keep away from, so that no guard is out when an intruder comes:
#: the camera cannot tell an intruder from a guard coming back, and neither can anyone.
QUIET = ("14:00", "14:45", "15:00", "15:20", "15:40", "16:45", "10:40", "13:20")


def _guard_rounds(script: Script, rounds: int) -> None:
    """A guard steps out and back ``rounds`` times, spread over the day, 5 minutes out each.

    A round is left out where it would meet a ``QUIET`` moment, or where it would leave fewer than
    one of the post's four inside (more rounds than a post can walk would make the script wrong).
    """
    quiet = [at(clock) for clock in QUIET]
    start, end, away = at("07:00"), at("18:30"), timedelta(minutes=5)
    step = (end - start) / max(rounds, 1)
    outings: list[datetime] = []
    for i in range(rounds):
        out = start + step * i
        near_quiet = any(out - timedelta(minutes=6) <= q <= out + timedelta(minutes=11) for q in quiet)
        if near_quiet or sum(out - away < other <= out for other in outings) >= 3:
            continue
        outings.append(out)
        script.cross(out, "person", "exit", "guard steps out")
        script.cross(out + away, "person", "entry", "guard comes back", COVERED)


def _visitors(script: Script) -> None:
    script.group(at("09:10"), 2, "entry", "visitor party on foot", COVERED)
    _act(script, at("09:11"), visit("v1", "Rahmat Hidayat", "1601051203850002", party=2))
    script.cross(at("09:40"), "person", "exit", "visitor steps out to the car")
    script.cross(at("09:46"), "person", "entry", "visitor steps back in", COVERED)
    script.group(at("10:30"), 2, "exit", "visitor party leaves")
    _act(script, at("10:31"), leave("v1"))
    _act(script, at("10:04"), visit("v2", "Dewi Lestari", "1601014507900003", party=3, vehicle_plate="BG 1234 AB",
                                    vehicle_type="car"))
    script.cross(at("10:05"), "car", "entry", "visitor by car", COVERED, plate="BG 1234 AB")
    script.cross(at("11:00"), "car", "exit", "visitor by car leaves", plate="BG 1234 AB")
    _act(script, at("11:01"), leave("v2"))
    script.ride(at("11:20"), "motorcycle", 2, "entry", "registered motorbike, two riders", COVERED, "BG 4521 QY")
    _act(script, at("11:21"), visit("v3", "Andi Saputra", "1601021108920001", party=2, vehicle_plate="BG 4521 QY",
                                    vehicle_type="motorcycle"))
    script.ride(at("12:10"), "motorcycle", 2, "exit", "registered motorbike leaves", plate="BG 4521 QY")
    _act(script, at("12:12"), leave("v3"))
    script.ride(at("13:20"), "motorcycle", 2, "entry", "checked-out visitor comes back", INTRUSION, "BG 4521 QY")
    _act(script, at("12:58"), visit("v4", "Siti Aminah", "1601036203950004", vehicle_plate="BG 3310 RT",
                                    vehicle_type="motorcycle"))
    script.ride(at("13:00"), "motorcycle", 1, "entry", "registered motorbike, one rider", COVERED, "BG 3310 RT")
    script.ride(at("13:40"), "motorcycle", 1, "exit", "registered motorbike leaves", plate="BG 3310 RT")
    _act(script, at("13:41"), leave("v4"))
    script.ride(at("09:20"), "truck", 0, "entry", "delivery truck on its authorisation", COVERED, "BG 8123 KA")
    script.ride(at("09:50"), "truck", 0, "exit", "delivery truck leaves", plate="BG 8123 KA")


def _intrusions(script: Script) -> None:
    _act(script, at("13:59:30"), visit("v5", "Yusuf Maulana", "1601040101880005"))
    script.cross(at("14:00"), "person", "entry", "registered visitor", COVERED)
    script.cross(at("14:00:00.7"), "person", "entry", "tailgater behind him", INTRUSION)
    script.cross(at("14:45"), "person", "entry", "walk-in, never registered", INTRUSION)
    script.ride(at("15:00"), "motorcycle", 2, "entry", "unregistered motorbike, two riders", INTRUSION, "BG 7777 AB")
    script.ride(at("15:20"), "motorcycle", 1, "entry", "unregistered motorbike, one rider", INTRUSION)
    script.ride(at("10:40"), "truck", 0, "entry", "truck nobody registered", INTRUSION, "BG 9001 ZZ")
    _act(script, at("15:38"), visit("v6", "Hendra Gunawan", "1601052505870006", vehicle_plate="BG 6666 XX",
                                    vehicle_type="car"))
    script.cross(at("15:40"), "car", "entry", "registered car on the watch list", INTRUSION, plate="BG 6666 XX")
    script.cross(at("15:55"), "car", "exit", "watch-list car leaves", plate="BG 6666 XX")
    _act(script, at("16:00"), leave("v6"))
    script.cross(at("16:45"), "person", "entry", "a fifth person while the guard post is full", INTRUSION)
    script.cross(at("20:30"), "person", "entry", "after hours on foot", INTRUSION)
    script.cross(at("21:05"), "car", "entry", "after hours by car", INTRUSION)


def working_day(rounds: int = 40) -> list[Step]:
    """The day's steps in the order they happen."""
    script = Script()
    _standing(script)
    _staff(script)
    _guard_rounds(script, rounds)
    _visitors(script)
    _intrusions(script)
    return sorted(script.steps, key=lambda step: step.at)


def day_settings(data_dir: Path, database_url: str | None = None) -> Settings:
    return Settings(
        detector={"model": "none: the day is scripted"},
        data_dir=data_dir,
        database_url=database_url,
        timezone=str(ZONE),
        cameras=[{"id": CAMERA, "name": "Gerbang utama", "source": "0",
                  "gate": {"line": [[0, 0.5], [1, 0.5]], "inside": [0.5, 0.9]},
                  "hours": {"open": "06:00", "close": "20:00"}}],
    )


def _event(step: Cross) -> EntryEvent:
    return EntryEvent(
        camera_id=CAMERA, source_key=f"day-{DAY}", track_id=step.track, label=step.label, direction=step.direction,
        occurred_at=step.at, frame_index=step.track, confidence=0.9, box_x1=_BOX[0], box_y1=_BOX[1],
        box_x2=_BOX[2], box_y2=_BOX[3], rides_track_id=step.rides, status=EventStatus.FLAGGED,
        plate_text=step.plate, plate_status=PlateStatus.READ if step.plate else None,
    )


@dataclass(frozen=True)
class Outcome:
    step: Cross
    status: str
    flag: str | None
    cover: str | None  # what explains it: visit #n or authorisation #n

    @property
    def flagged(self) -> bool:
        return self.status in OPEN_STATUSES


def run_day(engine: sa.Engine, settings: Settings, steps: list[Step]) -> list[Outcome]:
    """Play ``steps`` in order, each in its own transaction as it would happen; the entries' final verdicts."""
    with session_scope(engine) as session:
        if session.get(Camera, CAMERA) is None:
            session.add(Camera(id=CAMERA, name="Gerbang utama", source="0"))
    visits: dict[str, int] = {}
    stored: list[tuple[Cross, int]] = []
    for step in steps:
        with session_scope(engine) as session:
            if isinstance(step, Act):
                step.do(session, settings, visits)
            else:
                event = _event(step)
                store_event(session, event, settings)
                stored.append((step, event.id))
    with Session(engine) as session:
        rows = {e.id: e for e in session.exec(select(EntryEvent).where(EntryEvent.camera_id == CAMERA))}
    return [Outcome(step, rows[i].status, rows[i].flag, _cover(rows[i])) for step, i in stored if step.truth]


def _cover(event: EntryEvent) -> str | None:
    if event.visit_id:
        return f"visit #{event.visit_id}"
    return f"authorisation #{event.authorisation_id}" if event.authorisation_id else None


def confusion(outcomes: list[Outcome]) -> Counter[tuple[str, bool]]:
    return Counter((o.step.truth, o.flagged) for o in outcomes)


def report(outcomes: list[Outcome]) -> str:
    table = confusion(outcomes)
    lines = [
        f"{'entries':24} {'flagged':>8} {'not flagged':>12}",
        f"{'true intrusions':24} {table[INTRUSION, True]:8} {table[INTRUSION, False]:12}",
        f"{'covered crossings':24} {table[COVERED, True]:8} {table[COVERED, False]:12}",
        "",
        f"{'part of the day':52} {'truth':>9} {'entries':>8} {'flagged':>8}  flags",
    ]
    parts: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        parts.setdefault(outcome.step.what, []).append(outcome)
    for what, group in parts.items():
        flags = Counter(o.flag for o in group if o.flagged)
        shown = ", ".join(f"{flag} {n}" for flag, n in sorted(flags.items())) or "-"
        lines.append(f"{what:52} {group[0].step.truth:>9} {len(group):8} {sum(o.flagged for o in group):8}  {shown}")
    wrong = [o for o in outcomes if o.flagged != (o.step.truth == INTRUSION)]
    lines += ["", f"wrong verdicts: {len(wrong)}"]
    lines += [f"  {o.step.at:%H:%M:%S} {o.step.label} {o.step.what}: {o.status} {o.flag or o.cover}" for o in wrong]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40,
                        help="times a guard would step out and back; those meeting an intruder are left out "
                             "(40 gives 32)")
    parser.add_argument("--database-url", help="an empty database to play the day in; default a new SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gatewatch-day-") as folder:
        settings = day_settings(Path(folder), args.database_url)
        engine = make_engine(settings.effective_database_url)
        migrate(engine, settings.timezone)
        outcomes = run_day(engine, settings, working_day(args.rounds))
        engine.dispose()
    print(report(outcomes))
    table = confusion(outcomes)
    return 0 if table[INTRUSION, False] == 0 and table[COVERED, True] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
