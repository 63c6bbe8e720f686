"""A clip as the camera store makes one from a stream: the footage's own H.264 packets remuxed into
an MP4, with no decoding or encoding, and a boxes JSON (``gatewatch.vision.boxes``' format) with
one known box over a known stretch of it.

Shared by the event page's browser test and the export tests.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import sqlalchemy as sa

from gatewatch.models.db import session_scope
from gatewatch.models.enums import ClipKind, EventStatus
from gatewatch.models.tables import EntryEvent
from tests.shared_files import MOTORCYCLES

#: The known box: the event's track (``TRACK_ID``) at ``BOX`` (source pixels) from ``BOX_FROM`` to
#: ``BOX_UNTIL`` seconds; another track's box at ``OTHER_BOX`` over the whole clip.
TRACK_ID = 7
OTHER_TRACK_ID = 8
BOX = (320.0, 180.0, 640.0, 540.0)
OTHER_BOX = (900.0, 60.0, 1100.0, 260.0)
BOX_FROM, BOX_UNTIL = 0.9, 1.5
#: Well below the box, in fractions of the picture.
GATE = {"line": [[0.0, 0.9], [1.0, 0.9]], "inside": [0.5, 0.95]}
_frame_indexes = itertools.count(40)  # events of one track are told apart by the frame they crossed at


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


def boxes_document(clip: RemuxedClip, *, kind: str = ClipKind.COPY, start: float = 0.5) -> dict[str, Any]:
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


def store_copied_event(engine: sa.Engine, data_dir: Path, camera_id: str, clip: RemuxedClip, occurred_at: datetime,
                       *, kind: ClipKind = ClipKind.COPY, start: float = 0.5) -> EntryEvent:
    """A flagged entry of track ``TRACK_ID`` whose evidence is ``clip`` and its boxes JSON, as the store keeps them."""
    frame_index = next(_frame_indexes)
    stem = Path("evidence") / camera_id / f"copied-{kind}-{frame_index}"
    clip_file = data_dir / stem.with_suffix(".mp4")
    clip_file.parent.mkdir(parents=True, exist_ok=True)
    clip_file.write_bytes(clip.path.read_bytes())
    boxes = write_boxes(data_dir / stem.with_suffix(".json"), boxes_document(clip, kind=kind, start=start))
    event = EntryEvent(camera_id=camera_id, source_key="test", track_id=TRACK_ID, frame_index=frame_index, label="motorcycle",
                       direction="entry", occurred_at=occurred_at, confidence=0.9, box_x1=BOX[0], box_y1=BOX[1],
                       box_x2=BOX[2], box_y2=BOX[3], status=EventStatus.FLAGGED,
                       clip_path=stem.with_suffix(".mp4").as_posix(),
                       clip_sha256=hashlib.sha256(clip_file.read_bytes()).hexdigest(),
                       boxes_path=stem.with_suffix(".json").as_posix(), boxes_sha256=hashlib.sha256(boxes).hexdigest(),
                       clip_kind=kind, clip_start_seconds=start)
    with session_scope(engine) as session:
        session.add(event)
    return event
