"""A camera analysed on its detect stream (a small substream) while its evidence comes from its main stream.

Decoding a 1080p stream takes about a fifth of a camera's analysis CPU (2.5 to 3 ms a frame on
one thread); the camera's 640x360 substream shows the same scene for a fraction of that. ``PairedSource`` analyses the detect stream's frames, while the main stream is
only demuxed, on a thread of its own: its packets go to the listeners (the packet ring the clips
are cut from, the continuous recording) and are never decoded, except for the few frames an
event needs at full resolution (its snapshot and the views its plate is read from). Such a
frame is decoded from the keyframe before it (or from where the last decoding stopped) up to it,
from the packets the ring holds, on the event writer's thread (``MainPicture``), never on the
analysis thread. That costs up to a keyframe interval of main frames per event: cameras set to a
keyframe every 1 to 2 s keep it small.

Each detect frame is handed on with the main stream's presentation time for the same moment
(``Frame.pts`` in the main stream's time base), so clips, boxes and snapshots are placed in the
main stream as if it had been analysed; ``to_main`` scales the boxes to the main stream's pixels.

Aligning the two streams:

- files: by time from each stream's start (pts seconds). The main stream is demuxed at most
  ``FILE_LEAD_SECONDS`` ahead of the detect stream, and a detect frame is handed on only once the
  main stream has been demuxed ``REORDER_SECONDS`` past it, so the ring holds every packet a clip
  needs when it is cut.
- live streams: by arrival time. Each stream's clock is anchored at the earliest arrival of any
  of its packets (frames) relative to its pts, so a burst read late does not run it ahead; a
  detect frame maps to the main pts shown at the same wall-clock time, snapped to a main frame
  within one main frame interval. The tolerance is the difference of the two streams' delivery
  delays (the camera encodes both from one sensor): tens of milliseconds on a LAN, at most a frame
  or two. A detect frame waits up to ``LIVE_WAIT_SECONDS`` for the main stream to reach it, so a
  main stream that lags a little still gives whole clips, and one that stalls cannot hold
  analysis up for longer than that.

The pair fails as one: when either stream breaks off, stalls or ends, ``frames`` raises a
``SourceError`` saying which ("main stream: ..." or "detect stream: ..."), and the worker
reconnects both, so the camera's status says which one failed.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction

import av
import cv2
import numpy as np

from gatewatch.models.enums import ClipKind
from gatewatch.settings import AnalysisSettings
from gatewatch.vision.gate import Crossing
from gatewatch.vision.objects import Box, TrackedObject
from gatewatch.vision.packets import PacketRing, clip_kind_of
from gatewatch.vision.sources import (
    FileSource,
    Frame,
    FrameSource,
    PacketListener,
    Picture,
    Size,
    SourceError,
    StreamSource,
)

log = logging.getLogger(__name__)

#: A file's main stream is demuxed at most this far ahead of the detect frames read.
FILE_LEAD_SECONDS = 1.0
#: A detect frame is handed on once the main stream is demuxed this far past it: B-frames come
#: after the frame that follows them, and a clip ending at that frame needs them.
REORDER_SECONDS = 0.3
#: A live detect frame waits at most this long for the main stream to reach its time.
LIVE_WAIT_SECONDS = 0.5
#: Main-stream packets kept for decoding snapshots and views when no clip ring is shared.
DECODE_KEEP_SECONDS = 10.0
#: Decoded full-resolution frames kept, for a snapshot and views that share a frame.
DECODED_KEPT = 8
#: Pictures waiting to be read whose frames a decoding keeps when it meets them, at most.
WANTED_KEPT = 256
#: Main-stream presentation times remembered, to snap a detect frame to a main frame.
PTS_KEPT = 3000


class MainPicture:
    """A main-stream frame, decoded only if it is read: from the ring's packets, keyframe first.

    ``pin`` takes the packets it needs from the ring at once (references, no copy), so a picture
    read later, on another thread, is still decodable after the ring has moved on.
    """

    __slots__ = ("_fallback", "_packets", "height", "pts", "source", "width")

    def __init__(self, source: PairedSource, pts: int, fallback: Picture, size: Size) -> None:
        self.source, self.pts, self._fallback = source, pts, fallback
        self.width, self.height = size
        self._packets: tuple | None = None

    def pin(self) -> None:
        if self._packets is None:
            self._packets = self.source.packets_for(self.pts, self.pts)

    def bgr(self) -> np.ndarray:
        self.pin()
        image = self.source.decode(self.pts, self._packets) if self._packets else None
        if image is None:  # its packets were gone: the detect frame, scaled up
            log.warning("main-stream frame at pts %d no longer held: using the detect stream's", self.pts)
            return cv2.resize(self._fallback.bgr(), (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return image

    def luma(self) -> np.ndarray:
        return cv2.cvtColor(self.bgr(), cv2.COLOR_BGR2GRAY)

    def i420(self, size: Size) -> np.ndarray:
        return cv2.cvtColor(cv2.resize(self.bgr(), size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2YUV_I420)


class PairedSource:
    """``detect``'s frames, timed and evidenced in ``main``'s stream (a ``FrameSource`` itself)."""

    def __init__(self, main: FileSource | StreamSource, detect: FrameSource, *,
                 keep_seconds: float = DECODE_KEEP_SECONDS) -> None:
        if main.stream is None or detect.stream is None:
            raise SourceError("a detect stream needs a main stream and a detect stream with packets (not a webcam)")
        self.main, self.detect = main, detect
        self.stream = main.stream
        self.fps = detect.fps
        self.total_frames = detect.total_frames
        self.is_live = detect.is_live or main.is_live
        self.description = f"{detect.description} (detect stream of {main.description})"
        self.start = getattr(main, "start", None)
        context = main.stream.codec_context
        self.main_size: Size = (context.width, context.height)
        dcontext = detect.stream.codec_context
        self.detect_size: Size = (dcontext.width, dcontext.height)
        self._codec = (context.name, context.extradata)  # kept: the main file may be closed before a decode
        self.ring = PacketRing(keep_seconds)  # the pipeline's clips are cut from it too
        self.decoded_frames = 0  # main-stream frames decoded, for snapshots and views
        self.decoded_pictures = 0  # the pictures they were decoded for
        self._listeners: list[PacketListener] = [self.ring.add]
        self._main_base: Fraction = main.stream.time_base
        self._detect_base: Fraction = detect.stream.time_base
        self._main_start = main.stream.start_time or 0
        self._detect_start = detect.stream.start_time or 0
        self._frame_pts = round(1 / (main.fps * self._main_base))  # one main frame, in pts
        self._cond = threading.Condition()
        self._reached: float | None = None  # the main stream's highest pts demuxed, in seconds
        self._horizon = self._main_start * self._main_base + FILE_LEAD_SECONDS
        self._pts: list[int] = []  # recent main pts, sorted
        self._main_anchor: float | None = None  # live: wall clock - pts seconds, the least seen
        self._detect_anchor: float | None = None
        self._ended = False
        self._error: str | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._decoded: OrderedDict[int, np.ndarray] = OrderedDict()
        self._wanted: set[int] = set()
        self._decode_lock = threading.Lock()
        self._decoder: tuple[av.CodecContext, object] | None = None  # the last decoder and its last packet

    # -- the FrameSource interface ---------------------------------------------------------------

    def listen(self, listener: PacketListener) -> None:
        """``listener`` gets every main-stream packet, on the main stream's own thread."""
        self._listeners.append(listener)

    def frames(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._demux, name="main-stream", daemon=True)
        self._thread.start()
        frames = self.detect.frames()
        while True:
            try:
                frame = next(frames, None)
            except SourceError as exc:
                raise SourceError(f"detect stream: {exc}") from None
            if frame is None:
                return
            self._raise_main_error()
            yield self._aligned(frame)

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=getattr(self.main, "stall_seconds", 5.0) + 1.0)
        self.detect.close()
        if self._thread is None or not self._thread.is_alive():
            self.main.close()

    # -- main-stream frames and boxes ---------------------------------------------------------------

    def to_main(self, frame: Frame, objects: list[TrackedObject],
                crossings: list[Crossing]) -> tuple[Frame, list[TrackedObject], list[Crossing]]:
        """A detect frame's moment as a main-stream frame (decoded only if read), its boxes in main pixels."""
        sx, sy = self.main_size[0] / frame.size[0], self.main_size[1] / frame.size[1]

        def scaled(box: Box) -> Box:
            return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)

        main = frame
        if frame.pts is not None:
            main = Frame(frame.index, frame.time, MainPicture(self, frame.pts, frame.picture, self.main_size),
                         frame.pts)
        return (main, [replace(o, box=scaled(o.box)) for o in objects],
                [replace(c, box=scaled(c.box)) for c in crossings])

    def detect_analysis(self, analysis: AnalysisSettings, detect_size: Size) -> AnalysisSettings:
        """``analysis`` for the detect stream's pixels: ``min_object_pixels`` is in the main stream's."""
        if analysis.min_object_pixels is None or not self.main_size[1]:
            return analysis
        pixels = analysis.min_object_pixels * detect_size[1] / self.main_size[1]
        return analysis.model_copy(update={"min_object_pixels": max(4, round(pixels))})

    def packets_for(self, first: int, last: int) -> tuple | None:
        """The main stream's packets from the keyframe at or before ``first`` through ``last``'s frame; None if gone."""
        clip = self.ring.cut(first, last)
        if clip is None or clip.first_pts > first:
            return None
        return (*self._codec, clip.time_base, clip.packets)

    def pin(self, pictures: list[MainPicture]) -> None:
        """Take the packets of ``pictures`` (one event's snapshot and views) from the ring, as one run.

        They are then decoded in one pass, from the keyframe before the first to the last.
        """
        pictures = [p for p in pictures if p._packets is None]
        if not pictures:
            return
        packets = self.packets_for(min(p.pts for p in pictures), max(p.pts for p in pictures))
        with self._decode_lock:
            self._wanted.update(p.pts for p in pictures)
            if len(self._wanted) > WANTED_KEPT:  # views never read: forget the oldest (a read still finds its own)
                self._wanted = set(sorted(self._wanted)[-WANTED_KEPT:])
        for picture in pictures:
            picture._packets = packets if packets is not None else self.packets_for(picture.pts, picture.pts)

    def decode(self, pts: int, packets: tuple) -> np.ndarray | None:
        """The main-stream frame at ``pts`` as BGR, decoded from ``packets`` (``packets_for``).

        Decoding starts at the last keyframe at or before ``pts``, or goes on from where the last
        decoding stopped when that lies before ``pts`` in the same run of packets (events come in
        order: a group of pictures holding several events is decoded once), and stops once the
        frame is out. Frames no other frame refers to (most B-frames) are skipped on the way,
        except wanted ones; other wanted frames met are kept too (a snapshot and views of one
        track often share a group of pictures).
        """
        with self._decode_lock:
            if pts in self._decoded:
                return self._decoded[pts]
            name, extradata, time_base, stored = packets
            self.decoded_pictures += 1
            target = next((i for i, p in enumerate(stored) if p.pts == pts), len(stored) - 1)
            codec, start = self._decoder_at(stored, target)
            if codec is None:
                start = max((i for i, p in enumerate(stored) if p.keyframe and p.pts <= pts), default=0)
                codec = av.CodecContext.create(name, "r")
                codec.extradata = extradata
                codec.thread_count = 1
            wanted = self._wanted | {pts}
            self._decoder = None
            try:
                for item in (*stored[start:], None):
                    packet = None
                    if item is not None:
                        packet = av.Packet(item.data)
                        packet.pts, packet.dts, packet.time_base = item.pts, item.dts, time_base
                        codec.skip_frame = "DEFAULT" if item.pts in wanted else "NONREF"
                    for decoded in codec.decode(packet):
                        self.decoded_frames += 1
                        if decoded.pts in wanted:
                            self._keep(decoded.pts, decoded.to_ndarray(format="bgr24"))
                    if item is None:
                        break  # flushed: this decoder cannot go on
                    if pts in self._decoded:
                        self._decoder = (codec, item)
                        break
            except av.FFmpegError as exc:
                log.warning("main-stream frames could not be decoded: %s", exc)
            return self._decoded.get(pts)

    def _decoder_at(self, stored: tuple, target: int) -> tuple[av.CodecContext | None, int]:
        """The last decoder and where it goes on in ``stored``, when it stopped before ``target`` there."""
        if self._decoder is None:
            return None, 0
        codec, last = self._decoder
        at = next((i for i, p in enumerate(stored) if p is last), None)
        if at is None or at >= target:
            return None, 0
        return codec, at + 1

    def _keep(self, pts: int, image: np.ndarray) -> None:
        self._wanted.discard(pts)
        self._decoded[pts] = image
        while len(self._decoded) > DECODED_KEPT:
            self._decoded.popitem(last=False)

    # -- the main stream's thread ------------------------------------------------------------------

    def _demux(self) -> None:
        try:
            for packet in self.main._packets():  # a live stream's stall is told there
                if not packet.size:
                    continue
                for listener in self._listeners:
                    listener(packet)
                self._arrived(packet)
                if not self._wait_for_detect():
                    return
            if self.main.is_live:
                self._error = f"main stream: {self.main.description} ended"
        except SourceError as exc:
            self._error = f"main stream: {exc}"
        except av.FFmpegError as exc:
            self._error = str(SourceError(f"main stream: {self.main.description} broke off: {exc}"))
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _arrived(self, packet: av.Packet) -> None:
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:
            return
        seconds = float(pts * self._main_base)
        if self.is_live:
            anchor = _now() - seconds
            self._main_anchor = anchor if self._main_anchor is None else min(self._main_anchor, anchor)
        with self._cond:
            bisect.insort(self._pts, pts)
            if len(self._pts) > PTS_KEPT:
                del self._pts[: len(self._pts) - PTS_KEPT]
            self._reached = seconds if self._reached is None else max(self._reached, seconds)
            self._cond.notify_all()

    def _wait_for_detect(self) -> bool:
        """A file's main stream waits for the detect stream to come within the lead; False: stop."""
        with self._cond:
            while not self.is_live and not self._stopping and (self._reached or 0.0) > self._horizon:
                self._cond.wait()
            return not self._stopping

    # -- alignment ---------------------------------------------------------------------------------

    def _aligned(self, frame: Frame) -> Frame:
        """``frame`` with the main stream's pts for the same moment, once the main stream is demuxed past it."""
        if frame.pts is None:
            return frame
        target = self._target_seconds(frame)
        with self._cond:
            if not self.is_live:
                self._horizon = max(self._horizon, target + FILE_LEAD_SECONDS)
                self._cond.notify_all()
            self._cond.wait_for(self._passed(target), timeout=LIVE_WAIT_SECONDS if self.is_live else None)
            pts = self._snap(round(target / self._main_base))
        self._raise_main_error()
        return Frame(frame.index, frame.time, frame.picture, pts)

    def _passed(self, target: float) -> Callable[[], bool]:
        def passed() -> bool:
            return (self._ended or self._stopping
                    or (self._reached is not None and self._reached >= target + REORDER_SECONDS))
        return passed

    def _target_seconds(self, frame: Frame) -> float:
        """Where ``frame`` lies in the main stream, in its pts seconds."""
        assert frame.pts is not None
        seconds = float((frame.pts - self._detect_start) * self._detect_base)
        if not self.is_live:
            return float(self._main_start * self._main_base) + seconds
        wall = frame.time.timestamp()
        anchor = wall - seconds
        self._detect_anchor = anchor if self._detect_anchor is None else min(self._detect_anchor, anchor)
        main_anchor = self._main_anchor if self._main_anchor is not None else wall - (self._reached or 0.0)
        return self._detect_anchor + seconds - main_anchor

    def _snap(self, pts: int) -> int:
        """The main frame's pts nearest ``pts`` when one lies within a frame interval, else ``pts``."""
        index = bisect.bisect_left(self._pts, pts)
        near = [self._pts[i] for i in (index - 1, index) if 0 <= i < len(self._pts)]
        best = min(near, key=lambda p: abs(p - pts), default=None)
        return best if best is not None and abs(best - pts) <= self._frame_pts else pts

    def _raise_main_error(self) -> None:
        if self._error is not None:
            raise SourceError(self._error)


def _now() -> float:
    return time.time()


def pair(main: FrameSource, detect: FrameSource, clip_mode: str = "auto") -> FrameSource:
    """``detect`` analysed with ``main``'s evidence; ``main`` alone (``detect`` closed) when that cannot be.

    Only a main stream whose clips are its own packets is paired: one a browser cannot play
    (H.265, MJPEG) would have every clip frame decoded and encoded, which is what the detect
    stream saves; a webcam has no packets. Such a camera is analysed on its main stream, as
    before, and the log says why.
    """
    if clip_kind_of(main.stream, clip_mode) is not ClipKind.COPY or detect.stream is None:
        log.warning("%s: detect stream not used: its clips would be encoded (not H.264, a webcam or "
                    "clip_mode: encode), so the main stream is analysed", main.description)
        detect.close()
        return main
    assert isinstance(main, (FileSource, StreamSource))
    return PairedSource(main, detect)
