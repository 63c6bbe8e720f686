"""Standing authorisations from the command line, as an admin at the server would keep them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from gatewatch.models.db import make_engine
from gatewatch.models.tables import AuditRecord
from tests.cli.test_cli_errors import assert_clean_failure, gatewatch
from tests.shared_files import MODEL, SAMPLE_CONFIG

NIK = "1671014507880005"
SHIFT = ("--holder", "Shift B", "--persons", "5", "--vehicles", "1", "--plate", "bg-1234-ab",
         "--member", f"Sari Wulandari:{NIK}", "--from", "2026-11-23", "--until", "2026-11-27",
         "--weekdays", "1-5", "--hours", "08:00-16:00", "--organisation", "PT Gudang Aman")


@pytest.fixture
def config(tmp_path: Path) -> str:
    raw = yaml.safe_load(SAMPLE_CONFIG.read_text())
    raw["data_dir"] = str(tmp_path / "data")
    raw["detector"]["model"] = str(MODEL)
    path = tmp_path / "gatewatch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def audit_after(tmp_path: Path, action: str) -> list[str]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'gatewatch.db'}")
    with Session(engine) as session:
        rows = session.exec(select(AuditRecord.after).where(AuditRecord.action == action)).all()
    engine.dispose()
    return list(rows)


def test_add_list_and_end(config: str, tmp_path: Path) -> None:
    added = gatewatch("authorisations", "add", *SHIFT, "--by", "cli:admin", "--config", config)
    assert added.returncode == 0, added.stderr
    assert "authorisation #1 added: Shift B, 5 persons, 1 vehicles, 2026-11-23 to 2026-11-27" in added.stdout
    assert "08:00-16:00" in added.stdout

    listed = gatewatch("authorisations", "list", "--config", config)
    assert listed.returncode == 0, listed.stderr
    assert "Shift B" in listed.stdout and "1,2,3,4,5" in listed.stdout and "08:00-16:00" in listed.stdout

    rows = json.loads(gatewatch("authorisations", "list", "--json", "--config", config).stdout)
    assert rows[0]["members"] == [{"name": "Sari Wulandari", "id_number": NIK}]
    assert rows[0]["plates"] == ["BG 1234 AB"] and rows[0]["weekdays"] == [1, 2, 3, 4, 5]
    assert (rows[0]["start_time"], rows[0]["end_time"], rows[0]["ended_at"]) == ("08:00", "16:00", None)

    ended = gatewatch("authorisations", "end", "1", "--config", config)
    assert ended.returncode == 0, ended.stderr
    assert "authorisation #1 (Shift B) ended" in ended.stdout
    assert "ended" in gatewatch("authorisations", "list", "--config", config).stdout
    assert_clean_failure(gatewatch("authorisations", "end", "1", "--config", config), 2, "already ended")
    assert_clean_failure(gatewatch("authorisations", "end", "7", "--config", config), 2, "no authorisation #7")

    (created,) = audit_after(tmp_path, "authorisation.created")
    assert NIK not in created and "1671 **** **** 0005" in created
    assert len(audit_after(tmp_path, "authorisation.ended")) == 1


def _with(option: str, value: str) -> list[str]:
    args = list(SHIFT)
    args[args.index(option) + 1] = value
    return args


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (_with("--member", "Sari:1671014507880000"), ["--member 1:", "0000"]),
        (_with("--member", "Sari Wulandari"), ["--member:", "NAME:NIK"]),
        (_with("--weekdays", "1-8"), ["--weekdays:", "1 (Monday) to 7 (Sunday)"]),
        (_with("--until", "2026-11-22"), ["--until:", "before valid_from"]),
        (_with("--from", "23-11-2026"), ["--from:", "date"]),
        (_with("--hours", "8am-4pm"), ["--hours:", "HH:MM"]),
        (_with("--hours", "08:00"), ["--hours:", "HH:MM-HH:MM"]),
        (_with("--hours", "08:00-08:00"), ["--hours:", "equals start_time"]),
        (_with("--persons", "0") + ["--vehicles", "0"], ["--vehicles:", "both 0"]),
        (_with("--plate", "nothing"), ["--plate 1:", "not an Indonesian number plate"]),
        ([*SHIFT, "--camera", "back-gate"], ["--camera:", "no camera 'back-gate'"]),
    ],
    ids=["nik", "member-form", "weekdays", "until-before-from", "date", "hours", "hours-form", "hours-equal",
         "nothing", "plate", "camera"],
)
def test_a_wrong_option_is_named_and_nothing_is_stored(config: str, args: list[str], fragments: list[str]) -> None:
    result = gatewatch("authorisations", "add", *args, "--config", config)
    assert_clean_failure(result, 2, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert json.loads(gatewatch("authorisations", "list", "--json", "--config", config).stdout) == []
