"""Run statistics: windows of a run, and the line an operator reads when a camera falls behind."""

from __future__ import annotations

from gatewatch.vision.runstats import RunStats


def test_a_window_holds_only_what_happened_since_its_start() -> None:
    stats = RunStats(frames=100, analysed=40, seconds=4.0)
    stats.stages.add("detect", 2.0)
    start = stats.snapshot()
    stats.frames, stats.analysed, stats.dropped, stats.seconds = 160, 70, 5, 6.0
    with stats.stages.measure("track"):
        pass
    stats.stages.add("detect", 0.6)
    window = stats.since(start)
    assert (window.frames, window.analysed, window.dropped, window.seconds) == (60, 30, 5, 2.0)
    assert abs(window.stages.seconds["detect"] - 0.6) < 1e-9
    assert window.frames_per_second == 30.0


def test_behind_real_time_when_slower_than_the_source_or_dropping() -> None:
    assert RunStats(frames=50, seconds=2.0).behind(30.0)
    assert not RunStats(frames=60, seconds=2.0).behind(30.0)
    assert RunStats(frames=60, dropped=1, seconds=2.0).behind(30.0)


def test_the_description_names_the_costliest_stages_first() -> None:
    stats = RunStats(frames=100, analysed=25, dropped=3, seconds=5.0)
    stats.stages.add("decode", 0.4)
    stats.stages.add("detect", 3.0)
    line = stats.describe(25.0)
    assert line.startswith("100 frames at 20.0 frames/s (0.80x real time), detected on 25%, 3 dropped")
    assert line.endswith("ms per frame: detect 30.0, decode 4.0")
