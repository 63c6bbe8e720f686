"""The visitor log from the command line, as a guard without the web UI would use it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.test_cli_errors import assert_clean_failure, gatewatch
from tests.shared_files import MODEL, SAMPLE_CONFIG


@pytest.fixture
def config(tmp_path: Path) -> str:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = str(MODEL)
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_register_list_and_check_out(config: str) -> None:
    added = gatewatch("visits", "add", "--name", "Sari Wulandari", "--nik", "1671014507880005",
                      "--organisation", "KPU", "--plate", "bg-1234-ab", "--vehicle-type", "car", "--party", "2",
                      "--check-in", "2026-11-20T08:55:00", "--config", config)
    assert added.returncode == 0, added.stderr
    assert "visit #1 registered: Sari Wulandari, checked in 2026-11-20 08:55:00" in added.stdout

    listed = gatewatch("visits", "list", "--plate", "1234", "--config", config)
    assert "Sari Wulandari" in listed.stdout and "BG 1234 AB" in listed.stdout

    out = gatewatch("visits", "checkout", "1", "--config", config)
    assert out.returncode == 0 and "checked out" in out.stdout
    again = gatewatch("visits", "checkout", "1", "--config", config)
    assert_clean_failure(again, 2, "already checked out")
    assert "Sari" not in gatewatch("visits", "list", "--open", "--config", config).stdout


def test_a_wrong_field_is_named_and_nothing_is_stored(config: str) -> None:
    result = gatewatch("visits", "add", "--name", "X", "--nik", "16710112AB850001", "--party", "0",
                       "--config", config)
    assert_clean_failure(result, 2, "id_number", "party_size")
    assert len(gatewatch("visits", "list", "--config", config).stdout.splitlines()) == 1  # the header only


def test_import_reports_bad_rows_by_line_and_stores_nothing(config: str, tmp_path: Path) -> None:
    csv = tmp_path / "log.csv"
    csv.write_bytes(
        "\ufeffvisitor_name;id_number;party_size;check_in_at\r\n"
        "Budi;1671011203850001;2;2026-11-20 08:52\r\n"
        "Ani;1671011203850002;zero;2026-11-20 08:53\r\n".encode()
    )
    result = gatewatch("visits", "import", str(csv), "--config", config)
    assert_clean_failure(result, 1, "nothing imported", "line 3: party_size")
    assert "Budi" not in gatewatch("visits", "list", "--config", config).stdout

    csv.write_bytes(csv.read_bytes().replace(b";zero;", b";1;"))
    result = gatewatch("visits", "import", str(csv), "--config", config)
    assert result.returncode == 0, result.stderr
    assert "2 visits imported" in result.stdout


def test_import_of_a_missing_file(config: str, tmp_path: Path) -> None:
    assert_clean_failure(gatewatch("visits", "import", str(tmp_path / "x.csv"), "--config", config),
                         1, "x.csv does not exist")
