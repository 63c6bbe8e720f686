"""A detect stream made from footage, as a camera's substream would be: the same pictures, smaller."""

from __future__ import annotations

from pathlib import Path

import av

DETECT_SIZE = (640, 360)


def scaled_copy(video: Path, out: Path, size: tuple[int, int] = DETECT_SIZE, crf: int = 23) -> Path:
    """``video`` re-encoded with libx264 at ``size``, same frames and times (pts), keyframes every 2 s."""
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        stream = source.streams.video[0]
        rate = stream.average_rate
        encoded = target.add_stream("libx264", rate=rate)
        encoded.width, encoded.height = size
        encoded.pix_fmt = "yuv420p"
        encoded.time_base = stream.time_base
        encoded.options = {"preset": "veryfast", "crf": str(crf), "g": str(round(2 * rate))}
        for frame in source.decode(stream):
            scaled = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            target.mux(encoded.encode(scaled))
        target.mux(encoded.encode(None))
    return out
