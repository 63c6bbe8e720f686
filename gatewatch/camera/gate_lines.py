"""The gate line in force for each camera: the configuration's, until an admin saves one on the page.

The YAML seeds a new installation. Once a line is saved from the camera's picture
(``save_line``), that line wins: it is kept on the camera's row with who saved it and when, and
every save goes into the audit trail with the line before and after, since moving a line can hide
entries. The worker, ``process`` and ``replay`` all start from ``in_force``; an explicit ``--line``
on ``process`` or ``replay`` is a what-if for that run and wins over both.

A running worker follows a saved line within seconds, without a restart: its ``LineWatch`` reads
the row every few seconds, and the pipeline moves its counter to the new line from the next frame.
Nothing here loads video libraries: the web app saves and shows lines with it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session

from gatewatch.audit import trail
from gatewatch.models.db import session_scope
from gatewatch.models.tables import Camera, EntryEvent
from gatewatch.models.types import utcnow
from gatewatch.settings import CameraSettings, GateSettings

log = logging.getLogger(__name__)

#: Seconds between a running worker's reads of its camera's saved line.
WATCH_SECONDS = 2.0


class LineError(ValueError):
    """A line that cannot be saved: the message names the problem."""


def saved_gate(camera: CameraSettings, row: Camera | None) -> GateSettings | None:
    """The gate line saved on ``row`` (with the configuration's other gate settings), or None.

    A saved line that no longer reads (edited by hand in the database) is logged and ignored:
    the configuration's line then counts, rather than no line at all.
    """
    if row is None or not row.gate_line:
        return None
    try:
        return camera.gate.placed(json.loads(row.gate_line))
    except (ValueError, TypeError, ValidationError) as exc:
        log.error("%s: the saved gate line cannot be read (%s); the configuration's line counts", camera.id, exc)
        return None


def in_force(session: Session, camera: CameraSettings) -> CameraSettings:
    """``camera`` with the gate line in force: the one saved on the page, else the configuration's."""
    gate = saved_gate(camera, session.get(Camera, camera.id))
    return camera if gate is None else camera.model_copy(update={"gate": gate})


def camera_in_force(engine: sa.Engine, camera: CameraSettings) -> CameraSettings:
    """``in_force`` in a transaction of its own."""
    with session_scope(engine) as session:
        return in_force(session, camera)


def parse_placement(line: object, inside: object, margin: object) -> dict[str, object]:
    """A placement (``GateSettings.placement``) from a form or JSON: two points, one point, a margin.

    LineError names what is wrong; the points' ranges and the inside side are checked by ``placed``.
    """
    def point(value: object, name: str) -> list[float]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise LineError(f"{name}: give two numbers, x and y")
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            raise LineError(f"{name}: give two numbers, x and y") from None

    if not isinstance(line, (list, tuple)) or len(line) != 2:
        raise LineError("line: give its two ends")
    try:
        margin = float(margin)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LineError("margin: give a number") from None
    return {"line": [point(line[0], "line start"), point(line[1], "line end")],
            "inside": point(inside, "inside"), "margin": margin}


def placed_gate(camera: CameraSettings, placement: dict[str, object]) -> GateSettings:
    """``camera``'s gate with ``placement``; LineError with the problems when it is no gate line."""
    try:
        return camera.gate.placed(placement)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'gate'}: {e['msg']}" for e in exc.errors())
        raise LineError(problems) from None


def save_line(session: Session, camera: CameraSettings, gate: GateSettings, *, actor: str, role: str,
              now: datetime | None = None) -> bool:
    """Make ``gate`` the line in force for ``camera``, audited with the line before and after.

    False (and nothing written) when it is the line already in force.
    """
    row = session.get(Camera, camera.id)
    if row is None:
        raise LineError(f"there is no camera {camera.id!r}")
    before = in_force(session, camera).gate
    if before.placement() == gate.placement():
        return False
    row.gate_line = json.dumps(gate.placement())
    row.gate_line_saved_at, row.gate_line_saved_by = now or utcnow(), actor
    session.add(row)
    trail.record(session, actor=actor, role=role, action="camera.line_changed", entity="camera",
                 entity_id=camera.id, before=before.placement(), after=gate.placement())
    return True


@dataclass(frozen=True)
class CountedLine:
    """The gate line an event was counted against, for its page."""

    placement: dict[str, Any]  # GateSettings.placement()
    moved: bool  # the line in force now lies elsewhere


def counted_line(session: Session, event: EntryEvent, camera: CameraSettings | None) -> CountedLine | None:
    """The line ``event`` was counted against, and whether it has moved since; None for an event
    recorded before events kept their line, or posted by another system. ``camera``: the event's
    camera as configured (None when it no longer is: the line cannot have moved on this site)."""
    if not event.gate_line:
        return None
    try:
        placement = json.loads(event.gate_line)
    except ValueError:
        return None
    moved = camera is not None and in_force(session, camera).gate.placement() != placement
    return CountedLine(placement, moved)


class LineWatch:
    """The gate line in force for one running camera, read from its row every ``interval`` seconds.

    Called before each frame (``GatePipeline.lines``), so it must be cheap: between reads it
    returns the line it holds. A database that cannot be read keeps the line it has.
    """

    def __init__(self, engine: sa.Engine, camera: CameraSettings, interval: float = WATCH_SECONDS) -> None:
        self.engine, self.camera, self.interval = engine, camera, interval
        self._gate = camera.gate
        self._read_at = time.monotonic()

    def __call__(self) -> GateSettings:
        now = time.monotonic()
        if now - self._read_at >= self.interval:
            self._read_at = now
            try:
                gate = camera_in_force(self.engine, self.camera).gate
            except sa.exc.SQLAlchemyError as exc:
                log.warning("%s: could not read the gate line in force (%s); counting against the one held",
                            self.camera.id, exc)
            else:
                if gate != self._gate:  # the same object while the line stays: the pipeline checks identity
                    self._gate = gate
        return self._gate
