"""Decoding on a thread of its own, ahead of analysis.

For a file, frames wait in a bounded queue and none is lost: decoding pauses while analysis
catches up. For a live source, the oldest waiting frame is dropped when the queue is full, so
analysis works on recent frames and lags by at most ``capacity`` frames instead of ever more;
what was dropped shows as a gap in the frame indexes. A source error reaches the consumer after
the frames decoded before it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator

from gatewatch.vision.sources import Frame


class ReadAhead:
    """Iterates ``frames`` on a background thread; iterate this object to receive them."""

    def __init__(self, frames: Iterable[Frame], capacity: int, *, drop_oldest: bool, name: str = "read-ahead") -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self._waiting: deque[Frame] = deque()
        self._changed = threading.Condition()
        self._finished = False
        self._closed = False
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._read, args=(frames,), name=name, daemon=True)
        self._thread.start()

    def _read(self, frames: Iterable[Frame]) -> None:
        try:
            for frame in frames:
                with self._changed:
                    while not self.drop_oldest and len(self._waiting) >= self.capacity and not self._closed:
                        self._changed.wait()
                    if self._closed:
                        return
                    if len(self._waiting) >= self.capacity:
                        self._waiting.popleft()
                    self._waiting.append(frame)
                    self._changed.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, after the frames before it
            self._error = exc
        finally:
            with self._changed:
                self._finished = True
                self._changed.notify_all()

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
                self._changed.notify_all()
            yield frame

    def close(self) -> None:
        """Stop reading and wait for the thread, so the source can be closed safely after."""
        with self._changed:
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
        self._thread.join()
