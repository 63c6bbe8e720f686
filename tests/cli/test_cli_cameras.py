"""``gatewatch cameras show ID`` prints the gate line in force and where it came from: the
configuration, until an admin saves one on the camera's page; ``cameras list`` names each camera's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from gatewatch.camera.footage import sync_camera
from gatewatch.camera.gate_lines import save_line
from gatewatch.cli.main import main
from gatewatch.models.db import make_engine, session_scope
from gatewatch.settings import load_settings
from tests.shared_files import SAMPLE_CONFIG

CAMERA = "street-gate"  # the sample's pedestrian gate: line at half height, inside up the picture


@pytest.fixture
def config(tmp_path: Path) -> str:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = "yolo11n.pt"
    raw["cameras"].append({"id": "anpr", "name": "ANPR gate", "source": "external"})
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def run(config: str, database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["cameras", *args, "--config", config, "--db", database_url],
                              catch_exceptions=False)


def test_cameras_show_prints_the_configured_line_then_the_one_saved_on_the_page(
    config: str, database_url: str,
) -> None:
    shown = run(config, database_url, "show", CAMERA)
    assert shown.exit_code == 0, shown.output
    assert "line:          (0, 0.5) to (1, 0.5)" in shown.output
    assert "inside:        (0.5, 0.2)" in shown.output and "margin:        0.02" in shown.output
    assert "settle_frames: 2" in shown.output and "from:          the configuration" in shown.output

    settings = load_settings(config)
    camera = settings.camera(CAMERA)
    engine = make_engine(database_url)
    sync_camera(engine, camera)
    with session_scope(engine) as session:  # as the line editor saves it for admin "rina"
        save_line(session, camera, camera.gate.placed({"line": [[0.1, 0.6], [0.9, 0.55]], "inside": [0.5, 0.9],
                                                       "margin": 0.03}), actor="rina", role="admin")
    engine.dispose()
    shown = run(config, database_url, "show", CAMERA)
    assert "line:          (0.1, 0.6) to (0.9, 0.55)" in shown.output
    assert "inside:        (0.5, 0.9)" in shown.output and "margin:        0.03" in shown.output
    assert "settle_frames: 2" in shown.output  # the configuration's: not placed on the page
    assert "from:          saved on the camera's page by rina at 20" in shown.output
    assert "(Asia/Jakarta)" in shown.output

    as_json = json.loads(run(config, database_url, "show", CAMERA, "--json").output)
    assert as_json["line"] == [[0.1, 0.6], [0.9, 0.55]] and as_json["from"] == "saved"
    assert as_json["saved_by"] == "rina" and as_json["saved_at"]

    listed = run(config, database_url, "list").output.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [[CAMERA, "saved"], ["vehicle-gate", "configuration"],
                                                         ["anpr", "external"]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cameras_show_names_the_configured_cameras_for_an_unknown_id(config: str, database_url: str) -> None:
    unknown = CliRunner().invoke(main, ["cameras", "show", "nowhere", "--config", config, "--db", database_url])
    assert unknown.exit_code == 2
    assert "no camera with id 'nowhere'" in unknown.output and "street-gate, vehicle-gate, anpr" in unknown.output
    external = run(config, database_url, "show", "anpr")
    assert "external: another system detects its crossings" in external.output and "line:" not in external.output
