"""Charts as server-rendered SVG: the geometry is computed here, the markup is in `analytics.html` (no script, no
inline style — SVG presentation attributes only). Colours keep at least 3:1 against white (WCAG 1.4.11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

COLOURS = ("#0b6bcb", "#067647", "#b54708", "#6941c6", "#c11574", "#475467")
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 28


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # y axis: (y, value)
    labels: list[tuple[float, str]] = field(default_factory=list)  # x axis: (x, text)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, name)
    baseline: float = 0


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if value <= step * 4:
            return step * 4
    return value


def daily_bars(daily: dict[date, dict[str, Any]], channels: list[str]) -> Chart:
    """Conversations a day, stacked by channel."""
    chart = Chart(WIDTH, HEIGHT, baseline=HEIGHT - BOTTOM)
    colour = {c: COLOURS[i % len(COLOURS)] for i, c in enumerate(channels)}
    chart.legend = [(colour[c], c) for c in channels]
    top = _nice_max(max((row["conversations"] for row in daily.values()), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(daily), 1)
    chart.ticks = [(round(chart.baseline - plot_h * k / 4, 1), str(top * k // 4)) for k in range(5)]
    every = max(1, round(len(daily) / 8))
    for i, (day, row) in enumerate(daily.items()):
        x, y = LEFT + i * slot, chart.baseline
        for channel in channels:
            count = row["by_channel"].get(channel, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            label = f"{day.isoformat()} · {channel}: {count}"
            chart.bars.append(
                Bar(round(x + slot * 0.1, 1), round(y, 1), round(slot * 0.8, 1), round(h, 1), colour[channel], label)
            )
        if i % every == 0:
            chart.labels.append((round(x + slot / 2, 1), day.strftime("%d/%m")))
    return chart


def share_bars(values: dict[str, int]) -> Chart:
    """Horizontal bars, one a key (conversations by channel)."""
    height = 28 * max(len(values), 1) + 8
    chart = Chart(WIDTH, height)
    top = max(values.values(), default=0) or 1
    for i, (name, count) in enumerate(values.items()):
        w = (WIDTH - 200) * count / top
        chart.bars.append(Bar(110, 8 + i * 28, round(w, 1), 18, COLOURS[i % len(COLOURS)], f"{name}: {count}"))
        chart.labels.append((8 + i * 28 + 13, name))
    return chart
