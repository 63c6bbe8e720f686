"""The web app runs where no camera is: importing it must not load OpenCV, PyAV, OCR or the vision code."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.web_helpers import ROOT

HEAVY = ("cv2", "av", "ultralytics", "torch", "onnxruntime", "rapidocr_onnxruntime")

PROBE = """
import importlib, json, pkgutil, sys
import gatewatch.web.api, gatewatch.web
for package in (gatewatch.web, gatewatch.web.api):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_every_web_and_api_module_loads_no_vision_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert "gatewatch.web.app" in loaded and "gatewatch.web.api.openapi" in loaded
    assert [
        name for name in loaded if name.split(".")[0] in HEAVY or name.startswith("gatewatch.vision")
    ] == []
