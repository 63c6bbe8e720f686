"""Replay: stored footage analysed again as a camera, beside the events stored at the time.

The footage is a file under ``footage_dir`` (``request_replay``) or a period of a camera's
continuous recording (``request_recorded_replay``): its segments decoded in order as one stream
(``gatewatch.vision.segment_source``), each checked against the SHA-256 recorded for it first.

A replay run keeps its own rows (``ReplayRun``, ``ReplayEvent``): the live tables, queries and
cross-check never see it, and it writes no evidence files. ``compare_replay`` sets its crossings
beside the live events, matched by keys that do not depend on tracker ids: class, direction and
position within a tolerance. For a file, the live events are those of the same camera and
footage (same ``source_key``) and the position is the frame. For recorded time, they are the
camera's events of the period and the position is the time: the live worker counted frames
from when it started, the replay from the period's start, so only the times can agree.

For the web page: ``request_replay`` registers one (pending: queued) and ``start_next_replay``
starts the queue in a process of its own (``launch_replay``); ``replay_progress`` and
``compare_replay`` read the database, so any process can follow it; ``cancel_replay`` asks it to stop.

One replay runs at a time on the site (a replay decodes about 1 GB of footage and runs the
model on every frame), across every web worker, web server and the command line: a replay runs
only while its process holds the database lock ``replay`` (``gatewatch.models.locks``), kept
fresh by a thread while it works. The holder runs the queue: when its replay ends it takes the
oldest pending one, until none is left (``run_replay_queue``). Whoever finds the lock free (or
lapsed: its holder crashed) and replays pending starts a runner; ``queue_positions`` says where
each pending replay stands.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, select

from gatewatch.camera.footage import file_source_key, sync_camera
from gatewatch.camera.recorded import check_period, expected_frames, segment_name, segments_of
from gatewatch.evidence.files import file_sha256
from gatewatch.models import locks
from gatewatch.models.db import session_scope
from gatewatch.models.tables import EntryEvent, ReplayEvent, ReplayRun
from gatewatch.models.types import utcnow
from gatewatch.settings import CameraSettings, Settings

if TYPE_CHECKING:
    from gatewatch.vision.recorder import EventDraft
    from gatewatch.vision.segment_source import Segment
    from gatewatch.vision.sources import FrameSource

log = logging.getLogger(__name__)

#: Progress is written at most this often.
PROGRESS_SECONDS = 1.0
#: Frames a crossing may move and still be the same event.
DEFAULT_TOLERANCE_FRAMES = 3
#: Recorded time: seconds a crossing may move and still be the same event.
DEFAULT_TOLERANCE_SECONDS = 1.0
#: Recorded time: a crossing this close in time is the same, not shifted. The live worker stamps a
#: frame when it arrives, the recording by its presentation time: the network's jitter lies between.
SAME_SECONDS = 0.2
#: The lock a replay runner holds: one replay at a time on the site.
LOCK = "replay"
#: How long the lock holds without a refresh: the runner's thread refreshes it every quarter of this,
#: so a runner that crashed holds up the queue this long at most.
LOCK_TTL = timedelta(minutes=2)
#: How long the web's hand-over to a starting runner process holds before it lapses.
LAUNCH_TTL = timedelta(minutes=1)


class ReplayKind(StrEnum):
    FILE = "file"  # a footage file under footage_dir
    RECORDING = "recording"  # a camera's recorded period


class ReplayStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


FINISHED = (ReplayStatus.CANCELLED, ReplayStatus.DONE, ReplayStatus.FAILED)
#: What ``cancel_replay`` can stop.
CANCELLABLE = (ReplayStatus.PENDING, ReplayStatus.RUNNING)


class ReplayError(Exception):
    """A replay cannot be started or compared; the message says why."""


class ReplayBusy(ReplayError):
    """Another replay holds the ``replay`` lock; this one waits in the queue."""


def request_replay(engine: sa.Engine, settings: Settings, camera: CameraSettings, video: Path, start: datetime,
                   *, actor: str, frames_total: int | None = None) -> int:
    """Register a pending replay of ``video`` as ``camera`` (its gate may differ from the configured one).

    Reads the file only to name it by its content: the web app calls this without the video
    libraries, and ``run_replay`` finds out whether the file decodes.
    """
    sync_camera(engine, camera)
    parameters = {"camera": camera.model_dump(mode="json"), "settings": _analysis_sections(settings)}
    with session_scope(engine) as session:
        run = ReplayRun(camera_id=camera.id, source_key=file_source_key(video), video=str(video.resolve()),
                        footage_start=start, parameters=json.dumps(parameters, sort_keys=True),
                        status=ReplayStatus.PENDING, frames_total=frames_total, requested_by=actor)
        session.add(run)
        session.flush()
        return run.id


def recording_source_key(start: datetime, end: datetime) -> str:
    """Names a recorded period (with the camera, it is the footage a recorded replay ran over)."""
    return f"recording:{_stamp(start)}-{_stamp(end)}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def request_recorded_replay(engine: sa.Engine, settings: Settings, camera: CameraSettings, start: datetime,
                            end: datetime, *, actor: str) -> int:
    """Register a pending replay of ``camera``'s recordings from ``start`` to ``end`` (as ``camera``:
    its gate may differ from the configured one).

    Raises PeriodError (``gatewatch.camera.recorded``) for a period that cannot be replayed.
    Reads the database only: the segments' files are checked when the replay runs.
    """
    sync_camera(engine, camera)
    parameters = {"camera": camera.model_dump(mode="json"), "settings": _analysis_sections(settings)}
    with session_scope(engine) as session:
        segments = check_period(session, camera.id, start, end)
        run = ReplayRun(kind=ReplayKind.RECORDING, camera_id=camera.id, source_key=recording_source_key(start, end),
                        video="", footage_start=start, period_end=end, parameters=json.dumps(parameters, sort_keys=True),
                        status=ReplayStatus.PENDING, frames_total=expected_frames(segments, start, end),
                        requested_by=actor)
        session.add(run)
        session.flush()
        return run.id


def create_replay(engine: sa.Engine, settings: Settings, camera: CameraSettings, video: Path, start: datetime,
                  *, actor: str) -> int:
    """``request_replay`` after checking that ``video`` opens as video.

    Raises SourceError for a file that cannot be read as video.
    """
    from gatewatch.vision.sources import FileSource

    source = FileSource(video, start)
    total = source.total_frames
    source.close()
    return request_replay(engine, settings, camera, video, start, actor=actor, frames_total=total)


def _analysis_sections(settings: Settings) -> dict[str, Any]:
    """The settings sections that shape an analysis (detector, evidence, ...), as JSON values.

    Every section but the cameras (the run keeps its own) and the cross-check (a replay is not
    cross-checked), so a setting added later is recorded without a change here.
    """
    return {name: getattr(settings, name).model_dump(mode="json") for name in type(settings).model_fields
            if isinstance(getattr(settings, name), BaseModel) and name != "crosscheck"}


def _settings_of(run: ReplayRun, settings: Settings) -> tuple[Settings, CameraSettings]:
    """The settings and camera the run was created with (sections since removed are ignored)."""
    parameters = json.loads(run.parameters)
    update = {name: type(getattr(settings, name)).model_validate(value)
              for name, value in parameters["settings"].items() if name in type(settings).model_fields}
    return settings.model_copy(update=update), CameraSettings.model_validate(parameters["camera"])


def _update(engine: sa.Engine, run_id: int, **values: Any) -> str:
    """Set fields of the run; returns its status as it stands after (a cancel request shows here)."""
    with session_scope(engine) as session:
        run = session.get(ReplayRun, run_id)
        for name, value in values.items():
            setattr(run, name, value)
        return run.status


class _Recorder:
    """Stores a replay's crossings and progress, and notices a cancel request."""

    def __init__(self, engine: sa.Engine, run_id: int, stop: threading.Event,
                 lost: threading.Event | None = None) -> None:
        self.engine, self.run_id, self.stop = engine, run_id, stop
        self.lost = lost or threading.Event()
        self.frames = 0
        self._written = time.monotonic()

    def crossing(self, draft: EventDraft) -> None:
        c = draft.crossing
        with session_scope(self.engine) as session:
            session.add(ReplayEvent(run_id=self.run_id, track_id=c.track_id, label=c.label,
                                    direction=c.direction.value, occurred_at=c.time, frame_index=c.frame_index,
                                    confidence=round(c.confidence, 4)))

    def frame(self, _frame: object) -> None:
        self.frames += 1
        if time.monotonic() - self._written >= PROGRESS_SECONDS:
            self._written = time.monotonic()
            if _update(self.engine, self.run_id, frames_done=self.frames) == ReplayStatus.CANCELLING:
                self.stop.set()
        if self.lost.is_set():
            self.stop.set()


