"""Annotated renditions for an export: each event's clip with its boxes and gate line drawn in.

An export holds each event's original clip and its boxes JSON; asked for it, it adds a rendition
per event, drawn and encoded again by ``gatewatch.vision.annotate``. They are made at export time
into a folder of their own (``render_renditions``), one ``<event id>.mp4`` per event and a
``problems.json`` naming the events that got none and why, and ``create_export`` puts them in
the ZIP under ``annotated/`` (``zip_name``). The folder is the export's scratch space: nothing in
it is evidence, and it is removed once the ZIP is written.

The web app loads no video library, so an export job asked for renditions runs them in a process
of its own (``launch_renditions``: ``gatewatch export render-job ID``), as replays run, and waits
for it; the command line makes them in its own process. Only this module's functions that run
there import the vision code.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from gatewatch.evidence.files import resolve, write_atomic
from gatewatch.models.tables import EntryEvent
from gatewatch.settings import Settings

log = logging.getLogger(__name__)

#: The folder of renditions in the ZIP.
ZIP_FOLDER = "annotated"
PROBLEMS = "problems.json"
#: Progress: called with (events done, events in all).
Progress = Callable[[int, int], None]


def zip_name(event_id: int) -> str:
    """Where an event's rendition goes in the ZIP."""
    return f"{ZIP_FOLDER}/event-{event_id}.mp4"


def caption(event: EntryEvent) -> str:
    """The event's box caption, as its snapshot has it (``EventDraft.caption``)."""
    return f"{event.label} #{event.track_id} {event.direction}"


@dataclass
class Renditions:
    """The renditions made into ``folder``: ``file`` of an event, and why some have none."""

    folder: Path
    problems: list[str] = field(default_factory=list)

    def file(self, event_id: int) -> Path | None:
        path = self.folder / f"{event_id}.mp4"
        return path if path.is_file() else None

    @classmethod
    def read(cls, folder: Path) -> Renditions:
        """What ``render_renditions`` left in ``folder`` (perhaps in another process)."""
        problems = folder / PROBLEMS
        return cls(folder, json.loads(problems.read_text()) if problems.is_file() else [])


def render_renditions(engine: sa.Engine, settings: Settings, events: list[int], folder: Path, *,
                      progress: Progress | None = None) -> Renditions:
    """Make the rendition of each of ``events`` (ids) that has a clip and a boxes JSON, into ``folder``.

    An event without them, with expired evidence, or whose clip or boxes cannot be read gets no
    rendition and a line in ``problems``; the others are still made.
    """
    from gatewatch.vision.annotate import BoxesError, read_boxes, render_annotated

    folder.mkdir(parents=True, exist_ok=True)
    with Session(engine) as session:
        rows = list(session.exec(select(EntryEvent).where(EntryEvent.id.in_(events)).order_by(EntryEvent.id)).all())
    result = Renditions(folder)
    for done, event in enumerate(rows, 1):
        clip = resolve(settings.data_dir, event.clip_path)
        boxes = resolve(settings.data_dir, event.boxes_path)
        if event.evidence_expired_at is not None or event.clip_path is None:
            pass  # no clip, nothing to draw on: the events table says so
        elif event.boxes_path is None:
            result.problems.append(f"event #{event.id}: no annotated clip: no boxes were stored with its clip")
        elif clip is None or boxes is None:
            result.problems.append(f"event #{event.id}: no annotated clip: "
                                   f"{'its clip' if clip is None else 'its boxes JSON'} is missing")
        else:
            try:
                data = render_annotated(clip, read_boxes(boxes.read_bytes()), caption(event),
                                        preset=settings.evidence.clip_preset)
            except (BoxesError, OSError) as exc:
                result.problems.append(f"event #{event.id}: no annotated clip: {exc}")
            else:
                write_atomic(folder / f"{event.id}.mp4", data)
        if progress is not None:
            progress(done, len(rows))
    write_atomic(folder / PROBLEMS, json.dumps(result.problems).encode())
    return result


def renditions_dir(settings: Settings, job_id: int) -> Path:
    """The scratch folder of an export job's renditions."""
    return settings.data_dir / "exports" / "annotating" / f"job-{job_id}"


def launch_renditions(settings: Settings, job_id: int) -> subprocess.Popen[bytes]:
    """Make export job ``job_id``'s renditions in a process of its own (``gatewatch export render-job``).

    Like ``camera.replay.launch_replay``: the process needs only where the database and data are;
    its output goes to data_dir/exports/annotating/job-ID.log. Returns at once.
    """
    env = {**settings.child_environment(), "GATEWATCH_EVIDENCE__CLIP_PRESET": settings.evidence.clip_preset}
    folder = renditions_dir(settings, job_id)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"job-{job_id}.log", "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "gatewatch", "export", "render-job", str(job_id)], env=env,
                                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)
