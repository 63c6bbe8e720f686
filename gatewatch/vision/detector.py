"""Detection: the YOLO model, and a camera's view of it (its classes, its window of the frame).

An OpenVINO IR folder (what the project ships) runs through ``openvino_ir`` at whatever input
size the window needs; pre- and post-processing are ultralytics' own functions, so at the
model's exported size the detections are exactly those of ``YOLO.predict``. Any other model
format goes through ``YOLO.predict``.

``YoloTracker`` binds a loaded model to one camera's classes and tracker settings and makes a
fresh detector and tracker for each run over a source.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import yaml

from gatewatch.settings import COUNTABLE_CLASSES, DetectorSettings
from gatewatch.vision.objects import TrackedObject
from gatewatch.vision.region import Window
from gatewatch.vision.sources import Frame
from gatewatch.vision.tracking import Tracker

__all__ = ["Detector", "DetectorError", "Model", "TrackedObject", "YoloTracker", "load_model"]

#: Non-maximum suppression overlap, ultralytics' default for predict and track.
NMS_IOU = 0.7
MAX_DETECTIONS = 300
#: Candidates NMS looks at, by score, and the offset that keeps classes apart (ultralytics' max_nms, max_wh).
MAX_NMS = 30000
CLASS_OFFSET = 7680


class DetectorError(Exception):
    """The model cannot be loaded; the message names the setting to fix."""


class Model(Protocol):
    """A loaded detection model, shareable by several cameras."""

    names: dict[int, str]

    def predict(self, image: np.ndarray, size: tuple[int, int], class_ids: list[int], confidence: float) -> np.ndarray:
        """Detections in ``image`` (BGR) letterboxed to ``size`` (w, h): rows x1 y1 x2 y2 conf class, image px."""
        ...


class IrDetectionModel:
    """An ultralytics-exported OpenVINO IR, run at any input size, from any number of threads."""

    def __init__(self, folder: Path, threads: int = 0, hint: str = "LATENCY") -> None:
        from gatewatch.vision.openvino_ir import IrModel

        xml = folder if folder.suffix == ".xml" else next(folder.glob("*.xml"))
        metadata = yaml.safe_load(xml.with_name("metadata.yaml").read_text(encoding="utf-8"))
        self.names = {int(k): v for k, v in metadata["names"].items()}
        self._ir = IrModel(xml, threads, hint)

    @property
    def compiled_sizes(self) -> list[tuple[int, int]]:
        """Input sizes (w, h) compiled so far: one compiled model per size, whoever asked for it."""
        return self._ir.compiled_sizes

    def predict(self, image: np.ndarray, size: tuple[int, int], class_ids: list[int], confidence: float) -> np.ndarray:
        from ultralytics.data.augment import LetterBox
        from ultralytics.utils import ops

        width, height = size
        boxed = LetterBox((height, width), auto=False, stride=32)(image=image)
        # As ultralytics' predictor: BGR to RGB, HWC to CHW, 0..255 to 0..1 in float32.
        blob = np.ascontiguousarray(boxed[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) / 255.0
        found = non_max_suppression(self._ir(blob), class_ids, confidence)
        found[:, :4] = ops.scale_boxes((height, width), found[:, :4], image.shape)
        return found


def non_max_suppression(raw: np.ndarray, class_ids: list[int], confidence: float) -> np.ndarray:
    """ultralytics' ``non_max_suppression`` of one image's raw head output, in NumPy and OpenCV.

    The same steps (anchors whose best class beats ``confidence``, that class's score, the wanted
    classes, in anchor order) and the same class-aware greedy NMS give the same rows x1 y1 x2 y2
    conf class (rows of equal score may come in another order). ultralytics picks the candidates
    with a dozen torch operations on the whole head and suppresses in a Python loop of torch
    operations per kept box; together they cost a gate strip about 1.3 ms, OpenCV's NMS 0.4.
    The INT8 model gives many boxes of equal score, and greedy NMS keeps the first of them in
    its order: the candidates are put in the order of torch's (unstable) sort, as ultralytics
    does, and OpenCV's stable sort keeps it.
    """
    import torch

    head = raw[0]
    scores = head[4:]
    candidates = np.flatnonzero(scores.max(axis=0) > confidence)
    cls = scores[:, candidates].argmax(axis=0)
    wanted = np.isin(cls, class_ids)
    candidates, cls = candidates[wanted], cls[wanted]
    conf = scores[cls, candidates]
    cx, cy, w, h = head[:4, candidates]
    rows = np.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, conf, cls), axis=1).astype(np.float32)
    rows = rows[torch.from_numpy(rows[:, 4]).argsort(descending=True).numpy()[:MAX_NMS]]
    corners = rows[:, :2] + rows[:, 5:6] * CLASS_OFFSET  # classes far apart never overlap
    boxes = np.concatenate((corners, rows[:, 2:4] - rows[:, :2]), axis=1).astype(np.float64)  # x y w h
    keep = cv2.dnn.NMSBoxes(boxes, rows[:, 4].astype(np.float64), 0.0, NMS_IOU)
    return rows[np.asarray(keep, np.int64).reshape(-1)[:MAX_DETECTIONS]]


class UltralyticsModel:
    """Any other model ultralytics loads (.pt, ONNX, ...), through ``YOLO.predict``, one call at a time.

    ``YOLO.predict`` is not safe to call from several threads at once (its predictor keeps
    per-call state), so cameras sharing such a model take turns.
    """

    def __init__(self, yolo) -> None:  # ultralytics.YOLO, imported lazily: it is slow to import
        self._yolo = yolo
        self.names = dict(yolo.names)
        self._turn = threading.Lock()

    def predict(self, image: np.ndarray, size: tuple[int, int], class_ids: list[int], confidence: float) -> np.ndarray:
        with self._turn:
            result = self._yolo.predict(image, imgsz=(size[1], size[0]), classes=class_ids, conf=confidence,
                                        verbose=False)
        return result[0].boxes.data.cpu().numpy()


def _ir_path(model: str) -> Path | None:
    path = Path(model)
    if path.suffix == ".xml" and path.is_file():
        return path
    if path.is_dir() and any(path.glob("*.xml")) and (path / "metadata.yaml").is_file():
        return path
    return None


def load_model(settings: DetectorSettings, *, shared: bool = False) -> Model:
    """Load the configured model; a path that does not exist is an error, never a download.

    ``shared``: the model serves every camera of a box from their own threads; an OpenVINO IR is
    then compiled for throughput (``openvino_ir.IrModel``), one request per stream.
    """
    model = settings.model
    looks_like_path = "/" in model or Path(model).suffix in {".pt", ".onnx", ".xml", ".engine"}
    if looks_like_path and not Path(model).exists():
        raise DetectorError(
            f"detector.model: {model} does not exist (set it in the configuration or GATEWATCH_DETECTOR__MODEL)"
        )
    try:
        if (ir := _ir_path(model)) is not None:
            return IrDetectionModel(ir, settings.threads, "THROUGHPUT" if shared else "LATENCY")
        from ultralytics import YOLO
        from ultralytics.utils import LOGGER

        # ultralytics logs to stdout; stdout belongs to the application (``process --json``).
        for handler in LOGGER.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
        return UltralyticsModel(YOLO(model, task="detect"))
    except Exception as exc:  # ultralytics and OpenVINO raise many kinds for a bad model file
        raise DetectorError(f"detector.model: {model} could not be loaded: {exc}") from exc


class Detector:
    """Detects one camera's classes inside its window of the frame; boxes come back in frame pixels.

    A window too large for the model at the wanted resolution comes as several overlapping tiles
    (``region.tiles``); their detections are merged with ``merge_tiles``.
    """

    def __init__(self, model: Model, class_ids: list[int], confidence: float, windows: list[Window]) -> None:
        self.model = model
        self.windows = windows
        self._class_ids = class_ids
        self._confidence = confidence

    def detect(self, frame: Frame) -> np.ndarray:
        """Rows x1 y1 x2 y2 confidence class, in frame pixels."""
        if len(self.windows) == 1:
            return self._detect(frame, self.windows[0], None)
        small = self._scaled(frame, self.windows[0])
        return merge_tiles([self._detect(frame, window, small) for window in self.windows])

    def _detect(self, frame: Frame, w: Window, small: np.ndarray | None) -> np.ndarray:
        if w.scale is None:  # full resolution, letterboxed by the model as YOLO.predict does
            image = frame.bgr()
            if not w.is_whole(*frame.size):
                image = image[w.y : w.y + w.height, w.x : w.x + w.width]
            found = self.model.predict(image, w.input_size, self._class_ids, self._confidence)
            found[:, [0, 2]] += w.x
            found[:, [1, 3]] += w.y
            return found
        width, height = frame.size
        small = small if small is not None else self._scaled(frame, w)
        top, left = round(w.y * small.shape[0] / height), round(w.x * small.shape[1] / width)
        image = small[top : top + w.input_size[1], left : left + w.input_size[0]]
        found = self.model.predict(image, w.input_size, self._class_ids, self._confidence)
        found[:, [0, 2]] = (found[:, [0, 2]] + left) * (width / small.shape[1])
        found[:, [1, 3]] = (found[:, [1, 3]] + top) * (height / small.shape[0])
        return found

    @staticmethod
    def _scaled(frame: Frame, w: Window) -> np.ndarray:
        """The whole frame at the window's resolution, scaled as YUV and then converted to BGR."""
        width, height = frame.size
        return cv2.cvtColor(frame.i420((_even(width * w.scale), _even(height * w.scale))), cv2.COLOR_YUV2BGR_I420)