def run_replay(engine: sa.Engine, settings: Settings, run_id: int, *,
               on_frame: Callable[[int], None] | None = None, lost: threading.Event | None = None) -> ReplayRun:
    """Analyse the run's footage with the gate and detector settings it was created with.

    The caller holds the ``replay`` lock (``run_replay_queue``, ``run_replay_alone``); ``lost`` is
    set when it loses it, and the run then stops, recorded failed.
    Re-raises what made it fail (SourceError, DetectorError, ...) after recording it on the run.
    """
    from gatewatch.camera.analysis import make_pipeline

    with session_scope(engine) as session:
        run = session.get(ReplayRun, run_id)
        if run is None:
            raise ReplayError(f"there is no replay #{run_id}")
        # Claimed in one statement: two runners of the same replay cannot both start it.
        claimed = session.execute(
            sa.update(ReplayRun).where(ReplayRun.id == run_id, ReplayRun.status == ReplayStatus.PENDING)
            .values(status=ReplayStatus.RUNNING)
        ).rowcount
    if not claimed:
        raise ReplayError(f"replay #{run_id} is {run.status}; only a pending replay can run")
    run_settings, camera = _settings_of(run, settings)
    recorder = _Recorder(engine, run_id, threading.Event(), lost)

    def frame(item: object) -> None:
        recorder.frame(item)
        if on_frame is not None:
            on_frame(recorder.frames)

    try:
        source = _source(engine, run, run_settings)
        if run.frames_total is None and source.total_frames:
            _update(engine, run_id, frames_total=source.total_frames)
        try:
            make_pipeline(run_settings, camera).run(source, recorder.crossing, stop=recorder.stop,
                                                  on_frame=frame)
        finally:
            source.close()
    except BaseException as exc:
        _update(engine, run_id, status=ReplayStatus.FAILED, error=str(exc)[:500] or type(exc).__name__,
                frames_done=recorder.frames, finished_at=utcnow())
        raise
    if recorder.lost.is_set():
        _update(engine, run_id, status=ReplayStatus.FAILED, frames_done=recorder.frames, finished_at=utcnow(),
                error="stopped: this runner lost the replay lock (it stalled longer than the lock holds)")
        with Session(engine) as session:
            return session.get(ReplayRun, run_id)
    status = ReplayStatus.CANCELLED if recorder.stop.is_set() else ReplayStatus.DONE
    counted = {"frames_total": recorder.frames} if status == ReplayStatus.DONE and run.kind == ReplayKind.RECORDING else {}
    # A recorded period's total was estimated from its segments' lengths: the frames counted replace it.
    _update(engine, run_id, status=status, frames_done=recorder.frames, finished_at=utcnow(), **counted)
    with Session(engine) as session:
        return session.get(ReplayRun, run_id)


