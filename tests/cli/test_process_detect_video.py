"""``gatewatch process VIDEO --detect-video SMALL``: the small file analysed, the evidence from VIDEO."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli_errors import assert_clean_failure, config, gatewatch, write  # noqa: F401
from tests.detect_stream import scaled_copy
from tests.shared_files import MOTORCYCLES


def test_a_missing_detect_video_is_named(tmp_path: Path, config: dict) -> None:  # noqa: F811
    result = gatewatch("process", str(MOTORCYCLES), "--camera", "street-gate", "--detect-video",
                       str(tmp_path / "sub.mp4"), "--config", write(tmp_path, config))
    assert_clean_failure(result, 1, "detect stream: video file", "sub.mp4 does not exist")


@pytest.mark.slow
def test_process_analyses_the_detect_video_and_stores_the_main_videos_evidence(tmp_path: Path,
                                                                                config: dict) -> None:  # noqa: F811
    small = scaled_copy(MOTORCYCLES, tmp_path / "sub.mp4")
    result = gatewatch("process", str(MOTORCYCLES), "--camera", "street-gate", "--detect-video", str(small),
                       "--line", "0,0.5,1,0.5", "--inside", "0.5,0.9", "--config", write(tmp_path, config))
    assert result.returncode == 0, result.stderr
    assert "street-motorcycles.mp4 as street-gate: 226 frames" in result.stdout
    snapshots = list((tmp_path / "data" / "evidence").rglob("*.jpg"))
    assert snapshots and all(_width(path) == 1280 for path in snapshots)  # the main video's pixels


def _width(path: Path) -> int:
    import cv2

    return cv2.imread(str(path)).shape[1]
