"""An event's clip with its boxes and gate line drawn in: the annotated rendition an export may add.

A copied clip is the camera's own packets and has nothing drawn on it; the event page draws the
boxes over the playing video from the event's boxes JSON (``gatewatch.vision.boxes``' format).
An auditor's copy outside the app needs them in the pictures, so an export may add a rendition:
the clip decoded, each frame drawn on, and encoded again as H.264 (a ``ClipStream``). It is made
at export time, never stored beside the evidence, and is a derivative: the ZIP keeps the
original clip and the boxes JSON it was drawn from.

Each frame gets what the page draws over it: the gate line, the boxes listed for the frame's
time (the nearest listed time within half a frame, as ``app.js`` picks it), the event's own
track as the snapshot has it (``draw_boxes_i420``: ``BOX_COLOUR``, its caption) and the others
thinner, without one. An encoded clip has its boxes burned in already: only the gate line is
drawn. Boxes are in the source's pixels (``frame_size``); an encoded clip, scaled down, gets
them scaled.
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from gatewatch.models.enums import ClipKind
from gatewatch.vision.evidence import GATE_COLOUR, ClipStream, EncodedClip, clip_mp4, draw_boxes_i420
from gatewatch.vision.objects import Box

#: The only version of the boxes JSON this reads.
VERSION = 1
OTHER_BGR = (255, 255, 255)  # other tracks: white, thin


class BoxesError(ValueError):
    """The boxes JSON is not one this can draw; the message says why."""


@dataclass(frozen=True, slots=True)
class ListedBox:
    track_id: int
    label: str
    box: Box  # source pixels


@dataclass(frozen=True, slots=True)
class ClipBoxes:
    """An event's boxes JSON, read."""

    kind: ClipKind
    track_id: int
    frame_size: tuple[int, int]
    gate_line: tuple[tuple[float, float], tuple[float, float]]  # fractions of the picture
    times: tuple[float, ...]  # sorted
    boxes: tuple[tuple[ListedBox, ...], ...]  # the boxes at each of ``times``

    def at(self, t: float) -> tuple[ListedBox, ...]:
        """The boxes of the frame shown at ``t`` seconds: the nearest time listed, within half a frame."""
        if not self.times:
            return ()
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False) if b > a]
        half = statistics.median(gaps) / 2 if gaps else 0.02
        index = bisect.bisect_left(self.times, t)
        nearest = min((i for i in (index - 1, index) if 0 <= i < len(self.times)),
                      key=lambda i: abs(self.times[i] - t))
        return self.boxes[nearest] if abs(self.times[nearest] - t) <= half else ()


def _box(values: Any) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def read_boxes(data: bytes) -> ClipBoxes:
    """The boxes JSON's content; BoxesError when it is not version 1 of the format or lacks a part."""
    try:
        document = json.loads(data)
        if document.get("version") != VERSION:
            raise BoxesError(f"boxes JSON version {document.get('version')!r}, expected {VERSION}")
        width, height = (int(v) for v in document["frame_size"])
        line = document["gate"]["line"]
        frames = sorted(document["frames"], key=lambda frame: float(frame["t"]))
        return ClipBoxes(
            kind=ClipKind(document["clip_kind"]),
            track_id=int(document["event_track_id"]),
            frame_size=(width, height),
            gate_line=((float(line[0][0]), float(line[0][1])), (float(line[1][0]), float(line[1][1]))),
            times=tuple(float(frame["t"]) for frame in frames),
            boxes=tuple(tuple(ListedBox(int(b["track_id"]), str(b["label"]), _box(b["box"])) for b in frame["boxes"])
                        for frame in frames),
        )
    except BoxesError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise BoxesError(f"not a boxes JSON ({type(exc).__name__}: {exc})") from None


def _planes(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a planar YUV 4:2:0 picture ((h * 3 / 2) x w)."""
    height, width = pixels.shape[0] * 2 // 3, pixels.shape[1]
    flat, quarter = pixels.reshape(-1), height * width // 4
    return (pixels[:height],
            flat[height * width : height * width + quarter].reshape(height // 2, width // 2),
            flat[height * width + quarter :].reshape(height // 2, width // 2))


def _yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    yuv = cv2.cvtColor(np.full((2, 2, 3), bgr, np.uint8), cv2.COLOR_BGR2YUV_I420).ravel()
    return int(yuv[0]), int(yuv[4]), int(yuv[5])


GATE_YUV, OTHER_YUV = _yuv(GATE_COLOUR), _yuv(OTHER_BGR)


def annotate_frame(pixels: np.ndarray, boxes: ClipBoxes, listed: Sequence[ListedBox], caption: str) -> np.ndarray:
    """A copy of the YUV 4:2:0 ``pixels`` with the gate line, the other tracks' boxes and the event's own drawn."""
    out = pixels.copy()
    height, width = out.shape[0] * 2 // 3, out.shape[1]
    sx, sy = width / boxes.frame_size[0], height / boxes.frame_size[1]
    thickness = max(2, round(height / 360))
    (gx1, gy1), (gx2, gy2) = boxes.gate_line
    own, others = [], []
    for item in listed:
        scaled = (item.box[0] * sx, item.box[1] * sy, item.box[2] * sx, item.box[3] * sy)
        (own if item.track_id == boxes.track_id else others).append(scaled)
    for plane, gate, other, factor in zip(_planes(out), GATE_YUV, OTHER_YUV, (1.0, 0.5, 0.5), strict=True):
        def at(x: float, y: float, f: float = factor) -> tuple[int, int]:
            return round(x * f), round(y * f)

        cv2.line(plane, at(gx1 * width, gy1 * height), at(gx2 * width, gy2 * height), gate,
                 max(1, round(thickness * factor)))
        for x1, y1, x2, y2 in others:
            cv2.rectangle(plane, at(x1, y1), at(x2, y2), other, 1)
    if own and boxes.kind == ClipKind.COPY:
        out = draw_boxes_i420(out, [(box, caption) for box in own])
    return out


def render_annotated(clip: Path, boxes: ClipBoxes, caption: str, *, preset: str = "superfast") -> bytes:
    """The clip decoded, drawn on (``annotate_frame``) and encoded as an H.264 MP4 (faststart).

    A frame's time is its presentation time from the stream's start, the video's ``currentTime``
    the boxes are listed by. OSError when the clip cannot be decoded or holds no frame.
    """
    packets: list[av.Packet] = []
    encoder: ClipStream | None = None
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = stream.start_time or 0
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float((frame.pts - start) * stream.time_base)
                if frame.width % 2 or frame.height % 2:
                    raise OSError(f"{clip.name} is {frame.width}x{frame.height}: 4:2:0 H.264 needs even sides")
                pixels = frame.to_ndarray(format="yuv420p")
                if encoder is None:
                    encoder = ClipStream((frame.width, frame.height), fps, preset)
                packets += encoder.encode(annotate_frame(pixels, boxes, boxes.at(t), caption),
                                          keyframe=encoder.next_pts == 0)
    except av.FFmpegError as exc:
        raise OSError(f"{clip.name} could not be decoded: {exc}") from None
    if encoder is None:
        raise OSError(f"{clip.name} holds no frame")
    packets += encoder.stream.encode(None)
    return clip_mp4(EncodedClip(encoder.stream, packets))