#: Two boxes of one class from different tiles are one object when this much of the smaller lies in the larger.
TILE_MERGE_OVERLAP = 0.5


def merge_tiles(found: list[np.ndarray]) -> np.ndarray:
    """One set of detections from overlapping tiles' (rows x1 y1 x2 y2 conf class, frame pixels).

    An object in the overlap is found by both tiles, whole in one and often cut in the other, so
    the two boxes need not overlap by much of their union: of two boxes of one class from
    different tiles, the less confident goes when most of the smaller lies inside the other
    (intersection over the smaller area). Boxes from one tile were already suppressed by the
    model's own NMS, and are left as they are.
    """
    rows = np.concatenate(found)
    tile = np.concatenate([np.full(len(f), i) for i, f in enumerate(found)])
    order = np.argsort(-rows[:, 4], kind="stable")
    rows, tile = rows[order], tile[order]
    areas = (rows[:, 2] - rows[:, 0]) * (rows[:, 3] - rows[:, 1])
    kept: list[int] = []
    for i in range(len(rows)):
        others = [k for k in kept if tile[k] != tile[i] and rows[k, 5] == rows[i, 5]]
        if others:
            k = np.array(others)
            w = np.minimum(rows[k, 2], rows[i, 2]) - np.maximum(rows[k, 0], rows[i, 0])
            h = np.minimum(rows[k, 3], rows[i, 3]) - np.maximum(rows[k, 1], rows[i, 1])
            inter = np.clip(w, 0, None) * np.clip(h, 0, None)
            if np.any(inter > TILE_MERGE_OVERLAP * np.minimum(areas[k], areas[i])):
                continue
        kept.append(i)
    return rows[kept]


