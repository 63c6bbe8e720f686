"""A clip as the camera store makes one from a stream: the footage's own H.264 packets remuxed into
an MP4, with no decoding or encoding, and a boxes JSON (``gatewatch.vision.boxes``' format) with
one known box over a known stretch of it.

Shared by the event page's browser test and the export tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from tests.shared_files import SHARED

MOTORCYCLES = SHARED / "footage" / "street-motorcycles.mp4"
#: The known box: the event's track (``TRACK_ID``) at ``BOX`` (source pixels) from ``BOX_FROM`` to
#: ``BOX_UNTIL`` seconds; another track's box at ``OTHER_BOX`` over the whole clip.
TRACK_ID = 7
OTHER_TRACK_ID = 8
BOX = (320.0, 180.0, 640.0, 540.0)
OTHER_BOX = (900.0, 60.0, 1100.0, 260.0)
BOX_FROM, BOX_UNTIL = 0.9, 1.5
#: Well below the box, in fractions of the picture.
GATE = {"line": [[0.0, 0.9], [1.0, 0.9]], "inside": [0.5, 0.95]}


@dataclass(frozen=True)
class RemuxedClip:
    path: Path
    frame_size: tuple[int, int]
    frame_times: list[float]  # each frame's presentation time, seconds from the first frame


def remux_cut(output: Path, *, seconds: float = 2.5, source: Path = MOTORCYCLES) -> RemuxedClip:
    """The first ``seconds`` of ``source`` (from its first keyframe) as an MP4 of its own packets."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as src, av.open(str(output), "w", format="mp4",
                                               options={"movflags": "+faststart"}) as out:
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            if packet.dts * stream.time_base > seconds:
                break
            packet.stream = copy
            out.mux(packet)
    with av.open(str(output)) as clip:
        video = clip.streams.video[0]
        times = sorted(float(frame.pts * video.time_base) for frame in clip.decode(video))
        size = (video.codec_context.width, video.codec_context.height)
    return RemuxedClip(output, size, times)


def boxes_document(clip: RemuxedClip, *, kind: str = "copy", start: float = 0.5) -> dict[str, Any]:
    """A boxes JSON for ``clip``: the event's box from ``BOX_FROM`` to ``BOX_UNTIL``, the other box throughout."""
    frames = []
    for t in clip.frame_times:
        boxes = [{"track_id": OTHER_TRACK_ID, "label": "person", "box": list(OTHER_BOX)}]
        if BOX_FROM <= t <= BOX_UNTIL:
            boxes.append({"track_id": TRACK_ID, "label": "motorcycle", "box": list(BOX)})
        frames.append({"t": round(t, 4), "boxes": boxes})
    return {"version": 1, "camera_id": "gate", "event_track_id": TRACK_ID, "frame_size": list(clip.frame_size),
            "clip_kind": kind, "clip_start_seconds": start, "crossing_seconds": 1.2, "gate": GATE,
            "frames": frames}


def write_boxes(path: Path, document: dict[str, Any]) -> bytes:
    data = json.dumps(document, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
