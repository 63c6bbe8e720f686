"""A short working day at a staffed gate (scripts/day.py, what ``make day`` plays in full), on
SQLite and PostgreSQL: every true intrusion is flagged and no covered crossing is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from gatewatch.models.db import make_engine

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "day.py"


@pytest.fixture(scope="module")
def day() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gatewatch_day_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_short_day_flags_every_intrusion_and_nothing_covered(day: ModuleType, engine: sa.Engine,
                                                               tmp_path: Path, database_url: str) -> None:
    settings = day.day_settings(tmp_path, database_url)
    outcomes = day.run_day(engine, settings, day.working_day(rounds=6))
    table = day.confusion(outcomes)
    report = day.report(outcomes)
    assert table[day.INTRUSION, False] == 0, report
    assert table[day.COVERED, True] == 0, report
    # The day holds every kind of intrusion the queue must show, each flagged for its reason.
    flags = {o.flag for o in outcomes if o.step.truth == day.INTRUSION}
    assert flags >= {"over_party_size", "checked_out", "unknown_plate", "watchlist", "after_hours"}, report
    assert table[day.INTRUSION, True] >= 15 and table[day.COVERED, False] >= 30, report


def test_a_motorbike_and_its_two_riders_are_one_passage_on_one_visit(day: ModuleType, engine: sa.Engine,
                                                                      tmp_path: Path, database_url: str) -> None:
    settings = day.day_settings(tmp_path, database_url)
    outcomes = day.run_day(engine, settings, day.working_day(rounds=0))
    ride = [o for o in outcomes if o.step.what == "registered motorbike, two riders"]
    assert [o.step.label for o in ride] == ["motorcycle", "person", "person"]
    assert {o.cover for o in ride} == {"visit #3"}
    with engine.connect() as connection:
        passages = connection.execute(sa.text(
            "SELECT COUNT(DISTINCT passage_id) FROM entryevent WHERE visit_id = 3 AND direction = 'entry'"
        )).scalar_one()
    assert passages == 1
