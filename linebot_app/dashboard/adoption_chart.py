"""The adoption chart: registered households per week against all households, drawn as SVG
coordinates on the server like the other charts (see charts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from linebot_app.dashboard.charts import HEIGHT, PAD_BOTTOM, PAD_LEFT, PAD_RIGHT, PAD_TOP, WIDTH


@dataclass(frozen=True)
class WeeklyChart:
    points: str  # SVG polyline points of the registered households
    households_y: float  # where the line of all households is drawn
    y_max: int
    start: date
    end: date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    bottom: int = HEIGHT - PAD_BOTTOM
    top: int = PAD_TOP
    right: int = WIDTH - PAD_RIGHT


def weekly(weeks: Sequence[date], registered: Sequence[int], households: int) -> WeeklyChart:
    """One point per week; the y axis reaches the households so the gap is seen at a glance."""
    y_max = max(households, *registered, 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(weeks) - 1, 1)

    def y(value: int) -> float:
        return HEIGHT - PAD_BOTTOM - plot_h * value / y_max

    points = " ".join(f"{PAD_LEFT + i * step:.1f},{y(v):.1f}" for i, v in enumerate(registered))
    return WeeklyChart(points, y(households), y_max, weeks[0], weeks[-1])
