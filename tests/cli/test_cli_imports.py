"""Commands that run no video load no video library: ``gatewatch --help`` and the database commands
start without cv2, av, torch and the rest, which only the commands that analyse video import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Loaded only inside the commands that run video (process, worker, replay, replay-run, demo).
VIDEO_LIBRARIES = {"cv2", "av", "torch", "ultralytics", "openvino", "onnxruntime", "rapidocr_onnxruntime"}


def imported_modules(*args: str, env: dict[str, str]) -> set[str]:
    """Every module ``python -X importtime -m gatewatch ARGS`` imports, read from its stderr."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gatewatch", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env}, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.rpartition("|")[2].strip() for line in lines[1:]}  # the first line is the header
    assert "gatewatch.cli.main" in modules
    return modules


@pytest.mark.parametrize(
    "args",
    [["--help"], ["visits", "list"], ["events", "list", "--flagged"], ["users", "list"]],
    ids=["help", "visits-list", "events-list", "users-list"],
)
def test_commands_without_video_load_no_video_library(tmp_path: Path, args: list[str]) -> None:
    env = {
        "GATEWATCH_CONFIG": "",
        "GATEWATCH_DETECTOR__MODEL": "yolo11n.pt",
        "GATEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'gatewatch.db'}",
        "GATEWATCH_DATA_DIR": str(tmp_path / "data"),
    }
    modules = imported_modules(*args, env=env)
    assert sorted(name for name in modules if name.partition(".")[0] in VIDEO_LIBRARIES) == []
    assert "gatewatch.web.app" not in modules
