"""The geometry of the hourly chart, drawn as inline SVG by the template: no chart library, no script."""

from __future__ import annotations

from dataclasses import dataclass

from gatewatch.events.stats import HourCount

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28  # margins for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    hour: int
    series: str  # "entries" or "exits", also the CSS class


@dataclass(frozen=True)
class HourChart:
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    hour_labels: list[tuple[float, int]]  # (x, hour)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def _nice_top(peak: int) -> int:
    """A round number at least ``peak`` for the top of the scale: 4, 10, 20, 50, 100, ..."""
    if peak <= 4:
        return 4
    scale = 10
    while True:
        for step in (1, 2, 5):
            if step * scale >= peak:
                return step * scale
        scale *= 10


def hour_chart(counts: list[HourCount]) -> HourChart:
    top = _nice_top(max([c.entries for c in counts] + [c.exits for c in counts] + [1]))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / len(counts)
    bar_width = slot * 0.38
    baseline = HEIGHT - BOTTOM
    bars = []
    for index, count in enumerate(counts):
        for offset, series, value in ((0.1, "entries", count.entries), (0.52, "exits", count.exits)):
            height = plot_height * value / top
            bars.append(
                Bar(
                    round(LEFT + slot * (index + offset), 2),
                    round(baseline - height, 2),
                    round(bar_width, 2),
                    round(height, 2),
                    value,
                    count.hour,
                    series,
                )
            )
    ticks = [(round(baseline - plot_height * i / 2, 2), top * i // 2) for i in range(3)]
    labels = [(round(LEFT + slot * (c.hour + 0.5), 2), c.hour) for c in counts if c.hour % 3 == 0]
    return HourChart(bars, ticks, labels)
