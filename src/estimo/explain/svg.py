"""Tiny inline-SVG charts (bars and lines) for the HTML reports: no plotting library needed.

Examples
--------
>>> svg = bar_chart(["Size", "Location"], [40_000.0, 25_000.0], lambda v: f"{v:,.0f}")
>>> svg.startswith("<svg") and "Location" in svg
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from estimo.explain.html import escape_text

__all__ = ["bar_chart", "line_chart"]

_BLUE = "#2f6db3"
_GREY = "#8795a6"


def bar_chart(
    labels: Sequence[str], values: Sequence[float], fmt: Callable[[float], str], width: int = 560
) -> str:
    """Horizontal bars, largest first as given, each with its label and formatted value."""
    row_h, label_w, value_w = 24, 230, 110
    height = row_h * max(1, len(labels)) + 8
    top = max((abs(v) for v in values), default=0.0) or 1.0
    bar_space = width - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="system-ui,sans-serif" '
        'font-size="12">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row_h
        w = max(1.0, bar_space * abs(value) / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape_text(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{_BLUE}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{escape_text(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    xs: Sequence[float],
    ys: Sequence[float],
    x_label: str,
    fmt_x: Callable[[float], str],
    fmt_y: Callable[[float], str],
    width: int = 560,
    height: int = 240,
) -> str:
    """A line with dots, min/max ticks on both axes and an x-axis label."""
    left, right, top, bottom = 90, 16, 12, 42
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1.0
    pad = (y1 - y0) * 0.08 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (width - left - right) * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return top + (height - top - bottom) * (1 - (y - y0) / (y1 - y0))

    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
    base_y = height - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="system-ui,sans-serif" '
        'font-size="11">',
        f'<line x1="{left}" y1="{base_y}" x2="{width - right}" y2="{base_y}" stroke="{_GREY}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base_y}" stroke="{_GREY}"/>',
        f'<polyline points="{points}" fill="none" stroke="{_BLUE}" stroke-width="2"/>',
    ]
    for x, y in zip(xs, ys, strict=True):
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{_BLUE}"/>')
    for y in (min(ys), max(ys)):
        parts.append(
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">'
            f"{escape_text(fmt_y(y))}</text>"
        )
    for x in (min(xs), max(xs)):
        parts.append(
            f'<text x="{px(x):.1f}" y="{base_y + 14}" text-anchor="middle">'
            f"{escape_text(fmt_x(x))}</text>"
        )
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        f"{escape_text(x_label)}</text></svg>"
    )
    return "".join(parts)
