"""Makes an event's evidence: a JPEG snapshot and an H.264 MP4 clip that browsers play.

A clip is the camera's own packets (``packets.CopiedClip``), muxed into an MP4 as they are, or,
for a source a browser cannot play, encoded with the boxes burned in. An encoded clip is made
by a ``ClipStream``: one libx264 session whose packets, from a forced keyframe on, make a clip
of their own, so events whose clips overlap share one encoding of the frames they have in
common (``clips.ClipEncoder``). Either way each gets its own MP4 by ``clip_mp4``.

Evidence comes out as bytes: the event store (``gatewatch.camera``) writes the files.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field

import av
import cv2
import numpy as np

from gatewatch.settings import GateSettings
from gatewatch.vision.gate import GateLine
from gatewatch.vision.objects import Box
from gatewatch.vision.packets import CopiedClip, StoredPacket

BOX_COLOUR = (0, 200, 255)  # BGR amber: visible on asphalt, grass and clothing alike
GATE_COLOUR = (255, 208, 0)  # BGR cyan: the gate line, as the pages draw it (app.js GATE_COLOUR)
#: How much of the gate's colour tints the dead band on a snapshot.
BAND_TINT = 0.25


def _bgr_to_yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """The Y, U and V of a BGR colour, as OpenCV converts to and from I420."""
    yuv = cv2.cvtColor(np.full((2, 2, 3), bgr, np.uint8), cv2.COLOR_BGR2YUV_I420).ravel()
    return int(yuv[0]), int(yuv[4]), int(yuv[5])


BOX_YUV = _bgr_to_yuv(BOX_COLOUR)
INK_YUV = _bgr_to_yuv((0, 0, 0))


def _draw(plane: np.ndarray, box: Box, caption: str, colour: int | tuple[int, int, int],
          ink: int | tuple[int, int, int], image_height: int, factor: float = 1.0) -> None:
    """Draw the box and its caption onto ``plane`` in place; ``factor`` is the plane's size over the image's.

    The layout is worked out at the image's size and scaled, so that planes of different sizes
    (YUV 4:2:0's chroma is half the luma) get the same box and label.
    """
    thickness = max(2, round(image_height / 360))
    font = 0.9 * image_height / 1080 + 0.3
    x1, y1, x2, y2 = (round(v) for v in box)
    (tw, th), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, font, thickness)
    top = max(0, y1 - th - base - 4)

    def at(*values: float) -> tuple[int, ...]:
        return tuple(round(v * factor) for v in values)

    cv2.rectangle(plane, at(x1, y1), at(x2, y2), colour, max(1, round(thickness * factor)))
    cv2.rectangle(plane, at(x1, top), at(x1 + tw + 6, top + th + base + 4), colour, -1)
    cv2.putText(plane, caption, at(x1 + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font * factor, ink,
                max(1, round((thickness - 1) * factor)), cv2.LINE_AA)


def draw_box(image: np.ndarray, box: Box, caption: str) -> np.ndarray:
    """A copy of the BGR ``image`` with the box and its caption drawn, scaled to the image size."""
    out = image.copy()
    _draw(out, box, caption, BOX_COLOUR, (0, 0, 0), out.shape[0])
    return out


def draw_boxes_i420(pixels: np.ndarray, boxes: Iterable[tuple[Box, str]]) -> np.ndarray:
    """``draw_box`` for a planar YUV 4:2:0 picture ((h * 3 / 2) x w), for each (box, caption).

    Each plane is drawn on at its own size: that spares a clip frame two colour conversions,
    which cost as much as encoding it.
    """
    out = pixels.copy()
    height, width = out.shape[0] * 2 // 3, out.shape[1]
    flat, quarter = out.reshape(-1), height * width // 4
    planes = (out[:height],
              flat[height * width : height * width + quarter].reshape(height // 2, width // 2),
              flat[height * width + quarter :].reshape(height // 2, width // 2))
    for box, caption in boxes:
        for plane, colour, ink, factor in zip(planes, BOX_YUV, INK_YUV, (1.0, 0.5, 0.5), strict=True):
            _draw(plane, box, caption, colour, ink, height, factor)
    return out


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """The BGR ``image`` as a JPEG of ``quality`` (0-100); OSError when it cannot be encoded."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("the image could not be encoded as a JPEG")
    return data.tobytes()


def draw_gate(image: np.ndarray, gate: GateSettings) -> None:
    """Draw ``gate`` onto the BGR ``image`` in place: the dead band tinted, the line, and an arrow
    from the line's middle towards the inside, marked IN, so a reviewer sees why a crossing counted
    as an entry or an exit."""
    height, width = image.shape[:2]
    line = GateLine(gate, width, height)
    (ax, ay), (bx, by), (nx, ny) = line.a, line.b, line.inside_normal
    band = max(line.margin_px, 1.0)
    corners = np.array([(ax - nx * band, ay - ny * band), (bx - nx * band, by - ny * band),
                        (bx + nx * band, by + ny * band), (ax + nx * band, ay + ny * band)], np.int32)
    tinted = image.copy()
    cv2.fillPoly(tinted, [corners], GATE_COLOUR)
    cv2.addWeighted(tinted, BAND_TINT, image, 1.0 - BAND_TINT, 0.0, dst=image)
    thickness = max(2, round(height / 360))
    cv2.line(image, (round(ax), round(ay)), (round(bx), round(by)), GATE_COLOUR, thickness, cv2.LINE_AA)
    length = max(2.5 * band, height / 8)
    mx, my = (ax + bx) / 2, (ay + by) / 2
    tip = (round(mx + nx * length), round(my + ny * length))
    cv2.arrowedLine(image, (round(mx), round(my)), tip, GATE_COLOUR, thickness, cv2.LINE_AA, tipLength=0.3)
    font = 0.9 * height / 1080 + 0.3
    (text_width, text_height), _base = cv2.getTextSize("IN", cv2.FONT_HERSHEY_SIMPLEX, font, thickness)
    centre = (mx + nx * (length + text_height), my + ny * (length + text_height))  # beyond the arrow's tip
    cv2.putText(image, "IN", (round(centre[0] - text_width / 2), round(centre[1] + text_height / 2)),
                cv2.FONT_HERSHEY_SIMPLEX, font, GATE_COLOUR, thickness, cv2.LINE_AA)


def snapshot_jpeg(image: np.ndarray, box: Box, caption: str, quality: int, gate: GateSettings | None = None) -> bytes:
    """The snapshot: ``image`` with the gate (when given), the box and its caption drawn, as a JPEG."""
    drawn = image.copy()
    if gate is not None:
        draw_gate(drawn, gate)
    _draw(drawn, box, caption, BOX_COLOUR, (0, 0, 0), drawn.shape[0])  # the object over the band
    return encode_jpeg(drawn, quality)


@dataclass(slots=True)
class EncodedClip:
    """An event's clip as H.264 packets of a ``ClipStream``, the first one a keyframe."""

    stream: av.VideoStream  # the encoder's, a template for the file's stream
    packets: list[av.Packet] = field(default_factory=list)


def encoded_rate(fps: float) -> int:
    """The frame rate an encoded clip of frames at ``fps`` plays at: a whole number of frames a second."""
    return max(1, round(fps))


class ClipStream:
    """One libx264 session: YUV 4:2:0 frames of one size and rate in, H.264 packets out.

    No B-frames, and x264's zero-latency tuning: every frame's packet comes out as the frame
    goes in, so a run of packets from a forced keyframe on is a whole clip. ``preset`` is
    libx264's: a 720p frame of the street footage takes about 6 ms of CPU with ``superfast``
    on the 2-core bench machine and 3.6 ms with ``ultrafast`` (1.3 times the bytes).
    """

    def __init__(self, size: tuple[int, int], fps: float, preset: str) -> None:
        # An MP4 container, never written, gives the encoder the global header (SPS/PPS out of
        # band) that MP4 files need, and a stream that files can take as their template.
        self._holder = av.open(io.BytesIO(), mode="w", format="mp4")
        self.stream = self._holder.add_stream(
            "libx264", rate=encoded_rate(fps),
            options={"preset": preset, "tune": "zerolatency", "crf": "26", "bf": "0", "forced-idr": "1"},
        )
        self.stream.width, self.stream.height, self.stream.pix_fmt = size[0], size[1], "yuv420p"
        self.next_pts = 0  # frames are numbered as they go in: their packets carry it

    def encode(self, pixels: np.ndarray, *, keyframe: bool = False) -> list[av.Packet]:
        """Encode one frame (planar YUV 4:2:0); ``keyframe`` makes it one a clip can start at."""
        frame = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
        frame.pts = self.next_pts
        self.next_pts += 1
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        return self.stream.encode(frame)


def clip_mp4(clip: EncodedClip | CopiedClip) -> bytes:
    """An MP4 (faststart) of ``clip``'s packets as they are, their time starting at 0.

    Muxing only, no encoding: cheap. A copied clip's packets keep their bytes and their order
    (decode order), and their times keep their offsets: both shift by the first frame's pts, so
    the first frame is shown at 0 and B-frames decoded before it get negative decode times (the
    MP4 says so in an edit list, as FFmpeg writes any H.264 with B-frames). Moving the index to
    the front (faststart) makes FFmpeg read the file back by opening it again; ``io_open`` hands
    it a copy of what was written so far. OSError when FFmpeg refuses the packets.
    """
    if not clip.packets:
        raise ValueError("a clip needs at least one frame")
    if isinstance(clip, EncodedClip):  # no B-frames: decoded in the order shown
        time_base = clip.packets[0].time_base
        packets = [StoredPacket(bytes(p), p.pts, p.pts, p.is_keyframe, p.duration or 0) for p in clip.packets]
    else:
        time_base, packets = clip.time_base, list(clip.packets)
    first = packets[0].pts
    out = io.BytesIO()
    try:
        with av.open(out, mode="w", format="mp4", options={"movflags": "+faststart"},
                     io_open=lambda _url, _flags, _options: io.BytesIO(out.getvalue())) as container:
            stream = container.add_stream_from_template(clip.stream)
            stream.codec_context.extradata = clip.stream.codec_context.extradata
            for packet in packets:
                copy = av.Packet(packet.data)
                copy.pts = packet.pts - first
                copy.dts = (packet.dts if packet.dts is not None else packet.pts) - first
                copy.is_keyframe, copy.time_base, copy.stream = packet.keyframe, time_base, stream
                if packet.duration:
                    copy.duration = packet.duration
                container.mux(copy)
    except av.FFmpegError as exc:  # recorded on the event, as a clip that could not be encoded is
        raise OSError(f"the clip could not be muxed: {exc}") from None
    return out.getvalue()
