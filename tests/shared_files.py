"""Where the tests find the real model and footage: ../shared beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GATEWATCH_SHARED", ROOT.parent / "shared"))
MODEL = SHARED / "models" / "yolo11n_int8_openvino_model"
STREET = SHARED / "footage" / "street-pedestrians.mp4"
HIGHWAY = SHARED / "footage" / "highway-vehicles.mp4"
SAMPLE_CONFIG = ROOT / "samples" / "gatewatch.yaml"
MOTORCYCLES = SHARED / "footage" / "street-motorcycles.mp4"