def _source(engine: sa.Engine, run: ReplayRun, settings: Settings) -> FrameSource:
    """The run's footage, opened: its file, or its period's segments. Raises SourceError or ReplayError."""
    threads = settings.analysis.decode_threads
    if run.kind != ReplayKind.RECORDING:
        from gatewatch.vision.sources import FileSource

        if file_source_key(Path(run.video)) != run.source_key:
            raise ReplayError(f"{run.video} has changed since replay #{run.id} was created")
        return FileSource(run.video, run.footage_start, threads=threads)
    from gatewatch.vision.segment_source import SegmentSource

    assert run.period_end is not None
    segments = _recorded_segments(engine, run, settings.data_dir)
    return SegmentSource(segments, run.footage_start, run.period_end, threads=threads, total_frames=run.frames_total,
                         description=f"the recordings of {run.camera_id} from {run.footage_start.isoformat()} "
                                     f"to {run.period_end.isoformat()}")


def _recorded_segments(engine: sa.Engine, run: ReplayRun, data_dir: Path) -> list[Segment]:
    """The period's segments for ``SegmentSource``, each file checked against its recorded SHA-256.

    A segment deleted before the replay was asked for was a gap when the period was chosen and is
    left out; one deleted since is named by the source (SourceError). An altered file is a ReplayError.
    """
    from gatewatch.vision.segment_source import Segment

    assert run.period_end is not None
    with Session(engine) as session:
        rows = segments_of(session, run.camera_id, run.footage_start, run.period_end, deleted=True)
    segments = []
    for row in rows:
        if row.deleted_at is not None and row.deleted_at <= run.created_at:
            continue
        path = data_dir / row.path if row.path else None
        if path is not None and path.is_file() and file_sha256(path) != row.sha256:
            raise ReplayError(f"{segment_name(row)} has been altered since it was recorded (its SHA-256 differs)")
        segments.append(Segment(segment_name(row), path, row.started_at))
    return segments


