"""Video sources behind one interface: frames with their index and wall-clock time.

A stored file is decoded with PyAV, its footage time being the given start plus the frame index
over the frame rate. A live stream (RTSP/HTTP) is decoded with PyAV too and stamped with the
time the frame arrived; a stream has no end, so one that ends, stalls or fails raises
SourceError, which tells the worker to reconnect. A webcam goes through OpenCV, the one library
that opens local devices portably.

A stream's URL may hold the camera's password, and FFmpeg quotes it whole in its errors: a
SourceError's message and a stream's description are redacted (``gatewatch.vision.redaction``),
so the password never leaves this module in clear.

A frame keeps the decoder's picture as it came (YUV for PyAV) and converts it only when asked:
most frames are never needed as a full-size BGR image, and the conversion costs about as much
as decoding. Indexes count the frames the source produced; a gap means frames were dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from gatewatch.vision.redaction import redact_url

Size = tuple[int, int]  # width, height


class SourceError(Exception):
    """A source cannot be opened or read; the message says which and why, credentials masked."""

    def __init__(self, message: str) -> None:
        super().__init__(redact_url(message))


class Picture(Protocol):
    """A decoded picture, converted only when it is needed."""

    width: int
    height: int

    def bgr(self) -> np.ndarray:
        """Full size, BGR, height x width x 3; a fresh or a read-only array."""
        ...

    def luma(self) -> np.ndarray:
        """Full size, 8-bit grey; may be a strided view of the decoder's buffer."""
        ...

    def i420(self, size: Size) -> np.ndarray:
        """Scaled to ``size`` (even sides), planar YUV 4:2:0 in one (height * 3 / 2) x width array."""
        ...


