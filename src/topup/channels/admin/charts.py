"""Column charts of the dashboard, drawn as inline SVG with no script: one column per day,
its series stacked (parts of one total) or side by side (figures to compare)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 600
HEIGHT = 160
SERIES_CLASSES = 8  # s0 … s7 in portal.css


@dataclass(frozen=True)
class Rect:
    """One series' part of one day's column, in the chart's coordinates (y grows down)."""

    x: float
    y: float
    width: float
    height: float
    series: int
    day: str
    value: int


@dataclass(frozen=True)
class Chart:
    """A whole chart: its rectangles, series names, days (oldest first) and tallest column."""

    rects: list[Rect]
    series: list[str]
    days: list[str]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def ticks(self) -> list[tuple[float, str]]:
        """The first, middle and last day under the columns (x, YYYY-MM-DD)."""
        if not self.days:
            return []
        slot = self.width / len(self.days)
        picks = sorted({0, len(self.days) // 2, len(self.days) - 1})
        return [(round(i * slot + slot / 2, 2), self.days[i]) for i in picks]

    @property
    def empty(self) -> bool:
        return self.peak == 0


def columns(days: list[str], series: list[tuple[str, dict[str, int]]], *, stacked: bool,
            width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """The chart of ``series`` (name, value per day) over ``days``, scaled so the tallest
    column fills the height; a non-zero value is never drawn invisible."""
    if stacked:
        peak = max((sum(values.get(d, 0) for _, values in series) for d in days), default=0)
    else:
        peak = max((v.get(d, 0) for _, v in series for d in days), default=0)
    slot = width / max(len(days), 1)
    inner = slot * 0.7
    rects: list[Rect] = []
    for i, day in enumerate(days):
        left, base = i * slot + slot * 0.15, float(height)
        for index, (_, values) in enumerate(series):
            value = values.get(day, 0)
            if value <= 0 or peak == 0:
                continue
            h = max(height * value / peak, 1.0)
            if stacked:
                x, w, base = left, inner, base - h
                y = base
            else:
                w = inner / len(series)
                x, y = left + index * w, height - h
            rects.append(Rect(round(x, 2), round(y, 2), round(w, 2), round(h, 2),
                              index % SERIES_CLASSES, day, value))
    return Chart(rects, [name for name, _ in series], list(days), peak, width, height)
