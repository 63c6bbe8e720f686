"""Detection and tracking through ultralytics: one call per frame, tracked objects out.

The tracker is ultralytics' own (ByteTrack or BoT-SORT, chosen in the settings); this module
only turns its results into plain values that the gate logic understands.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewatch.settings import DetectorSettings


class DetectorError(Exception):
    """The model cannot be loaded; the message names the setting to fix."""


@dataclass(frozen=True, slots=True)
class TrackedObject:
    track_id: int
    label: str
    confidence: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom centre of the box: where feet and wheels touch the ground the line is drawn on."""
        x1, _, x2, y2 = self.box
        return ((x1 + x2) / 2.0, y2)


def load_model(settings: DetectorSettings):  # -> ultralytics.YOLO, imported lazily: it is slow to import
    """Load the configured model; a path that does not exist is an error, never a download."""
    model = settings.model
    looks_like_path = "/" in model or Path(model).suffix in {".pt", ".onnx", ".xml", ".engine"}
    if looks_like_path and not Path(model).exists():
        raise DetectorError(
            f"detector.model: {model} does not exist (set it in the configuration or GATEWATCH_DETECTOR__MODEL)"
        )
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    # ultralytics logs to stdout; stdout belongs to the application (``process --json``).
    for handler in LOGGER.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    try:
        return YOLO(model, task="detect")
    except Exception as exc:  # ultralytics raises many kinds for a bad model file
        raise DetectorError(f"detector.model: {model} could not be loaded: {exc}") from exc


class YoloTracker:
    """Detects and tracks the configured classes, frame by frame, for one video source."""

    def __init__(self, settings: DetectorSettings, classes: Iterable[str], model=None) -> None:
        self._settings = settings
        self._model = model if model is not None else load_model(settings)
        wanted = set(classes)
        self._names: dict[int, str] = dict(self._model.names)
        self._class_ids = sorted(i for i, name in self._names.items() if name in wanted)
        missing = wanted - {self._names[i] for i in self._class_ids}
        if missing:
            raise DetectorError(f"detector.model does not know the classes {', '.join(sorted(missing))}")
        # A model reused for a new source must not carry tracks (or track ids) over from the last.
        for tracker in getattr(self._model.predictor, "trackers", ()):
            tracker.reset()

    def update(self, image: np.ndarray) -> list[TrackedObject]:
        result = self._model.track(
            image,
            persist=True,
            tracker=self._settings.tracker,
            classes=self._class_ids,
            conf=self._settings.confidence,
            imgsz=self._settings.image_size,
            device=self._settings.device,
            verbose=False,
        )[0]
        boxes = result.boxes
        if boxes is None or boxes.id is None:
            return []
        return [
            TrackedObject(track_id, self._names[class_id], confidence, tuple(box))
            for track_id, class_id, confidence, box in zip(
                boxes.id.int().tolist(), boxes.cls.int().tolist(), boxes.conf.tolist(), boxes.xyxy.tolist(),
                strict=True,
            )
        ]
