"""Encodes one source's clip frames on a thread of its own, once for every event that shows them.

Crossings come in bursts (a party walking in, a queue of cars), and their clips overlap: the
highway footage's 11 entries need 660 clip frames one clip at a time, but only 168 distinct
ones. The recorder hands each clip frame over once, with the drafts whose clips hold it; the
frame is drawn with the box of each of those tracks and encoded once, its packet going to each
draft. A draft's first frame is forced to be a keyframe, so its packets from there on are a clip
of their own, made an MP4 by ``evidence.clip_mp4`` without encoding again.

The thread runs at a lower priority, as the event writer does: analysis must keep up with a live
camera; encoding catches up when analysis waits for frames.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from concurrent.futures import Future

from gatewatch.settings import EvidenceSettings
from gatewatch.vision.evidence import ClipStream, EncodedClip, draw_boxes_i420
from gatewatch.vision.recorder import ClipFrame, EventDraft
from gatewatch.vision.runstats import StageTimes

log = logging.getLogger(__name__)

#: Niceness of the threads that write evidence, beside analysis (Linux: per thread).
EVIDENCE_NICENESS = 10
#: Clip frames waiting to be encoded before ``encode`` blocks the analysis: a few seconds' worth.
QUEUE_FRAMES = 64


def lower_priority() -> None:
    """Lower the calling thread's CPU priority to ``EVIDENCE_NICENESS``, where the system allows it."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EVIDENCE_NICENESS)


class ClipEncoder:
    """A ``ClipSink`` that encodes on its own thread; ``close`` once the recorder is flushed."""

    _DONE = object()

    def __init__(self, settings: EvidenceSettings, *, name: str = "clip-encoder",
                 times: StageTimes | None = None) -> None:
        self._preset = settings.clip_preset
        self.times = times if times is not None else StageTimes()  # encoding goes to "encode"
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def encode(self, frame: ClipFrame, drafts: list[EventDraft]) -> None:
        starts = False
        for draft in drafts:
            if draft.encoded is None:
                draft.encoded, starts = Future(), True
        self._queue.put((frame, list(drafts), starts))

    def finish(self, draft: EventDraft) -> None:
        self._queue.put(draft)

    def close(self) -> None:
        """Wait until every frame given is encoded and every finished draft's clip resolved."""
        self._queue.put(self._DONE)
        self._thread.join()

    def _run(self) -> None:
        lower_priority()
        stream: ClipStream | None = None
        clips: dict[int, EncodedClip] = {}  # id(draft) -> its clip so far
        owners: dict[int, list[EncodedClip]] = {}  # pts of a frame whose packet is not out yet -> its clips
        failure: Exception | None = None

        def deliver(packets: list) -> None:
            for packet in packets:
                for clip in owners.pop(packet.pts, []):
                    clip.packets.append(packet)

        while (item := self._queue.get()) is not self._DONE:
            if isinstance(item, EventDraft):  # tuned for zero latency, x264 has given every frame's packet
                _resolve(item, clips.pop(id(item), None), failure)
                continue
            if failure is not None:
                continue
            frame, drafts, starts = item  # type: ignore[misc]
            try:
                with self.times.measure("encode"):
                    if stream is None:
                        stream, starts = ClipStream(frame.size, drafts[0].fps, self._preset), True
                    boxes = [(frame.boxes[d.crossing.track_id], d.caption) for d in drafts
                             if d.crossing.track_id in frame.boxes]
                    pixels = draw_boxes_i420(frame.i420, boxes) if boxes else frame.i420
                    owners[stream.next_pts] = [clips.setdefault(id(d), EncodedClip(stream.stream)) for d in drafts]
                    deliver(stream.encode(pixels, keyframe=starts))
            except Exception as exc:  # recorded on each event; the events themselves are kept
                log.exception("encoding clips failed")
                failure = exc


def _resolve(draft: EventDraft, clip: EncodedClip | None, failure: Exception | None) -> None:
    if draft.encoded is None:
        return
    if failure is not None or clip is None or not clip.packets:
        draft.encoded.set_exception(OSError(f"the clip could not be encoded: {failure or 'no frames'}"))
    else:
        draft.encoded.set_result(clip)