# --- the queue --------------------------------------------------------------------------------


def pending_runs(engine: sa.Engine) -> list[int]:
    """The queued replays, oldest first: the order they run in."""
    with Session(engine) as session:
        return list(session.exec(select(ReplayRun.id).where(ReplayRun.status == ReplayStatus.PENDING)
                                 .order_by(ReplayRun.id)).all())


def queue_positions(engine: sa.Engine) -> dict[int, int]:
    """Run id -> its place in the queue, from 1 (the next to start)."""
    return {run_id: place for place, run_id in enumerate(pending_runs(engine), 1)}


def _next_pending(engine: sa.Engine) -> int | None:
    queued = pending_runs(engine)
    return queued[0] if queued else None


def run_replay_queue(engine: sa.Engine, settings: Settings, *, first: int | None = None,
                     handoff: str | None = None, on_frame: Callable[[int], None] | None = None) -> list[int]:
    """Hold the ``replay`` lock and run ``first``, then every queued replay, oldest first.

    ``handoff``: the holder name under which ``start_next_replay`` took the lock for this process;
    without it the lock is taken here. Raises ReplayBusy when the lock is held by someone else.
    When the queue is empty the lock is given back, and the queue looked at once more: a replay
    queued in between, by someone who found the lock still held, is run too. Returns the runs
    tried. A run that fails is recorded failed on its row and the queue goes on; what made
    ``first`` fail is raised at the end, once the lock is given back.
    """
    holder = locks.new_holder("replay runner")
    if handoff is not None:
        if not locks.refresh(engine, LOCK, handoff, LOCK_TTL, new_holder=holder):
            raise ReplayBusy("the replay lock handed to this runner has lapsed or was taken over")
    elif not locks.acquire(engine, LOCK, holder, LOCK_TTL):
        raise ReplayBusy(_busy_text(engine))
    tried: list[int] = []
    first_failure: BaseException | None = None
    keeper = locks.Keeper(engine, LOCK, holder, LOCK_TTL).start()
    try:
        while not keeper.lost.is_set():
            run_id = first if first is not None and not tried else _next_pending(engine)
            if run_id is None:
                keeper.stop()
                locks.release(engine, LOCK, holder)
                if _next_pending(engine) is None or not locks.acquire(engine, LOCK, holder, LOCK_TTL):
                    break
                keeper = locks.Keeper(engine, LOCK, holder, LOCK_TTL).start()
                continue
            if run_id in tried:
                break  # it stayed pending after a try: the database is failing, leave it for later
            tried.append(run_id)
            try:
                run_replay(engine, settings, run_id, on_frame=on_frame, lost=keeper.lost)
            except Exception as exc:  # recorded on the run (or it was not pending): go on with the queue
                log.exception("replay #%s failed", run_id)
                if run_id == first:
                    first_failure = exc
    finally:
        keeper.stop()
        locks.release(engine, LOCK, holder)
    if first_failure is not None:
        raise first_failure
    return tried


