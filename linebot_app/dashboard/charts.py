"""Charts drawn on the server as SVG coordinates: the page needs no script and no CDN."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH = 600
HEIGHT = 220
PAD_LEFT = 48
PAD_BOTTOM = 28
PAD_TOP = 12
PAD_RIGHT = 12


@dataclass(frozen=True)
class LineChart:
    points: str  # SVG polyline points
    y_max: int
    start: datetime
    end: datetime
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    bottom: int = HEIGHT - PAD_BOTTOM
    top: int = PAD_TOP
    right: int = WIDTH - PAD_RIGHT


def cumulative(
    points: list[tuple[datetime, int]], start: datetime, end: datetime, total: int
) -> LineChart | None:
    """A step line of confirmations so far, from `start` (release) to `end` (now)."""
    if not points:
        return None
    start = min(start, points[0][0])
    end = max(end, points[-1][0])
    span = max((end - start).total_seconds(), 1.0)
    y_max = max(total, points[-1][1], 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(moment: datetime) -> float:
        return PAD_LEFT + plot_w * (moment - start).total_seconds() / span

    def y(value: int) -> float:
        return HEIGHT - PAD_BOTTOM - plot_h * value / y_max

    coords = [(x(start), y(0))]
    previous = 0
    for moment, value in points:
        coords.append((x(moment), y(previous)))
        coords.append((x(moment), y(value)))
        previous = value
    coords.append((x(end), y(previous)))
    text = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    return LineChart(text, y_max, start, end)
