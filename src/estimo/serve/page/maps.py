"""Two small offline maps as inline SVG (no tiles, no network): the comparables around the
home valued, and the pin map of a city's known locations in the "where" step.

:func:`comparables_map` places each comparable by its public distance (rounded to 100 m)
and coarse bearing (rounded to 45 degrees), numbered like the list next to it; it is
decorative for screen readers (``aria-hidden``), the page says the same in words.
:func:`pin_map` draws a city's sampled locations (:mod:`estimo.serve.page.places`) as dots
in a plain equirectangular frame whose corners are in ``data-*`` attributes, so the page's
script turns a click into a latitude and a longitude.

Examples
--------
>>> svg = comparables_map([{"distance_m": 400.0, "bearing_deg": 90.0}], "N")
>>> svg.startswith("<svg") and 'aria-hidden="true"' in svg and ">1</text>" in svg
True
>>> comparables_map([{"distance_m": 400.0}], "N") is None  # no bearing: no map
True
>>> pin = pin_map("Roma", [(41.9, 12.5), (41.91, 12.52)])
>>> 'data-city="Roma"' in pin and 'data-north="' in pin
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["comparables_map", "pin_map"]

_INK = "#1d2b3a"
_RING = "#c4ccd6"
_HOME = "#a4262c"
_COMP = "#1f5aa6"
_DOT = "#6f8fb8"
_LABEL_ANGLE = math.radians(157.5)


def _ring_step(longest: float) -> float:
    """A round distance for the rings (100 m, 200 m, 500 m, 1 km, ...), at most half the
    longest distance (two or three rings)."""
    target = max(longest / 2.0, 100.0)
    power = 10.0 ** math.floor(math.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


def comparables_map(
    comparables: Sequence[dict[str, Any]], north: str, size: int = 300
) -> str | None:
    """The home at the centre, north up, each comparable a numbered dot at its distance
    and bearing (the number is its place in the list); None when none has both."""
    placed = [
        (i + 1, float(c["distance_m"]), float(c["bearing_deg"]))
        for i, c in enumerate(comparables)
        if isinstance(c.get("distance_m"), int | float)
        and isinstance(c.get("bearing_deg"), int | float)
    ]
    if not placed:
        return None
    centre, radius = size / 2, size / 2 - 22
    longest = max(d for _, d, _ in placed) or 100.0
    step = _ring_step(longest)
    parts = [
        f'<svg class="comps-map" viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        'aria-hidden="true" focusable="false">'
    ]
    for k in range(1, int(longest // step) + 1):
        r = radius * k * step / longest
        label = f"{k * step / 1000:g} km" if k * step >= 1000 else f"{k * step:g} m"
        # the label between two of the eight directions, where no home is placed
        lx, ly = centre + r * math.sin(_LABEL_ANGLE), centre - r * math.cos(_LABEL_ANGLE)
        parts.append(
            f'<circle cx="{centre}" cy="{centre}" r="{r:.1f}" fill="none" stroke="{_RING}"/>'
            f'<text x="{lx + 3:.1f}" y="{ly + 3:.1f}" font-size="10" '
            f'fill="{_INK}">{label}</text>'
        )
    parts.append(
        f'<text x="{centre}" y="12" text-anchor="middle" font-size="12" font-weight="700" '
        f'fill="{_INK}">{escape(north)}</text>'
        f'<rect x="{centre - 6}" y="{centre - 6}" width="12" height="12" fill="{_HOME}"/>'
    )
    # homes in the same direction at the same rounded distance are fanned out a little
    seen: dict[tuple[float, float], int] = {}
    for number, distance, bearing in placed:
        repeat = seen.get((distance, bearing), 0)
        seen[(distance, bearing)] = repeat + 1
        angle = math.radians(bearing + 9 * repeat)
        r = radius * distance / longest
        x, y = centre + r * math.sin(angle), centre - r * math.cos(angle)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{_COMP}"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" '
            f'fill="#fff">{number}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def pin_map(
    city: str, points: Sequence[tuple[float, float]], width: int = 400, pad: float = 0.08
) -> str | None:
    """A city's known locations as dots, with its frame's corners as ``data-west``,
    ``data-east``, ``data-south`` and ``data-north`` (None without two distinct points)."""
    if len({tuple(p) for p in points}) < 2:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    lat_span = (max(lats) - min(lats)) or 0.01
    lon_span = (max(lons) - min(lons)) or 0.01
    south, north = min(lats) - pad * lat_span, max(lats) + pad * lat_span
    west, east = min(lons) - pad * lon_span, max(lons) + pad * lon_span
    shrink = math.cos(math.radians((south + north) / 2))
    height = round(min(max(width * (north - south) / ((east - west) * shrink), 200), 480))
    dots = "".join(
        f"M{(lon - west) / (east - west) * width:.0f} "
        f"{(north - lat) / (north - south) * height:.0f}h0"
        for lat, lon in points
    )
    return (
        f'<svg class="pin-map" viewBox="0 0 {width} {height}" data-city="{escape(city)}" '
        f'data-west="{west:.4f}" data-east="{east:.4f}" data-south="{south:.4f}" '
        f'data-north="{north:.4f}" aria-hidden="true" focusable="false" hidden>'
        f'<rect width="{width}" height="{height}" fill="#f4f7fa"/>'
        f'<path d="{dots}" stroke="{_DOT}" stroke-width="5" stroke-linecap="round"/>'
        f'<circle class="pin" r="8" fill="{_HOME}" stroke="#fff" stroke-width="2" '
        'visibility="hidden"/></svg>'
    )