#: PyAV pixel formats whose first plane is 8-bit luma at full size.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"})


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """A view of one 8-bit plane of ``frame``, without its row padding."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def _scale_i420(planes: tuple[np.ndarray, np.ndarray, np.ndarray], size: Size) -> np.ndarray:
    """Scale Y, U and V planes into one I420 array. Bilinear: area averaging costs several times more."""
    width, height = size
    half = (width // 2, height // 2)
    out = np.empty(width * height * 3 // 2, np.uint8)
    start = 0
    for plane, (w, h) in zip(planes, (size, half, half), strict=True):
        cv2.resize(plane, (w, h), dst=out[start : start + w * h].reshape(h, w), interpolation=cv2.INTER_LINEAR)
        start += w * h
    return out.reshape(height * 3 // 2, width)


class AvPicture:
    """A frame as PyAV decoded it (YUV, mostly)."""

    __slots__ = ("_frame", "height", "width")

    def __init__(self, frame: av.VideoFrame) -> None:
        self._frame = frame
        self.width, self.height = frame.width, frame.height

    def bgr(self) -> np.ndarray:
        return self._frame.to_ndarray(format="bgr24")

    def luma(self) -> np.ndarray:
        if self._frame.format.name not in _LUMA_FIRST:
            return self._frame.to_ndarray(format="gray")
        return _plane(self._frame, 0)  # the decoder's buffer itself: no conversion, no copy

    def i420(self, size: Size) -> np.ndarray:
        frame = self._frame if self._frame.format.name in ("yuv420p", "yuvj420p") else self._frame.reformat(
            format="yuv420p")
        return _scale_i420((_plane(frame, 0), _plane(frame, 1), _plane(frame, 2)), size)


class ArrayPicture:
    """A BGR image already in memory (OpenCV sources, tests)."""

    __slots__ = ("_image", "height", "width")

    def __init__(self, image: np.ndarray) -> None:
        self._image = image
        self.height, self.width = image.shape[:2]

    def bgr(self) -> np.ndarray:
        return self._image

    def luma(self) -> np.ndarray:
        return cv2.cvtColor(self._image, cv2.COLOR_BGR2GRAY)

    def i420(self, size: Size) -> np.ndarray:
        return cv2.cvtColor(cv2.resize(self._image, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2YUV_I420)


@dataclass(frozen=True, slots=True)
class Frame:
    index: int
    time: datetime
    picture: Picture
    pts: int | None = None  # the decoder's presentation time, in the stream's time base; None: no packets

    @property
    def size(self) -> Size:
        return (self.picture.width, self.picture.height)

    def bgr(self) -> np.ndarray:
        """The frame as BGR at full size; converted on every call, so call it once."""
        return self.picture.bgr()

    def grey(self, size: Size) -> np.ndarray:
        """A small grey picture: the luma, thinned out by whole pixel steps, then scaled to ``size``."""
        luma = self.picture.luma()
        step = max(1, min(luma.shape[1] // (2 * size[0]), luma.shape[0] // (2 * size[1])))
        return cv2.resize(luma[::step, ::step], size, interpolation=cv2.INTER_AREA)

    def i420(self, size: Size) -> np.ndarray:
        """Scaled to ``size`` (even sides) as planar YUV 4:2:0: half the bytes of BGR, no colour conversion."""
        return self.picture.i420(size)


PacketListener = Callable[[av.Packet], None]


class FrameSource(Protocol):
    """What every source offers: a description, its nominal rate, and its frames in order.

    ``stream`` is the demuxed video stream (codec, time base), None for a source with no packets
    (a webcam through OpenCV). Each listener given to ``listen`` receives every video packet as
    it is demuxed, before its frames are decoded, on the thread that reads the frames: packets are
    the camera's own bytes, for evidence copied without encoding.
    """

    description: str
    fps: float
    total_frames: int | None
    is_live: bool
    stream: av.video.stream.VideoStream | None

    def frames(self) -> Iterator[Frame]: ...

    def listen(self, listener: PacketListener) -> None: ...

    def close(self) -> None: ...


def _rate_of(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0


class _PyAvSource:
    """Decoding shared by files and streams, frames kept as decoded.

    ``threads`` is how many threads FFmpeg decodes with; 0 lets it choose (frame and slice
    threads, one per core). More threads decode faster but use more CPU in all: on the 2-core
    bench machine the 1080p footage takes 2.7 ms of CPU a frame on one thread and 3.5 ms on
    FFmpeg's choice, CPU that analysis running beside the decoder is short of.
    """

    description: str
    _broken: str  # how a decoding failure is told: "is damaged", "broke off"

    def _attach(self, container: av.container.InputContainer, threads: int) -> None:
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.description} holds no video")
        self._container = container
        self._stream = self.stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"  # with one thread: none
        self._stream.codec_context.thread_count = threads
        self.fps = _rate_of(self._stream)
        self._listeners: list[PacketListener] = []

    def listen(self, listener: PacketListener) -> None:
        self._listeners.append(listener)

    def _stamp(self, index: int) -> datetime:
        raise NotImplementedError

    def _packets(self) -> Iterator[av.Packet]:
        return self._container.demux(self._stream)

    def _decode(self) -> Generator[Frame, None, int]:
        """The frames in order; returns how many there were."""
        index = 0
        try:
            for packet in self._packets():
                if packet.size:  # not the empty packet that flushes the decoder at the end
                    for listener in self._listeners:
                        listener(packet)
                for decoded in packet.decode():
                    yield Frame(index, self._stamp(index), AvPicture(decoded), decoded.pts)
                    index += 1
        except av.FFmpegError as exc:
            raise SourceError(f"{self.description} {self._broken} after frame {index}: {exc}") from None
        return index

    def close(self) -> None:
        self._container.close()


class FileSource(_PyAvSource):
    """A stored video file: footage time is the start plus the frame index over the rate."""

    is_live = False
    _broken = "is damaged"

    def __init__(self, path: str | Path, start: datetime | None = None, *, threads: int = 0) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        if not self.path.exists():
            raise SourceError(f"video file {self.path} does not exist")
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        if self.path.stat().st_size == 0:
            raise SourceError(f"video file {self.path} is empty (0 bytes)")
        try:
            container = av.open(str(self.path))
        except av.FFmpegError as exc:
            raise SourceError(f"{self.path} is not a readable video: {exc}") from None
        self._attach(container, threads)
        self.total_frames = self._stream.frames or None
        self.start = start or datetime.now(UTC)
        if self.start.tzinfo is None:
            raise SourceError("the start time of a file needs a time zone")

    def _stamp(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index / self.fps)

    def frames(self) -> Iterator[Frame]:
        if not (yield from self._decode()):
            raise SourceError(f"{self.path} holds no decodable frame")


class StreamSource(_PyAvSource):
    """A live RTSP or HTTP stream; each frame is stamped with the time it arrived.

    A stream that delivers no frame for ``stall_seconds`` has stalled: PyAV's read timeout
    abandons the waiting read. FFmpeg then first hands over the frame its parser held back and
    fails only at the next read, a timeout later; so a read that waited that long is a stall
    whatever it returned.
    """

    is_live = True
    total_frames = None
    _broken = "broke off"

    def __init__(self, url: str, *, stall_seconds: float, open_timeout: float = 10.0, threads: int = 0) -> None:
        self.description = f"stream {redact_url(url)}"
        self.stall_seconds = stall_seconds
        options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
        try:
            container = av.open(url, options=options, timeout=(open_timeout, stall_seconds))
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"{self.description} cannot be opened: {exc}") from None
        self._attach(container, threads)

    def _stamp(self, index: int) -> datetime:
        return datetime.now(UTC)

    def _packets(self) -> Iterator[av.Packet]:
        packets = super()._packets()
        while True:
            asked = time.monotonic()
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.ExitError:  # the read timeout ran out
                raise SourceError(self._stalled(asked)) from None
            if time.monotonic() - asked >= self.stall_seconds:
                raise SourceError(self._stalled(asked))
            yield packet

    def _stalled(self, since: float) -> str:
        return (f"{self.description} stalled: no frame for {time.monotonic() - since:.1f} s "
                f"(stall_seconds {self.stall_seconds:g})")

    def frames(self) -> Iterator[Frame]:
        count = yield from self._decode()
        raise SourceError(f"{self.description} ended after frame {count}")


class WebcamSource:
    """A local camera device by index, read through OpenCV: pictures only, no packets to copy."""

    is_live = True
    total_frames = None
    stream = None

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
            yield Frame(index, datetime.now(UTC), ArrayPicture(image))
            index += 1

    def listen(self, listener: PacketListener) -> None:
        """A webcam has no packets: its evidence is encoded from its pictures."""

    def close(self) -> None:
        self._capture.release()


def open_source(spec: str, start: datetime | None = None, *, stall_seconds: float = 10.0,
                decode_threads: int = 0) -> FrameSource:
    """Open what a camera's ``source`` setting names: a URL, a webcam index or a file path.

    ``start`` is the wall-clock time of a file's first frame; ``stall_seconds`` how long a
    stream may deliver no frame before it counts as broken off; ``decode_threads`` FFmpeg's
    decoding threads for a file or stream (0: FFmpeg's choice).
    """
    if "://" in spec:
        return StreamSource(spec, stall_seconds=stall_seconds, threads=decode_threads)
    if spec.isdigit():
        return WebcamSource(int(spec))
    return FileSource(spec, start, threads=decode_threads)
