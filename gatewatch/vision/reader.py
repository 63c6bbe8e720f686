"""Decoding on a thread of its own, ahead of analysis.

For a file, frames wait in a bounded queue and none is lost: decoding pauses while analysis
catches up. For a live source, a waiting frame is dropped when the queue is full, so analysis
works on recent frames instead of lagging ever further behind; what was dropped shows as a gap
in the frame indexes. Which frame goes is the camera's ``overload.Overload``'s to say (one the
analysis would not detect on, never one near the line), or else the oldest. A source error
reaches the consumer after the frames decoded before it.

The thread's CPU time (``time.thread_time``: the decoder runs in it) is added to the run's
``decode_cpu``, which the time analysis waits for a frame does not show.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator

from gatewatch.vision.overload import Overload
from gatewatch.vision.runstats import RunStats
from gatewatch.vision.sources import Frame


class ReadAhead:
    """Iterates ``frames`` on a background thread; iterate this object to receive them.

    ``overload``: the live camera's policy for what to drop; None drops the oldest frame.
    ``stats``: the run's counters, for decoding's CPU and frames dropped near the line.
    """

    def __init__(self, frames: Iterable[Frame], capacity: int, *, drop_oldest: bool, name: str = "read-ahead",
                 overload: Overload | None = None, stats: RunStats | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self.overload = overload
        self.stats = stats
        self.forced = 0  # frames dropped with the queue at its hard cap, none droppable
        self._waiting: deque[Frame] = deque()
        self._changed = threading.Condition()
        self._finished = False
        self._closed = False
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._read, args=(frames,), name=name, daemon=True)
        self._thread.start()

    def _read(self, frames: Iterable[Frame]) -> None:
        cpu = time.thread_time()
        try:
            for frame in frames:
                with self._changed:
                    while not self.drop_oldest and len(self._waiting) >= self.capacity and not self._closed:
                        self._changed.wait()
                    if self._closed:
                        return
                    if len(self._waiting) >= self.capacity:
                        self._make_room()
                    self._waiting.append(frame)
                    self._observe()
                    self._changed.notify_all()
                cpu = self._add_cpu(cpu)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, after the frames before it
            self._error = exc
        finally:
            self._add_cpu(cpu)
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def _make_room(self) -> None:
        """With the queue full: drop a frame analysis can do without, else let it grow up to the hard cap."""
        overload = self.overload
        if overload is None:
            self._waiting.popleft()
            return
        # Frames analysis will not detect on all come before the one it will: only the oldest can be one.
        if overload.droppable(self._waiting[0].index):
            self._waiting.popleft()
            return
        if len(self._waiting) < overload.hard_cap:
            return
        self._waiting.popleft()
        self.forced += 1
        if overload.plan.near_line and self.stats is not None:
            self.stats.dropped_near_line += 1

    def _observe(self) -> None:
        if self.overload is not None:
            self.overload.observe(len(self._waiting))

    def _add_cpu(self, since: float) -> float:
        now = time.thread_time()
        if self.stats is not None:
            self.stats.decode_cpu += now - since
        return now

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._changed:
                while not self._waiting and not self._finished:
                    self._changed.wait()
                if not self._waiting:
                    if self._error is not None:
                        raise self._error
                    return
                frame = self._waiting.popleft()
                self._observe()
                self._changed.notify_all()
            yield frame

    def close(self) -> None:
        """Stop reading and wait for the thread, so the source can be closed safely after."""
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
        self._thread.join()
