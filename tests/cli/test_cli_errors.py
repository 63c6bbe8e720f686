"""Wrong configuration and bad video input: a clear message and exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.shared_files import MODEL, SAMPLE_CONFIG


def gatewatch(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gatewatch", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}, cwd=cwd,
    )


@pytest.fixture
def config(tmp_path: Path) -> dict:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = str(MODEL)
    return raw


def write(tmp_path: Path, raw: dict) -> str:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def assert_clean_failure(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda raw: raw.update(colour="red"), ["colour: unknown key"]),
        (lambda raw: raw["detector"].update(confidence=1.5), ["detector.confidence"]),
        (lambda raw: raw["cameras"][0]["gate"].update(line=[[0.0, 0.5], [1.2, 0.5]]),
         ["cameras.0.gate.line", "outside the image"]),
        (lambda raw: raw["cameras"][0]["gate"].update(inside=[0.5, 0.5]),
         ["cameras.0.gate", "lies on the gate line"]),
        (lambda raw: raw["cameras"][1].update(classes=["person", "horse"]),
         ["cameras.1.classes", "unknown class horse"]),
        (lambda raw: raw["cameras"][1].update(id="street-gate"), ["street-gate is used more than once"]),
        (lambda raw: raw.update(timezone="Mars/Olympus"), ["timezone", "unknown time zone"]),
    ],
    ids=["unknown-key", "confidence", "line-outside", "inside-on-line", "unknown-class", "duplicate-id", "zone"],
)
def test_a_wrong_setting_fails_at_start_naming_the_key(tmp_path: Path, config: dict, change, fragments) -> None:
    change(config)
    result = gatewatch("events", "list", "--config", write(tmp_path, config))
    assert_clean_failure(result, 2, "invalid configuration", *fragments)


def test_environment_overrides_the_file(tmp_path: Path, config: dict) -> None:
    path = write(tmp_path, config)
    result = gatewatch("events", "list", env={"GATEWATCH_CONFIG": path, "GATEWATCH_DETECTOR__CONFIDENCE": "7"})
    assert_clean_failure(result, 2, "detector.confidence")
    db = tmp_path / "elsewhere.db"
    result = gatewatch("events", "list", env={"GATEWATCH_CONFIG": path, "GATEWATCH_DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_missing_configuration_file(tmp_path: Path) -> None:
    result = gatewatch("events", "list", "--config", str(tmp_path / "nope.yaml"))
    assert_clean_failure(result, 2, "nope.yaml does not exist")


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [("gone.mp4", None, "does not exist"), ("empty.mp4", b"", "empty (0 bytes)"),
     ("log.mp4", b"name,nik\n" * 100, "not a readable video")],
    ids=["missing", "zero-byte", "not-video"],
)
def test_process_refuses_bad_video_files(tmp_path: Path, config: dict, name: str, content: bytes | None,
                                         fragment: str) -> None:
    video = tmp_path / name
    if content is not None:
        video.write_bytes(content)
    result = gatewatch("process", str(video), "--camera", "street-gate", "--config", write(tmp_path, config))
    assert_clean_failure(result, 1, name, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--camera", "back-door"], "no camera with id 'back-door'"),
        (["--camera", "street-gate", "--start", "20 Nov 2026"], "--start: '20 Nov 2026' is not an ISO 8601 time"),
        (["--camera", "street-gate", "--line", "0,0.5,1", "--inside", "0.5,0.2"], "--line takes 4"),
        (["--camera", "street-gate", "--line", "0,0.5,1,0.5", "--inside", "0.5,0.5"], "lies on the gate line"),
        (["--camera", "street-gate", "--line", "0,0.5,1,0.5"], "--line and --inside go together"),
    ],
    ids=["camera", "start", "line-count", "inside-on-line", "line-alone"],
)
def test_process_refuses_wrong_options(tmp_path: Path, config: dict, args: list[str], fragment: str) -> None:
    video = tmp_path / "clip.mp4"
    result = gatewatch("process", str(video), *args, "--config", write(tmp_path, config))
    assert_clean_failure(result, 2, fragment)


def test_a_missing_model_is_named(tmp_path: Path, config: dict) -> None:
    from tests.shared_files import STREET

    config["detector"]["model"] = str(tmp_path / "weights" / "gate.pt")
    result = gatewatch("process", str(STREET), "--camera", "street-gate", "--config", write(tmp_path, config))
    assert_clean_failure(result, 2, "detector.model", "gate.pt does not exist")
