"""A new user who runs a command without a configuration is told what is missing and how to give it:
the setting, ``--config`` or GATEWATCH_CONFIG, and the sample configuration to start from."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import main
from gatewatch.settings import SAMPLE_CONFIG, ConfigError
from gatewatch.web.app import wsgi

SAMPLE_VISITS = SAMPLE_CONFIG.parent / "visits.csv"

#: Every command that reads the configuration says the same.
COMMANDS = [
    ["process", "video.mp4", "--camera", "x"],
    ["serve"],
    ["visits", "import", str(SAMPLE_VISITS)],
    ["events", "list"],
    ["worker", "--all"],
]


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and no GATEWATCH_CONFIG, as a new user has."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEWATCH_CONFIG", raising=False)
    monkeypatch.delenv("GATEWATCH_DETECTOR__MODEL", raising=False)
    return tmp_path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
def test_a_command_without_configuration_names_what_is_missing(empty_folder: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args, env={"GATEWATCH_CONFIG": None})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output
    assert "no configuration" in message
    assert "detector.model" in message and "GATEWATCH_DETECTOR__MODEL" in message
    assert "--config" in message and "GATEWATCH_CONFIG" in message
    assert str(SAMPLE_CONFIG) in message and SAMPLE_CONFIG.is_file()
    assert "Field required" not in message
    assert list(empty_folder.iterdir()) == []  # nothing was made: no database, no data folder


def test_the_web_app_without_configuration_says_the_same(empty_folder: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        wsgi()
    assert "GATEWATCH_CONFIG" in str(refused.value) and str(SAMPLE_CONFIG) in str(refused.value)


def test_a_configuration_file_without_the_model_names_the_setting_and_the_sample(empty_folder: Path) -> None:
    (empty_folder / "gatewatch.yaml").write_text("timezone: Asia/Jakarta\n")
    result = CliRunner().invoke(main, ["events", "list", "--config", "gatewatch.yaml"], env={"GATEWATCH_CONFIG": None})
    assert result.exit_code == 2
    assert "detector: missing: set detector.model" in result.output
    assert str(SAMPLE_CONFIG) in result.output


def test_the_environment_alone_is_still_a_configuration(empty_folder: Path) -> None:
    environment = {"GATEWATCH_CONFIG": None, "GATEWATCH_DETECTOR__MODEL": "yolo11n.pt",
                   "GATEWATCH_DATA_DIR": str(empty_folder / "data")}
    result = CliRunner().invoke(main, ["events", "list"], env=environment)
    assert result.exit_code == 0, result.output
