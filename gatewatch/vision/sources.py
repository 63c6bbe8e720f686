"""Video sources behind one interface: frames with their index and wall-clock time.

A stored file is decoded with PyAV, its footage time being the given start plus the frame index
over the frame rate. A live stream (RTSP/HTTP) is decoded with PyAV too and stamped with the
time the frame arrived. A webcam goes through OpenCV, the one library that opens local devices
portably.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np


class SourceError(Exception):
    """A source cannot be opened or read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Frame:
    index: int
    time: datetime
    image: np.ndarray  # BGR, height x width x 3


class FrameSource(Protocol):
    """What every source offers: a description, its nominal rate, and its frames in order."""

    description: str
    fps: float
    total_frames: int | None
    is_live: bool

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def _rate_of(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0


class FileSource:
    """A stored video file; decodes in FFmpeg's own threads so decoding overlaps analysis."""

    is_live = False

    def __init__(self, path: str | Path, start: datetime | None = None) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        if not self.path.exists():
            raise SourceError(f"video file {self.path} does not exist")
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        if self.path.stat().st_size == 0:
            raise SourceError(f"video file {self.path} is empty (0 bytes)")
        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise SourceError(f"{self.path} is not a readable video: {exc}") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"{self.path} holds no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.fps = _rate_of(self._stream)
        self.total_frames = self._stream.frames or None
        self.start = start or datetime.now(UTC)
        if self.start.tzinfo is None:
            raise SourceError("the start time of a file needs a time zone")

    def frames(self) -> Iterator[Frame]:
        index = 0
        try:
            for decoded in self._container.decode(self._stream):
                yield Frame(index, self.start + timedelta(seconds=index / self.fps), decoded.to_ndarray(format="bgr24"))
                index += 1
        except av.FFmpegError as exc:
            raise SourceError(f"{self.path} is damaged after frame {index}: {exc}") from None
        if index == 0:
            raise SourceError(f"{self.path} holds no decodable frame")

    def close(self) -> None:
        self._container.close()


class StreamSource:
    """A live RTSP or HTTP stream; each frame is stamped with the time it arrived."""

    is_live = True
    total_frames = None

    def __init__(self, url: str, open_timeout: float = 10.0) -> None:
        self.description = url
        options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
        try:
            self._container = av.open(url, options=options, timeout=open_timeout)
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"stream {url} cannot be opened: {exc}") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"stream {url} carries no video")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.fps = _rate_of(self._stream)

    def frames(self) -> Iterator[Frame]:
        index = 0
        try:
            for decoded in self._container.decode(self._stream):
                yield Frame(index, datetime.now(UTC), decoded.to_ndarray(format="bgr24"))
                index += 1
        except av.FFmpegError as exc:
            raise SourceError(f"stream {self.description} broke off after frame {index}: {exc}") from None

    def close(self) -> None:
        self._container.close()


class WebcamSource:
    """A local camera device by index, read through OpenCV."""

    is_live = True
    total_frames = None

    def __init__(self, device: int) -> None:
        self.description = f"webcam {device}"
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"webcam {device} does not exist or cannot be opened")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 25.0

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            ok, image = self._capture.read()
            if not ok:
                raise SourceError(f"{self.description} stopped delivering frames after frame {index}")
            yield Frame(index, datetime.now(UTC), image)
            index += 1

    def close(self) -> None:
        self._capture.release()


def open_source(spec: str, start: datetime | None = None) -> FrameSource:
    """Open what a camera's ``source`` setting names: a URL, a webcam index or a file path."""
    if "://" in spec:
        return StreamSource(spec)
    if spec.isdigit():
        return WebcamSource(int(spec))
    return FileSource(spec, start)