def _busy_text(engine: sa.Engine) -> str:
    state = locks.current(engine, LOCK)
    holder = state.holder if state else "another process"
    return f"another replay is running ({holder}); this one waits in the queue until it ends"


@contextmanager
def replay_lock(engine: sa.Engine, what: str) -> Iterator[locks.Keeper]:
    """Hold the ``replay`` lock for the block (ReplayBusy when another replay holds it); pass the
    keeper's ``lost`` to ``run_replay``.

    For the command line's ``replay``, which runs its own replay at once or not at all."""
    try:
        with locks.held(engine, LOCK, locks.new_holder(what), LOCK_TTL) as keeper:
            yield keeper
    except locks.LockBusy:
        raise ReplayBusy(_busy_text(engine)) from None


def replay_runner(engine: sa.Engine) -> locks.LockState | None:
    """Who holds the ``replay`` lock, or None when nobody does (or its holder's time has lapsed)."""
    state = locks.current(engine, LOCK)
    return None if state is None or state.expired else state


def start_next_replay(engine: sa.Engine, settings: Settings) -> int | None:
    """Start a runner of the queue in a process of its own, if replays wait and the lock is free.

    The lock is taken here, for the runner, under a hand-over name that lapses after
    ``LAUNCH_TTL``, so two web servers cannot both start one, and a runner that fails to start
    holds the queue up no longer than that. Returns the replay the runner starts with, or None:
    nothing queued, or a replay is running (it runs the queue when it ends).
    """
    run_id = _next_pending(engine)
    if run_id is None:
        return None
    if replay_runner(engine) is not None:
        return None
    handoff = f"replay launch:{uuid.uuid4().hex}"
    if not locks.acquire(engine, LOCK, handoff, LAUNCH_TTL):
        return None
    try:
        launch_replay(settings, run_id, handoff=handoff)
    except BaseException:
        locks.release(engine, LOCK, handoff)
        raise
    return run_id


def launch_replay(settings: Settings, run_id: int, *, handoff: str | None = None) -> subprocess.Popen[bytes]:
    """Run a pending replay, and the queue after it, in a process of its own
    (``gatewatch replay-run``); returns at once.

    The caller, the web app, never loads the video and model libraries, and a replay that
    crashes takes nothing else down. The run's own parameters say how to analyse; the process
    needs only where the database and data are. Its output goes to data_dir/replays/ID.log.
    ``handoff``: the name under which the caller took the ``replay`` lock for the process.
    """
    env = settings.child_environment()
    log_dir = settings.data_dir / "replays"
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "gatewatch", "replay-run", str(run_id)]
    if handoff is not None:
        command += ["--handoff", handoff]
    with open(log_dir / f"{run_id}.log", "ab") as output:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    threading.Thread(target=process.wait, name=f"replay-{run_id}-reaper", daemon=True).start()
    return process


def cancel_replay(engine: sa.Engine, run_id: int) -> None:
    """Ask a running replay to stop (it stops within about a second); a pending one is cancelled now."""
    with session_scope(engine) as session:
        run = session.get(ReplayRun, run_id)
        if run is None:
            raise ReplayError(f"there is no replay #{run_id}")
        if run.status == ReplayStatus.RUNNING:
            run.status = ReplayStatus.CANCELLING
        elif run.status == ReplayStatus.PENDING:
            run.status, run.finished_at = ReplayStatus.CANCELLED, utcnow()


