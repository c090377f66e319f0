"""Small hand-made SVG charts for self-contained HTML reports (no plotting dependency).

Every function returns an ``<svg>`` element as a string, with its own size, axes and
labels, so a report is one HTML file that opens offline. Text is escaped; NaN values are
skipped.

Examples
--------
>>> svg = bar_chart(["a", "b"], [0.5, 0.7], title="PE10", threshold=0.6)
>>> svg.startswith("<svg") and "PE10" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

__all__ = ["PALETTE", "bar_chart", "diverging_colour", "histogram", "line_chart", "scatter_map"]

#: Line colours of successive series.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
)
_FONT = 'font-family="system-ui, sans-serif"'


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    )
    caption = f'<text x="8" y="16" font-size="13" font-weight="bold" {_FONT}>{escape(title)}</text>'
    return "".join([head, caption, *body, "</svg>"])


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", **kw: str) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {_FONT} '
        f"{extra}>{escape(text)}</text>"
    )


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def _nice_ticks(low: float, high: float, n: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / n))
    for factor in (1, 2, 2.5, 5, 10):
        if (high - low) / (step * factor) <= n:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _pct(value: float, digits: int = 0) -> str:
    return f"{100 * value:.{digits}f}%"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    reference: Sequence[float] | None = None,
    threshold: float | None = None,
    width: int = 560,
    as_percent: bool = True,
) -> str:
    """Horizontal bars, one per label, with optional reference markers and a threshold line.

    Parameters
    ----------
    labels, values : sequence
        Bar labels and lengths (NaN bars are drawn empty and labelled "too small").
    title : str
        Chart title.
    reference : sequence of float, optional
        A second value per bar (e.g. the reference model), drawn as a black tick.
    threshold : float, optional
        A vertical dashed line (e.g. the PE10 below which a segment is not trusted); bars
        under it are drawn red.
    width : int
        Width in pixels.
    as_percent : bool
        Format values as percentages.

    Examples
    --------
    >>> "too small" in bar_chart(["a", "b"], [0.5, float("nan")], title="t")
    True
    """
    row_h, top, left = 18, 28, 170
    height = top + row_h * len(labels) + 24
    plot_w = width - left - 60
    finite = _finite([*values, *(reference or []), *([threshold] if threshold else [])])
    vmax = max(float(finite.max()) if finite.size else 1.0, 1e-9)
    vmax = 1.0 if as_percent and vmax <= 1.0 else vmax * 1.05
    body: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        body.append(_text(left - 6, y + 12, str(label)[:28], anchor="end"))
        if not math.isfinite(value):
            body.append(_text(left + 4, y + 12, "too small", fill="#888"))
            continue
        colour = "#d62728" if threshold is not None and value < threshold else "#4c78a8"
        w = max(0.0, value / vmax * plot_w)
        body.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="{colour}"/>'
        )
        shown = _pct(value, 1) if as_percent else f"{value:.3g}"
        body.append(_text(left + w + 4, y + 12, shown, size=10))
        if reference is not None and math.isfinite(reference[i]):
            x = left + reference[i] / vmax * plot_w
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 1}" y2="{y + row_h - 2}" '
                'stroke="black" stroke-width="2"/>'
            )
    if threshold is not None:
        x = left + threshold / vmax * plot_w
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - 20}" '
            'stroke="#d62728" stroke-dasharray="4 3"/>'
        )
    legend = "bars: model" + ("; black tick: reference model" if reference is not None else "")
    if threshold is not None:
        legend += f"; dashed: threshold {_pct(threshold) if as_percent else threshold}"
    body.append(_text(left, height - 6, legend, size=10, fill="#555"))
    return _svg(width, height, body, title)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    bins: Sequence[float],
    width: int = 560,
    height: int = 220,
) -> str:
    """Histogram of ``values`` (clipped into the outer bins), e.g. signed percentage errors.

    Examples
    --------
    >>> histogram([-0.05, 0.0, 0.02, 0.3], title="errors", bins=[-0.2, 0.0, 0.2]).count("<rect")
    2
    """
    edges = np.asarray(bins, dtype=float)
    data = np.clip(_finite(values), edges[0], edges[-1])
    counts, _ = np.histogram(data, bins=edges)
    left, top, bottom = 40, 26, 34
    plot_w, plot_h = width - left - 12, height - top - bottom
    cmax = max(int(counts.max()) if counts.size else 1, 1)
    body: list[str] = []
    span = edges[-1] - edges[0]
    for lo, hi, count in zip(edges[:-1], edges[1:], counts, strict=True):
        x = left + (lo - edges[0]) / span * plot_w
        w = (hi - lo) / span * plot_w
        h = count / cmax * plot_h
        colour = "#4c78a8" if abs((lo + hi) / 2) <= 0.1 + 1e-9 else "#f58518"
        body.append(
            f'<rect x="{x + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(w - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{colour}"/>'
        )
    for tick in _nice_ticks(edges[0], edges[-1], 8):
        x = left + (tick - edges[0]) / span * plot_w
        body.append(_text(x, top + plot_h + 14, _pct(tick), size=10, anchor="middle"))
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#333"/>'
    )
    body.append(_text(4, top + 10, str(cmax), size=10))
    body.append(
        _text(
            left,
            height - 4,
            "predicted / actual - 1 (blue: within ±10 %; outer bins hold everything beyond)",
            size=10,
            fill="#555",
        )
    )
    return _svg(width, height, body, title)


def diverging_colour(value: float, limit: float = 0.3) -> str:
    """Blue (under-valued) through grey to red (over-valued), saturating at ``±limit``.

    Examples
    --------
    >>> diverging_colour(0.0), diverging_colour(1.0)
    ('#bfbfbf', '#d62728')
    """
    if not math.isfinite(value):
        return "#888888"
    t = max(-1.0, min(1.0, value / limit))
    grey, red, blue = (191, 191, 191), (214, 39, 40), (31, 119, 180)
    end = red if t > 0 else blue
    rgb = [round(g + abs(t) * (e - g)) for g, e in zip(grey, end, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def scatter_map(
    lat: Sequence[float],
    lon: Sequence[float],
    error: Sequence[float],
    *,
    title: str,
    size: int = 260,
    limit: float = 0.3,
) -> str:
    """Points at (lon, lat) coloured by signed error, in an equal-distance frame.

    Examples
    --------
    >>> scatter_map([45.0, 45.1], [9.0, 9.1], [0.05, -0.2], title="Milano").count("<circle")
    2
    """
    la, lo, er = (np.asarray(v, dtype=float) for v in (lat, lon, error))
    keep = np.isfinite(la) & np.isfinite(lo) & np.isfinite(er)
    la, lo, er = la[keep], lo[keep], er[keep]
    body: list[str] = []
    pad, top = 8, 22
    side = size - 2 * pad
    if la.size:
        lat_lo, lat_hi = np.quantile(la, [0.01, 0.99])
        lon_lo, lon_hi = np.quantile(lo, [0.01, 0.99])
        scale_x = math.cos(math.radians(float(np.median(la))))
        span = max((lat_hi - lat_lo), (lon_hi - lon_lo) * scale_x, 1e-6) * 1.05
        cx, cy = (lon_lo + lon_hi) / 2, (lat_lo + lat_hi) / 2
        order = np.argsort(np.abs(er))  # largest errors drawn last, on top
        for i in order:
            x = pad + side / 2 + (lo[i] - cx) * scale_x / span * side
            y = top + side / 2 - (la[i] - cy) / span * side
            if pad <= x <= pad + side and top <= y <= top + side:
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" '
                    f'fill="{diverging_colour(float(er[i]), limit)}" fill-opacity="0.85"/>'
                )
        km = span * 111.2
        body.append(_text(pad, top + side + 14, f"{la.size} properties, {km:.0f} km across", 10))
    else:
        body.append(_text(pad, top + 20, "no coordinates"))
    body.insert(
        0,
        f'<rect x="{pad}" y="{top}" width="{side}" height="{side}" fill="#fafafa" stroke="#ccc"/>',
    )
    return _svg(size, top + side + 20, body, title)


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 560,
    height: int = 260,
    as_percent: bool = True,
) -> str:
    """One line with markers per series (``name -> (x, y)``), shared axes and a legend.

    Examples
    --------
    >>> svg = line_chart({"all": ([1, 2, 3], [0.6, 0.55, 0.5])}, title="PE10 by model age",
    ...                  x_label="months", y_label="PE10")
    >>> svg.count("<polyline")
    1
    """
    xs = _finite([x for xv, _ in series.values() for x in xv])
    ys = _finite([y for _, yv in series.values() for y in yv])
    left, right, top, bottom = 48, 110, 26, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    body: list[str] = []
    if xs.size == 0 or ys.size == 0:
        return _svg(width, height, [_text(left, top + 20, "no data")], title)
    x0, x1 = float(xs.min()), float(xs.max())
    x1 = x1 if x1 > x0 else x0 + 1
    y0, y1 = float(ys.min()), float(ys.max())
    margin = max((y1 - y0) * 0.1, 0.01)
    y0, y1 = y0 - margin, y1 + margin

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    for tick in _nice_ticks(y0, y1, 5):
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
            'stroke="#eee"/>'
        )
        body.append(
            _text(left - 4, py(tick) + 4, _pct(tick) if as_percent else f"{tick:.3g}", 10, "end")
        )
    for tick in sorted(set(xs.tolist())):
        body.append(_text(px(tick), top + plot_h + 14, f"{tick:g}", 10, "middle"))
    for k, (name, (xv, yv)) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pts = [
            (px(float(x)), py(float(y)))
            for x, y in zip(xv, yv, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        ]
        if not pts:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        stroke = 3 if k == 0 else 1.5
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"/>'
        )
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in pts)
        ly = top + 10 + 14 * k
        body.append(
            f'<line x1="{width - right + 8}" x2="{width - right + 24}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        body.append(_text(width - right + 28, ly + 4, str(name)[:14], 10))
    body.append(_text(left + plot_w / 2, height - 4, x_label, 10, "middle", fill="#555"))
    body.append(_text(4, top - 8, y_label, 10, fill="#555"))
    return _svg(width, height, body, title)
