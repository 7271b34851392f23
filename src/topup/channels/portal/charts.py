"""Geometry of the two pictures on a line's page, drawn as inline SVG with no script: the
remaining-data gauge (a ring) and the bars of daily data use over the last 30 days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

RADIUS = 52.0
CHART_WIDTH = 300
CHART_HEIGHT = 120
DAYS = 30


@dataclass(frozen=True)
class Gauge:
    """A ring ``fraction`` full: the arc is ``dash`` long out of ``circumference``."""

    remaining: int
    total: int
    fraction: float
    circumference: float
    dash: float
    level: str  # "ok", "low" (under 20 %) or "empty": the ring's colour


def gauge(remaining: int, total: int) -> Gauge:
    """The ring for ``remaining`` of ``total`` (an empty ring when there is no allowance)."""
    fraction = 0.0 if total <= 0 else min(max(remaining / total, 0.0), 1.0)
    circumference = 2 * math.pi * RADIUS
    level = "empty" if fraction <= 0 else "low" if fraction < 0.2 else "ok"
    return Gauge(max(remaining, 0), max(total, 0), fraction, round(circumference, 2),
                 round(circumference * fraction, 2), level)


@dataclass(frozen=True)
class Bar:
    """One day's bar, in the chart's coordinates (y grows downwards)."""

    day: date
    value: int
    x: float
    y: float
    width: float
    height: float


def bars(totals: dict[date, int], last_day: date, days: int = DAYS,
         width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> list[Bar]:
    """One bar per day for the ``days`` days ending on ``last_day`` (oldest first), scaled so
    the busiest day fills the height; a day with some use is never drawn invisible."""
    first = last_day - timedelta(days=days - 1)
    values = [(first + timedelta(days=i), totals.get(first + timedelta(days=i), 0))
              for i in range(days)]
    peak = max((v for _, v in values), default=0)
    slot = width / days
    out = []
    for i, (day, value) in enumerate(values):
        h = 0.0 if peak == 0 else max(height * value / peak, 1.0 if value else 0.0)
        out.append(Bar(day, value, round(i * slot + slot * 0.15, 2), round(height - h, 2),
                       round(slot * 0.7, 2), round(h, 2)))
    return out
