"""What a camera worker adds to its status row for ``/metrics``: how far analysis runs behind the
stream, and counts since the worker started (frames dropped, detector runs).

The counts are summed over the worker's sessions (each open of the source has its own
``RunStats``), so they grow for as long as the worker runs and start from 0 with a new worker,
as a Prometheus counter expects.

Lag is measured on every frame as analysis finishes it: now minus the frame's time. A live
stream stamps a frame when it is decoded, as it arrives (``vision.sources``), so the lag is the
frame's wait in the read-ahead queue plus its analysis: how long after the picture was live the
gate was judged on it. A stored file's frames carry footage time counted from the moment it was
opened, so its lag is how far analysis runs behind playing the file in real time (0 while
faster). The row gets the longest lag of each status window, so a burst that a single sample at
the window's end would miss still shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame


class WorkerFigures:
    """Lag, dropped frames and detector runs of one camera worker, for its status row."""

    def __init__(self) -> None:
        self._dropped = 0  # in the sessions that ended
        self._analysed = 0
        self._lag: float | None = None  # the longest of the window so far; None: no frame yet

    def session_ended(self, stats: RunStats) -> None:
        """Count the ended session's final ``stats`` in the worker's totals."""
        self._dropped += stats.dropped
        self._analysed += stats.analysed

    def frame(self, frame: Frame, now: datetime | None = None) -> None:
        """Analysis finished ``frame`` (at ``now``, by default the present)."""
        lag = max(0.0, ((now or datetime.now(UTC)) - frame.time).total_seconds())
        self._lag = lag if self._lag is None else max(self._lag, lag)

    def fields(self, stats: RunStats) -> dict[str, object]:
        """The row's fields for the window ending now, ``stats`` being the running session's; a new window starts."""
        lag, self._lag = self._lag, None
        return {
            "lag_seconds": None if lag is None else round(lag, 3),
            "dropped_frames": self._dropped + stats.dropped,
            "detections": self._analysed + stats.analysed,
        }
