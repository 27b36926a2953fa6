"""Charts drawn on the server as SVG coordinates: the page needs no script and no CDN.

Every chart shares one geometry (`Chart`): an SVG of WIDTH × HEIGHT, its plot inside the
padding, values mapped to y from 0 at the bottom to `y_max` at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

WIDTH = 600
HEIGHT = 220
PAD_LEFT = 48
PAD_BOTTOM = 28
PAD_TOP = 12
PAD_RIGHT = 12


@dataclass(frozen=True, kw_only=True)
class Chart:
    points: str  # SVG polyline points
    y_max: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    bottom: int = HEIGHT - PAD_BOTTOM
    top: int = PAD_TOP
    right: int = WIDTH - PAD_RIGHT


def _x(share: float) -> float:
    """Where a share (0 to 1) of the plot's width lies."""
    return PAD_LEFT + (WIDTH - PAD_LEFT - PAD_RIGHT) * share


def _y(value: int, y_max: int) -> float:
    return HEIGHT - PAD_BOTTOM - (HEIGHT - PAD_TOP - PAD_BOTTOM) * value / y_max


def _points(coords: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)


@dataclass(frozen=True, kw_only=True)
class LineChart(Chart):
    start: datetime
    end: datetime


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

    def x(moment: datetime) -> float:
        return _x((moment - start).total_seconds() / span)

    coords = [(x(start), _y(0, y_max))]
    previous = 0
    for moment, value in points:
        coords.append((x(moment), _y(previous, y_max)))
        coords.append((x(moment), _y(value, y_max)))
        previous = value
    coords.append((x(end), _y(previous, y_max)))
    return LineChart(points=_points(coords), y_max=y_max, start=start, end=end)


@dataclass(frozen=True, kw_only=True)
class WeeklyChart(Chart):
    households_y: float  # where the line of all households is drawn
    start: date
    end: date


def weekly(weeks: Sequence[date], registered: Sequence[int], households: int) -> WeeklyChart:
    """Registered households, one point per week; the y axis reaches all households so that
    the gap is seen at a glance."""
    y_max = max(households, *registered, 1)
    step = 1 / max(len(weeks) - 1, 1)
    return WeeklyChart(
        points=_points([(_x(i * step), _y(v, y_max)) for i, v in enumerate(registered)]),
        y_max=y_max,
        households_y=_y(households, y_max),
        start=weeks[0],
        end=weeks[-1],
    )
