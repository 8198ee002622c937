"""Charts drawn on the server as inline SVG: pure functions of their numbers, no script, nothing fetched.

Every chart carries a <title> and a <desc> that say in words what it shows (screen readers read them), and
every number drawn is also in the page's table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

INK = "#1a1a1a"
MUTED = "#555"
LINE = "#c8c8c8"
BAR = "#0b4f8a"
TREND = "#9b1c1c"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _open(width: int, height: int, key: str, title: str, desc: str) -> str:
    """The <svg> element with its title and description (`key` keeps their ids apart on one page)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="100%" aria-labelledby="{key}-t {key}-d"><title id="{key}-t">{escape(title)}</title>'
            f'<desc id="{key}-d">{escape(desc or "没有数据")}</desc>')


def bar_chart(bars: Sequence[tuple[str, float | None]], *, title: str, unit: str = "%", maximum: float = 100.0,
              key: str = "bars") -> str:
    """Horizontal bars, one per label (a value None is drawn as 「—」: nothing was owed, which is not 0)."""
    width, row, left, right, top = 720, 40, 200, 70, 10
    height = top * 2 + row * max(1, len(bars))
    span = width - left - right
    desc = "；".join(f"{label}：{'—' if v is None else _fmt(v) + unit}" for label, v in bars)
    parts = [_open(width, height, key, title, desc)]
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="{LINE}" stroke-width="2"/>')
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        short = label if len(label) <= 10 else label[:9] + "…"  # noqa: PLR2004 - what fits left of the bars
        parts.append(f'<text x="{left - 10}" y="{y + row / 2 + 7}" text-anchor="end" font-size="20" '
                     f'fill="{INK}">{escape(short)}</text>')
        if value is None:
            parts.append(f'<text x="{left + 8}" y="{y + row / 2 + 7}" font-size="20" fill="{MUTED}">—</text>')
            continue
        length = max(0.0, min(value, maximum)) / maximum * span if maximum else 0.0
        parts.append(f'<rect x="{left}" y="{y + 6}" width="{length:.1f}" height="{row - 12}" fill="{BAR}" rx="3"/>')
        parts.append(f'<text x="{left + length + 8:.1f}" y="{y + row / 2 + 7}" font-size="20" '
                     f'fill="{INK}">{_fmt(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(points: Sequence[tuple[str, int]], *, title: str, width: int = 720, height: int = 260,
               key: str = "trend") -> str:
    """A line over labelled points (e.g. tasks done per week), the y axis from 0 to the largest value."""
    left, right, top, bottom = 50, 40, 20, 50
    span_x, span_y = width - left - right, height - top - bottom
    peak = max((v for _, v in points), default=0) or 1
    parts = [_open(width, height, key, title, "；".join(f"{label}：{v}" for label, v in points))]
    base = top + span_y
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{LINE}" stroke-width="2"/>')
    parts.append(f'<text x="{left - 8}" y="{top + 6}" text-anchor="end" font-size="18" fill="{MUTED}">{peak}</text>')
    parts.append(f'<text x="{left - 8}" y="{base + 6}" text-anchor="end" font-size="18" fill="{MUTED}">0</text>')
    if not points:
        parts.append(f'<text x="{left + 10}" y="{top + span_y / 2}" font-size="20" fill="{MUTED}">本期没有数据</text>')
        parts.append("</svg>")
        return "".join(parts)
    step = span_x / max(1, len(points) - 1)
    xy = [(left + (i * step if len(points) > 1 else span_x / 2), base - v / peak * span_y)
          for i, (_, v) in enumerate(points)]
    if len(xy) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{TREND}" stroke-width="3"/>')
    every = max(1, len(points) // 7)  # at most about seven labels under the axis: large text, few of them
    for i, ((label, value), (x, y)) in enumerate(zip(points, xy, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{TREND}"><title>{escape(label)}：{value}'
                     "</title></circle>")
        if i % every == 0 or i == len(points) - 1:
            parts.append(f'<text x="{x:.1f}" y="{base + 30}" text-anchor="middle" font-size="18" '
                         f'fill="{INK}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