def _even(length: float) -> int:
    return max(2, round(length / 2) * 2)


class YoloTracker:
    """A model bound to one camera's classes and tracker settings; loads the model when not given one.

    Every countable class the model knows is detected and tracked, whatever the camera counts
    (``counted``): what a camera counts must not change how its tracks are followed, and a
    rider is told by the motorbike under them even where only people are counted.
    """

    def __init__(self, settings: DetectorSettings, classes: Iterable[str], model: Model | None = None) -> None:
        self.settings = settings
        self.model = model if model is not None else load_model(settings)
        self.counted = frozenset(classes)
        missing = self.counted - set(self.model.names.values())
        if missing:
            raise DetectorError(f"detector.model does not know the classes {', '.join(sorted(missing))}")
        tracked = self.counted | set(COUNTABLE_CLASSES)
        self.class_ids = sorted(i for i, name in self.model.names.items() if name in tracked)

    def detector(self, windows: list[Window]) -> Detector:
        """A detector for the window, or the tiles it is cut into (``region.tiles``)."""
        return Detector(self.model, self.class_ids, self.settings.confidence, windows)

    def tracker(self, warmup: int) -> Tracker:
        """A fresh tracker for the detected classes: track ids start again for every source."""
        return Tracker(self.settings.tracker, {i: self.model.names[i] for i in self.class_ids}, warmup)