@dataclass(frozen=True)
class ReplayProgress:
    run_id: int
    status: str
    frames_done: int
    frames_total: int | None
    crossings: int
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def fraction(self) -> float | None:
        if self.status == ReplayStatus.DONE:
            return 1.0
        return min(1.0, self.frames_done / self.frames_total) if self.frames_total else None


def replay_progress(engine: sa.Engine, run_id: int) -> ReplayProgress:
    with Session(engine) as session:
        run = session.get(ReplayRun, run_id)
        if run is None:
            raise ReplayError(f"there is no replay #{run_id}")
        crossings = session.execute(
            sa.select(sa.func.count()).select_from(ReplayEvent).where(ReplayEvent.run_id == run_id)
        ).scalar_one()
    return ReplayProgress(run_id, run.status, run.frames_done, run.frames_total, crossings, run.error)


# --- comparison -------------------------------------------------------------------------------


class Outcome(StrEnum):
    SAME = "same"  # in both, at the same frame (recorded time: within SAME_SECONDS)
    SHIFTED = "shifted"  # in both, a few frames (recorded time: up to a second or so) apart
    MISSING = "missing"  # stored at the time, not found by the replay
    EXTRA = "extra"  # found by the replay, not stored at the time


@dataclass(frozen=True)
class ComparedEvent:
    label: str
    direction: str
    stored: EntryEvent | None
    replayed: ReplayEvent | None
    by_time: bool = False  # recorded time: paired by time, since frame indexes differ

    @property
    def frame(self) -> int:
        return (self.stored or self.replayed).frame_index  # type: ignore[union-attr]

    @property
    def time(self) -> datetime:
        return (self.stored or self.replayed).occurred_at  # type: ignore[union-attr]

    @property
    def outcome(self) -> Outcome:
        if self.stored is None:
            return Outcome.EXTRA
        if self.replayed is None:
            return Outcome.MISSING
        if self.by_time:
            apart = abs((self.replayed.occurred_at - self.stored.occurred_at).total_seconds())
            return Outcome.SAME if apart <= SAME_SECONDS else Outcome.SHIFTED
        return Outcome.SAME if self.stored.frame_index == self.replayed.frame_index else Outcome.SHIFTED

    @property
    def frame_delta(self) -> int | None:
        """Replayed minus stored frame; None for recorded time, whose frames are counted differently."""
        if self.stored is None or self.replayed is None or self.by_time:
            return None
        return self.replayed.frame_index - self.stored.frame_index

    @property
    def time_delta(self) -> timedelta | None:
        if self.stored is None or self.replayed is None:
            return None
        return self.replayed.occurred_at - self.stored.occurred_at

    def as_dict(self) -> dict[str, Any]:
        def side(event: EntryEvent | ReplayEvent | None) -> dict[str, Any] | None:
            if event is None:
                return None
            return {"id": event.id, "track_id": event.track_id, "frame": event.frame_index,
                    "time": event.occurred_at.isoformat(), "confidence": event.confidence}

        delta = self.time_delta
        return {"label": self.label, "direction": self.direction, "outcome": self.outcome.value,
                "frame_delta": self.frame_delta,
                "time_delta_seconds": delta.total_seconds() if delta is not None else None,
                "stored": side(self.stored), "replayed": side(self.replayed)}


