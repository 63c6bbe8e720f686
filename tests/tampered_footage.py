"""Real footage tampered with part-way: the motorcycle street, its first 3 s as filmed, then darkened
(a covered lens), blurred (the focus ring turned) or shifted (the camera turned); also someone
passing right in front of the lens, and a switch to infrared at dusk, which are not tampering.
Made once per test run at 640x360 (small files, quick to decode) with PyAV and OpenCV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from gatewatch.vision.sources import FileSource, Frame
from tests.shared_files import HIGHWAY, MOTORCYCLES, STREET

UNTOUCHED = (STREET, HIGHWAY, MOTORCYCLES)
SIZE = (640, 360)
#: The frame the tampering starts at: 3 s in.
TAMPERED_FROM = 90
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def _darkened(image: np.ndarray) -> np.ndarray:
    """A hand or a cloth over the lens: next to no light, nearly no detail."""
    return cv2.GaussianBlur(image, (0, 0), 3) // 12


def _blurred(image: np.ndarray) -> np.ndarray:
    """The focus ring turned: the same scene, its edges gone soft (6 px at 720p)."""
    return cv2.GaussianBlur(image, (0, 0), 3)


def _shifted(image: np.ndarray) -> np.ndarray:
    """The camera turned sideways: the scene moved a fifth of the picture to the left."""
    height, width = image.shape[:2]
    moved = np.float32([[1, 0, -width // 5], [0, 1, 0]])
    return cv2.warpAffine(image, moved, (width, height), borderMode=cv2.BORDER_REFLECT_101)


def _occluded(image: np.ndarray, index: int) -> np.ndarray:
    """Someone walking right past the lens: a dark coat over most of the picture for 1.5 s."""
    if index >= TAMPERED_FROM + 45:
        return image
    out = image.copy()
    width = image.shape[1]
    left = width // 10 + (index - TAMPERED_FROM) * 4
    out[:, left : left + width * 2 // 3] = out[:, left : left + width * 2 // 3] // 6 + 20
    return out


def _infrared(image: np.ndarray, index: int) -> np.ndarray:
    """Dusk: the camera switches to infrared, grey, brighter with another tone curve, and grainy."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    noise = np.random.default_rng(index).normal(0, 6, grey.shape)
    night = np.clip(255 * grey ** 0.6 * 0.9 + 20 + noise, 0, 255).astype(np.uint8)
    return cv2.cvtColor(night, cv2.COLOR_GRAY2BGR)


KINDS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "original": lambda image, _index: image,
    "darkened": lambda image, _index: _darkened(image),
    "blurred": lambda image, _index: _blurred(image),
    "shifted": lambda image, _index: _shifted(image),
    "passer-by": _occluded,
    "infrared": _infrared,
}


def _make(folder: Path) -> dict[str, Path]:
    paths = {kind: folder / f"{kind}.mp4" for kind in KINDS}
    with av.open(str(MOTORCYCLES)) as source:
        stream = source.streams.video[0]
        outputs = {kind: av.open(str(path), "w") for kind, path in paths.items()}
        encoders = {}
        for kind, output in outputs.items():
            encoder = output.add_stream("libx264", rate=30, options={"preset": "ultrafast", "crf": "23"})
            encoder.width, encoder.height, encoder.pix_fmt = *SIZE, "yuv420p"
            encoder.time_base = Fraction(1, 30)
            encoders[kind] = encoder
        for index, decoded in enumerate(source.decode(stream)):
            image = cv2.resize(decoded.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_AREA)
            for kind, change in KINDS.items():
                picture = change(image, index) if index >= TAMPERED_FROM else image
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="bgr24")
                frame.pts = index
                outputs[kind].mux(encoders[kind].encode(frame))
        for kind, output in outputs.items():
            output.mux(encoders[kind].encode())
            output.close()
    return paths


@pytest.fixture(scope="session")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Kind ("original", "darkened", "blurred", "shifted", "passer-by", "infrared") -> the clip, made once."""
    folder = tmp_path_factory.getbasetemp() / "tampered-footage"
    if not (folder / "done").exists():
        folder.mkdir(exist_ok=True)
        _make(folder)
        (folder / "done").touch()
    return {kind: folder / f"{kind}.mp4" for kind in KINDS}


def frames(path: Path, start: datetime = START) -> Iterator[Frame]:
    """The decoded frames of ``path``, stamped from ``start`` in footage time, as a camera worker gets them."""
    source = FileSource(path, start, threads=1)
    try:
        yield from source.frames()
    finally:
        source.close()


def later(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)
