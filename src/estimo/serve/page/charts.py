"""Inline SVG of the answer: the range bar and the waterfall of reasons in money.

Both are decorative for screen readers (``aria-hidden``): the page puts the same facts in
text next to them (a sentence for the range, a table for the waterfall).

Examples
--------
>>> svg = range_bar(100.0, 90.0, 120.0, 85.0, 130.0)
>>> svg.startswith("<svg") and 'aria-hidden="true"' in svg
True
>>> [round(s["end"]) for s in waterfall_steps(100, [{"label": "Size", "amount": 20}])]
[100, 120, 120]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

__all__ = ["range_bar", "waterfall", "waterfall_steps"]

_INK = "#1d2b3a"
_RANGE = "#9cc0e8"
_RANGE_90 = "#dbe8f6"
_UP = "#1f6f43"
_DOWN = "#a4262c"
_BASE = "#4a5868"


def range_bar(
    price: float,
    low: float,
    high: float,
    low_90: float | None = None,
    high_90: float | None = None,
    width: int = 560,
) -> str:
    """The 80 % range (dark band), the 90 % range (light band) and the price (a mark)."""
    lo = min(v for v in (low, low_90, price) if v is not None)
    hi = max(v for v in (high, high_90, price) if v is not None)
    span = (hi - lo) or 1.0
    pad = 12

    def x(v: float) -> float:
        return pad + (v - lo) / span * (width - 2 * pad)

    parts = [
        f'<svg class="range-bar" viewBox="0 0 {width} 40" width="100%" '
        'role="img" aria-hidden="true" focusable="false">'
    ]
    if low_90 is not None and high_90 is not None:
        parts.append(
            f'<rect x="{x(low_90):.1f}" y="12" width="{x(high_90) - x(low_90):.1f}" height="16" '
            f'rx="8" fill="{_RANGE_90}"/>'
        )
    parts.append(
        f'<rect x="{x(low):.1f}" y="12" width="{x(high) - x(low):.1f}" height="16" rx="8" '
        f'fill="{_RANGE}"/>'
    )
    parts.append(
        f'<rect x="{x(price) - 2:.1f}" y="4" width="4" height="32" rx="2" fill="{_INK}"/></svg>'
    )
    return "".join(parts)


def waterfall_steps(baseline: float, reasons: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bars from the typical home to this one: start, each reason, the total.

    Each step is ``{"label", "amount", "start", "end", "kind"}`` with kind ``base``,
    ``up``, ``down`` or ``total``.
    """
    steps = [
        {"label": "", "amount": baseline, "start": 0.0, "end": float(baseline), "kind": "base"}
    ]
    level = float(baseline)
    for reason in reasons:
        amount = float(reason["amount"])
        kind = "up" if amount >= 0 else "down"
        steps.append(
            {
                "label": str(reason["label"]),
                "amount": amount,
                "start": level,
                "end": level + amount,
                "kind": kind,
            }
        )
        level += amount
    steps.append({"label": "", "amount": level, "start": 0.0, "end": level, "kind": "total"})
    return steps


def waterfall(
    steps: Sequence[dict[str, Any]],
    fmt: Callable[[float, bool], str],
    labels: Sequence[str],
    width: int = 560,
) -> str:
    """Horizontal waterfall: one row per step, a bar from its start to its end.

    Parameters
    ----------
    steps : sequence of dict
        From :func:`waterfall_steps`.
    fmt : callable
        ``fmt(amount, signed)`` formats money.
    labels : sequence of str
        One short label per step (shown left of its bar).
    """
    row, label_w, value_w = 26, 200, 110
    height = row * len(steps) + 6
    top = max(max(s["start"], s["end"]) for s in steps) or 1.0
    space = width - label_w - value_w

    def x(v: float) -> float:
        return label_w + max(v, 0.0) / top * space

    colour = {"base": _BASE, "total": _INK, "up": _UP, "down": _DOWN}
    parts = [
        f'<svg class="waterfall" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-hidden="true" focusable="false">'
    ]
    for i, (step, label) in enumerate(zip(steps, labels, strict=True)):
        y = 3 + i * row
        left, right = sorted((x(step["start"]), x(step["end"])))
        short = label if len(label) <= 30 else label[:29] + "…"
        signed = step["kind"] in ("up", "down")
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="12" '
            f'fill="{_INK}">{escape(short)}</text>'
            f'<rect x="{left:.1f}" y="{y + 4}" width="{max(right - left, 1.5):.1f}" '
            f'height="{row - 8}" fill="{colour[step["kind"]]}"/>'
            f'<text x="{right + 6:.1f}" y="{y + 17}" font-size="12" fill="{_INK}">'
            f"{escape(fmt(step['amount'], signed))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
