"""Self-contained HTML rendering of a :class:`~estimo.quality.report.QualityReport`.

Plots are inline SVG drawn here (no JavaScript, no network, no plotting library): the page
opens offline and can be attached to an e-mail or a model bundle.

Examples
--------
>>> from estimo.quality import audit
>>> from estimo.synth import generate_market
>>> page = render_html(audit(generate_market(800, seed=5).frame))
>>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script" not in page
True
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from estimo.quality.report import QualityReport

_COLOURS = {
    "error": "#c0392b",
    "warning": "#d68910",
    "info": "#2471a3",
    "zero": "#7d3c98",
    "swapped": "#c0392b",
    "swap_ambiguous": "#922b21",
    "other_city": "#d35400",
    "outside_region": "#e74c3c",
    "stacked": "#1e8449",
}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;
max-width:1200px}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{color:#fff;border-radius:3px;padding:0 .4rem;font-size:.75rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6rem 1rem;min-width:9rem}.card b{font-size:1.4rem;display:block}
.maps{display:flex;flex-wrap:wrap;gap:.8rem}.muted{color:#777;font-size:.85rem}
code{background:#f4f6f7;padding:0 .2rem}
"""


def render_html(report: QualityReport) -> str:
    """The whole report as one HTML page (string)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Estimo data quality report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Data quality report</h1>",
        f"<p class='muted'>{_e(report.source or 'canonical frame')}: "
        f"{report.n_rows:,} rows, {report.n_columns} columns"
        + (f"; compared with a reference of {_e(report.reference)}" if report.reference else "")
        + "</p>",
        _cards(report),
        "<h2>Findings</h2>",
        _findings_table(report),
    ]
    tables = report.tables
    if "missingness" in tables:
        parts += ["<h2>Missing values by column and city</h2>", _heat_table(tables["missingness"])]
    if "price_m2_by_city" in tables:
        parts += [
            "<h2>Price per m² by city</h2>",
            "<p class='muted'>box: 25-75 %, whiskers: 5-95 %, line: median</p>",
            _box_plot(tables["price_m2_by_city"]),
        ]
    if "map_points" in tables and len(tables["map_points"]):
        parts += [
            "<h2>Coordinates</h2>",
            "<p class='muted'>grey: unflagged sample; coloured: flagged (points outside the "
            "frame are drawn on its edge)</p>",
            _legend(["swapped", "zero", "other_city", "outside_region", "stacked"]),
            _maps(tables["map_points"], tables.get("regions")),
        ]
    if "group_dispersion" in tables:
        parts += [
            "<h2>Price per m² dispersion by group</h2>",
            _dispersion(tables["group_dispersion"]),
        ]
    if "relisting_history" in tables and len(tables["relisting_history"]):
        parts += [
            "<h2>Re-listings: price history (largest changes)</h2>",
            _table(tables["relisting_history"].head(25)),
        ]
    for name, title in (
        ("label_spread_time", "Sale / asking ratio over time"),
        ("label_spread_city", "Sale / asking ratio by city"),
        ("label_spread_property_type", "Sale / asking ratio by property type"),
        ("drift_columns", "Drift by column (vs reference)"),
        ("drift_cities", "Drift by city (vs reference)"),
    ):
        if name in tables and len(tables[name]):
            parts += [f"<h2>{title}</h2>", _table(tables[name].head(60))]
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "–"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return _e(value)


def _cards(report: QualityReport) -> str:
    summary = report.summary()
    counts = summary["findings"]
    cards = [
        ("rows", f"{report.n_rows:,}"),
        ("errors", counts["error"]),
        ("warnings", counts["warning"]),
        ("rows with errors", f"{summary['rows_with_errors']:,}"),
        ("rows with warnings", f"{summary['rows_with_warnings']:,}"),
    ]
    return (
        "<div class='cards'>"
        + "".join(f"<div class='card'><b>{v}</b>{_e(k)}</div>" for k, v in cards)
        + "</div>"
    )


def _findings_table(report: QualityReport) -> str:
    if not report.findings:
        return "<p>No problems found.</p>"
    rows = []
    for f in report.findings:
        examples = ", ".join(
            f"{_e(i)}" + (f" ({_e(v)})" if k < len(f.example_values) else "")
            for k, (i, v) in enumerate(
                zip(f.example_ids, f.example_values or [None] * len(f.example_ids), strict=False)
            )
        )
        rows.append(
            f"<tr><td><span class='badge' style='background:{_COLOURS[f.severity]}'>"
            f"{f.severity}</span></td><td><code>{_e(f.rule)}</code></td>"
            f"<td>{_e(f.column or '')}</td><td class='num'>{f.count:,}</td>"
            f"<td class='num'>{f.share:.2%}</td><td>{_e(f.message)}</td>"
            f"<td>{examples}</td><td>{_e(f.action)}</td></tr>"
        )
    head = (
        "<tr><th>severity</th><th>rule</th><th>column</th><th>rows</th><th>share</th>"
        "<th>what</th><th>examples (id, value)</th><th>clean action</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            cls = " class='num'" if isinstance(v, int | float | np.number) else ""
            cells.append(f"<td{cls}>{_fmt(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _heat_table(table: pd.DataFrame) -> str:
    head = "<th>column</th>" + "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = []
    for name, row in table.iterrows():
        cells = []
        for v in row:
            v = float(v) if pd.notna(v) else 0.0
            alpha = min(1.0, v * 2)
            cells.append(
                f"<td class='num' style='background:rgba(192,57,43,{alpha:.2f})'>"
                f"{'' if v == 0 else f'{v:.1%}'}</td>"
            )
        body.append(f"<tr><td>{_e(name)}</td>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _box_plot(table: pd.DataFrame) -> str:
    row_h, left, width = 26, 140, 560
    height = row_h * len(table) + 30
    lo = float(table["p05"].min())
    hi = float(table["p95"].max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return "<p>not enough data</p>"
    lo, hi = np.log(max(lo, 1e-9)), np.log(hi)

    def x(value: float) -> float:
        return left + (np.log(max(value, 1e-9)) - lo) / (hi - lo) * width

    items = []
    for i, row in enumerate(table.itertuples(index=False)):
        y = 15 + i * row_h
        items.append(
            f"<text x='{left - 6}' y='{y + 5}' text-anchor='end' font-size='12'>"
            f"{_e(row.city)} ({row.n:,})</text>"
            f"<line x1='{x(row.p05):.1f}' x2='{x(row.p95):.1f}' y1='{y}' y2='{y}' stroke='#555'/>"
            f"<rect x='{x(row.p25):.1f}' y='{y - 8}' width='{x(row.p75) - x(row.p25):.1f}' "
            f"height='16' fill='#aed6f1' stroke='#2471a3'/>"
            f"<line x1='{x(row.p50):.1f}' x2='{x(row.p50):.1f}' y1='{y - 8}' y2='{y + 8}' "
            f"stroke='#1b4f72' stroke-width='2'/>"
            f"<text x='{x(row.p95) + 4:.1f}' y='{y + 4}' font-size='10' fill='#777'>"
            f"{row.p50:,.0f}</text>"
        )
    for value in np.exp(np.linspace(lo, hi, 5)):
        items.append(
            f"<text x='{x(value):.1f}' y='{height - 4}' font-size='10' text-anchor='middle' "
            f"fill='#777'>{value:,.0f}</text>"
        )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + width + 80}' "
        f"height='{height}'>{''.join(items)}</svg>"
    )


def _legend(kinds: list[str]) -> str:
    return (
        "<p>"
        + " ".join(
            f"<span class='badge' style='background:{_COLOURS[k]}'>{_e(k)}</span>" for k in kinds
        )
        + "</p>"
    )


def _share_of(value: float, low: float, high: float) -> float:
    """Where ``value`` lies from ``low`` (0) to ``high`` (1), clipped; the middle when the
    span is empty or not a number (one point, or coordinates so large that padding them
    changes nothing)."""
    span = high - low
    if not (np.isfinite(span) and span > 0 and np.isfinite(value)):
        return 0.5
    return (min(max(value, low), high) - low) / span


def _maps(points: pd.DataFrame, regions: pd.DataFrame | None, size: int = 260) -> str:
    cities = points["city"].value_counts().index[:12]
    out = []
    for city in cities:
        sub = points[points["city"] == city]
        clean = sub[sub["flag"] == ""]
        ref = clean if len(clean) >= 5 else sub
        lat_lo, lat_hi = np.quantile(ref["lat"], [0.005, 0.995])
        lon_lo, lon_hi = np.quantile(ref["lon"], [0.005, 0.995])
        pad_lat = max((lat_hi - lat_lo) * 0.25, 0.01)
        pad_lon = max((lon_hi - lon_lo) * 0.25, 0.01)
        lat_lo, lat_hi, lon_lo, lon_hi = (
            lat_lo - pad_lat,
            lat_hi + pad_lat,
            lon_lo - pad_lon,
            lon_hi + pad_lon,
        )
        dots = []
        for row in sub.sort_values("flag").itertuples(index=False):
            px = _share_of(row.lon, lon_lo, lon_hi) * (size - 10) + 5
            py = (1 - _share_of(row.lat, lat_lo, lat_hi)) * (size - 10) + 5
            colour = _COLOURS.get(row.flag, "#aab7b8")
            radius = 1.6 if row.flag == "" else 3
            dots.append(
                f"<circle cx='{px:.1f}' cy='{py:.1f}' r='{radius}' fill='{colour}' "
                f"fill-opacity='{0.5 if row.flag == '' else 0.9}'/>"
            )
        n_flagged = int((sub["flag"] != "").sum())
        out.append(
            f"<div><svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' "
            f"style='border:1px solid #ddd'>{''.join(dots)}</svg><br>"
            f"<b>{_e(city)}</b> <span class='muted'>{len(sub):,} points, {n_flagged} flagged"
            "</span></div>"
        )
    return "<div class='maps'>" + "".join(out) + "</div>"


def _dispersion(table: pd.DataFrame) -> str:
    top = table.head(30)
    typical = float(table.attrs.get("typical_scale", table["scale"].median()))
    row_h, left, width = 20, 260, 440
    hi = float(max(top["scale"].max(), typical) * 1.1)
    items = []
    for i, row in enumerate(top.itertuples(index=False)):
        y = 10 + i * row_h
        colour = "#c0392b" if row.dispersed else "#5dade2"
        items.append(
            f"<text x='{left - 6}' y='{y + 12}' text-anchor='end' font-size='11'>"
            f"{_e(row.group)} ({row.n})</text>"
            f"<rect x='{left}' y='{y + 2}' width='{row.scale / hi * width:.1f}' height='14' "
            f"fill='{colour}'/>"
            f"<text x='{left + row.scale / hi * width + 4:.1f}' y='{y + 13}' font-size='10'>"
            f"{row.scale:.2f}</text>"
        )
    tx = left + typical / hi * width
    height = 20 + len(top) * row_h
    items.append(
        f"<line x1='{tx:.1f}' x2='{tx:.1f}' y1='0' y2='{height}' stroke='#333' "
        f"stroke-dasharray='4 3'/><text x='{tx + 3:.1f}' y='{height - 2}' font-size='10'>"
        f"typical {typical:.2f}</text>"
    )
    level = " x ".join(table.attrs.get("level", []))
    return (
        f"<p class='muted'>robust SD of log price per m² per {_e(level)} group "
        "(largest first; red: abnormally dispersed)</p>"
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + width + 60}' "
        f"height='{height}'>{''.join(items)}</svg>"
    )