@dataclass(frozen=True)
class ReplayComparison:
    run: ReplayRun
    tolerance_frames: int
    rows: list[ComparedEvent]
    tolerance_seconds: float | None = None  # recorded time: pairs within this many seconds

    def count(self, outcome: Outcome) -> int:
        return sum(row.outcome == outcome for row in self.rows)

    @property
    def recorded(self) -> bool:
        return self.run.kind == ReplayKind.RECORDING

    @property
    def complete(self) -> bool:
        return self.run.status == ReplayStatus.DONE

    @property
    def identical(self) -> bool:
        """The replay found exactly the stored events, at the same frames (recorded time: the same moments)."""
        return self.complete and all(row.outcome == Outcome.SAME for row in self.rows)

    @property
    def time_offset(self) -> timedelta | None:
        """Replayed minus stored time of matched events: not zero when the start given differs.

        None for recorded time, where each row's difference is its own."""
        matched = [row for row in self.rows if row.stored and row.replayed]
        if not matched or self.recorded:
            return None
        return matched[0].time_delta

    def as_dict(self) -> dict[str, Any]:
        offset = self.time_offset
        run = self.run
        return {
            "run_id": run.id, "kind": run.kind, "camera_id": run.camera_id, "source_key": run.source_key,
            "period": ({"start": run.footage_start.isoformat(), "end": run.period_end.isoformat()}
                       if run.period_end is not None else None),
            "status": run.status, "tolerance_frames": None if self.recorded else self.tolerance_frames,
            "tolerance_seconds": self.tolerance_seconds, "identical": self.identical,
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "time_offset_seconds": offset.total_seconds() if offset is not None else None,
            "rows": [row.as_dict() for row in self.rows],
        }


Event = EntryEvent | ReplayEvent


def _match(label: str, direction: str, stored: list[EntryEvent], replayed: list[ReplayEvent], tolerance: float,
           position: Callable[[Event], float], *, by_time: bool = False) -> list[ComparedEvent]:
    """Pair two lists sorted by ``position``: each event with the earliest unpaired one within ``tolerance``."""
    rows, i, j = [], 0, 0
    while i < len(stored) or j < len(replayed):
        a = stored[i] if i < len(stored) else None
        b = replayed[j] if j < len(replayed) else None
        if a is not None and b is not None and abs(position(a) - position(b)) <= tolerance:
            rows.append(ComparedEvent(label, direction, a, b, by_time))
            i, j = i + 1, j + 1
        elif b is None or (a is not None and position(a) < position(b)):
            rows.append(ComparedEvent(label, direction, a, None, by_time))
            i += 1
        else:
            rows.append(ComparedEvent(label, direction, None, b, by_time))
            j += 1
    return rows


def _frame(event: Event) -> float:
    return event.frame_index


def _seconds(event: Event) -> float:
    return event.occurred_at.timestamp()


def compare_replay(engine: sa.Engine, run_id: int, tolerance_frames: int = DEFAULT_TOLERANCE_FRAMES,
                   tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS) -> ReplayComparison:
    """The replay's crossings beside the live events, in order: for a file, those of its camera and
    footage, by frame within ``tolerance_frames``; for recorded time, those of its camera in its
    period, by time within ``tolerance_seconds``."""
    with Session(engine) as session:
        run = session.get(ReplayRun, run_id)
        if run is None:
            raise ReplayError(f"there is no replay #{run_id}")
        recorded = run.kind == ReplayKind.RECORDING and run.period_end is not None
        same_footage = (
            sa.and_(EntryEvent.occurred_at >= run.footage_start, EntryEvent.occurred_at <= run.period_end)
            if recorded else EntryEvent.source_key == run.source_key
        )
        stored = session.exec(select(EntryEvent).where(EntryEvent.camera_id == run.camera_id, same_footage)).all()
        replayed = session.exec(select(ReplayEvent).where(ReplayEvent.run_id == run_id)).all()
    groups: dict[tuple[str, str], tuple[list[EntryEvent], list[ReplayEvent]]] = defaultdict(lambda: ([], []))
    for event in stored:
        groups[(event.label, event.direction)][0].append(event)
    for crossing in replayed:
        groups[(crossing.label, crossing.direction)][1].append(crossing)
    position, tolerance = (_seconds, tolerance_seconds) if recorded else (_frame, tolerance_frames)
    rows: list[ComparedEvent] = []
    for (label, direction), (a, b) in groups.items():
        rows += _match(label, direction, sorted(a, key=lambda e: (position(e), e.id)),
                       sorted(b, key=lambda e: (position(e), e.id)), tolerance, position, by_time=recorded)
    rows.sort(key=lambda row: (row.time if recorded else row.frame, row.label, row.direction))
    return ReplayComparison(run, tolerance_frames, rows, tolerance_seconds if recorded else None)
