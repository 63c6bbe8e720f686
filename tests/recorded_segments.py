"""Recording segments made from real footage for the replay tests: its packets remuxed, cut at keyframes.

As continuous recording keeps a camera's stream: no decoding or encoding, each piece an MP4 of its
own whose first frame is a keyframe, with the wall-clock time of that frame. ``add_segments`` puts
them in the database as the recorder would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import av
import sqlalchemy as sa

from gatewatch.evidence.files import file_sha256
from gatewatch.models.db import session_scope
from gatewatch.models.tables import RecordingSegment


@dataclass(frozen=True)
class Piece:
    path: Path
    started_at: datetime
    ended_at: datetime
    frames: int


def cut_at_keyframes(video: Path, folder: Path, start: datetime, *, shift: timedelta = timedelta(0)) -> list[Piece]:
    """``video``'s packets remuxed into one MP4 per keyframe interval under ``folder``; its first frame
    was at ``start``. ``shift`` moves every piece after the first that much later: a gap before each."""
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as source:
        stream = source.streams.video[0]
        base = stream.time_base
        groups: list[list[av.Packet]] = []
        for packet in source.demux(stream):
            if not packet.size:
                continue
            if packet.is_keyframe or not groups:
                groups.append([])
            groups[-1].append(packet)
        pieces = []
        for number, packets in enumerate(groups):
            first = packets[0].pts
            path = folder / f"piece-{number}.mp4"
            with av.open(str(path), "w", format="mp4") as out:
                copy = out.add_stream_from_template(stream)
                for packet in packets:
                    packet.pts -= first
                    packet.dts -= first
                    packet.stream = copy
                    out.mux(packet)
            last = max(p.pts + (p.duration or 0) for p in packets)
            began = start + timedelta(seconds=float(first * base)) + shift * bool(number)
            pieces.append(Piece(path, began, began + timedelta(seconds=float(last * base)), len(packets)))
    return pieces


def add_segments(engine: sa.Engine, camera_id: str, pieces: list[Piece], data_dir: Path) -> list[int]:
    """The pieces as the recorder stores segments: paths relative to ``data_dir``, hashed; their ids."""
    ids = []
    with session_scope(engine) as session:
        for piece in pieces:
            row = RecordingSegment(camera_id=camera_id, started_at=piece.started_at, ended_at=piece.ended_at,
                                   path=piece.path.relative_to(data_dir).as_posix(), sha256=file_sha256(piece.path),
                                   size_bytes=piece.path.stat().st_size, frames=piece.frames)
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids
