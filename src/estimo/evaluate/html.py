"""Self-contained HTML pages for evaluation reports (inline CSS and SVG, no network).

Examples
--------
>>> html = page("Title", [section("Intro", "<p>hello</p>")])
>>> html.startswith("<!DOCTYPE html>") and "http" not in html.split("<body>")[1]
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estimo.evaluate import plots
from estimo.evaluate.segments import ALL_LABEL

if TYPE_CHECKING:
    from estimo.evaluate.report import EvaluationReport

__all__ = ["page", "render_report", "section", "table_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;
color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;
padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child,td.t{text-align:left}
.bad{color:#c62828;font-weight:600}.good{color:#2e7d32}.muted{color:#777}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:8px 14px;min-width:120px}.card b{font-size:20px;display:block}
.grid{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
.note{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px;border-radius:4px}
"""


def page(title: str, sections: Sequence[str], subtitle: str = "") -> str:
    """A complete HTML document with the shared style."""
    sub = f'<p class="muted">{escape(subtitle)}</p>' if subtitle else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{sub}{''.join(sections)}</body></html>"
    )


def section(title: str, body: str) -> str:
    """One titled section."""
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _fmt(value: Any, kind: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "pct":
        return f"{100 * float(value):.1f}%"
    if kind == "num":
        return f"{float(value):.3f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "flag":
        return "✓" if bool(value) else "✗"
    return escape(str(value))


def table_html(
    df: pd.DataFrame,
    columns: Sequence[tuple[str, str, str]],
    *,
    bad: dict[str, Any] | None = None,
) -> str:
    """An HTML table of ``df`` with ``(column, header, kind)`` columns.

    ``kind`` is ``"pct"``, ``"num"``, ``"int"``, ``"flag"`` (✓/✗) or ``"text"``; ``bad`` maps
    a column to a predicate marking its cell red.

    Examples
    --------
    >>> t = table_html(pd.DataFrame({"a": [0.5]}), [("a", "A", "pct")], bad={"a": lambda v: v < 1})
    >>> 'class="bad"' in t and "50.0%" in t
    True
    """
    present = [c for c in columns if c[0] in df.columns]
    head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in present)
    body = []
    for _, row in df.iterrows():
        cells = []
        for col, _, kind in present:
            value = row[col]
            cls = ""
            if kind == "text":
                cls = "t"
            elif kind == "flag" and not _isnan(value):
                cls = "good" if bool(value) else "bad"
            elif bad and col in bad and not _isnan(value) and bad[col](value):
                cls = "bad"
            cells.append(
                f'<td class="{cls}">{_fmt(value, kind)}</td>'
                if cls
                else f"<td>{_fmt(value, kind)}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _isnan(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------- the report


def render_report(report: EvaluationReport) -> str:
    """The evaluation report as one self-contained HTML page."""
    rows = report.rows
    span = ""
    if "date" in rows and len(rows):
        dates = pd.to_datetime(rows["date"])
        span = f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"
    subtitle = f"{report.overall['n']:,} properties valued" + (f", dated {span}" if span else "")
    if report.overall.get("n_unvalued"):
        subtitle += f"; {report.overall['n_unvalued']:,} could not be valued"
    sections = [
        _headline(report),
        _untrusted(report),
        _ratio_study(report),
        _segments(report),
        _errors(report),
        _map(report),
    ]
    if report.notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
        sections.append(section("Notes", f"<ul>{items}</ul>"))
    return page(report.title, sections, subtitle)


def _card(label: str, value: str, ref: str | None = None) -> str:
    ref_html = f'<span class="muted">reference: {ref}</span>' if ref else ""
    return f'<div class="card">{escape(label)}<b>{value}</b>{ref_html}</div>'


def _headline(report: EvaluationReport) -> str:
    o = report.overall
    r = report.reference["overall"] if report.reference else None
    shown = [
        ("PE10 (within ±10 %)", "pe10", "pct"),
        ("MdAPE (median error)", "mdape", "pct"),
        ("PE20 (within ±20 %)", "pe20", "pct"),
        ("errors over 20 %", "over20", "pct"),
        ("COD", "cod", "pct"),
        ("median ratio", "median_ratio", "num"),
    ]
    cards = [
        _card(label, _fmt(o[key], kind), _fmt(r[key], kind) if r else None)
        for label, key, kind in shown
    ]
    if report.has_intervals:
        level = report.settings.interval_level
        cards.append(_card(f"range coverage (nominal {level:.0%})", _fmt(o["coverage"], "pct")))
    text = ""
    if report.reference:
        text = (
            '<p class="muted">Reference: a hedonic regression (log price on log area, rooms, '
            "age, city and neighbourhood effects, month) fitted on the same training rows, "
            "like the simple external AVMs.</p>"
        )
    return section("Overall accuracy", f'<div class="cards">{"".join(cards)}</div>{text}')


def _untrusted(report: EvaluationReport) -> str:
    cfg = report.settings
    rule = f"PE10 below {cfg.min_pe10:.0%}"
    if report.has_intervals:
        floor = cfg.interval_level - cfg.max_coverage_shortfall
        rule += f" or range coverage below {floor:.0%}"
    intro = (
        f"<p>Segments with at least {cfg.min_group_size} properties and {rule}. "
        "Smaller segments are not judged.</p>"
    )
    if report.untrusted.empty:
        return section("Where not to trust the model", intro + "<p class='good'>None.</p>")
    table = table_html(
        report.untrusted,
        [
            ("segment", "segment", "text"),
            ("group", "group", "text"),
            ("n", "n", "int"),
            ("pe10", "PE10", "pct"),
            ("mdape", "MdAPE", "pct"),
            ("coverage", "coverage", "pct"),
            ("iaao_passed", "IAAO", "flag"),
            ("reasons", "why", "text"),
        ],
        bad={"pe10": lambda v: v < cfg.min_pe10},
    )
    return section("Where not to trust the model", intro + table)


def _ratio_study(report: EvaluationReport) -> str:
    study = report.ratio_study
    records = [
        {
            "statistic": name,
            "value": study[name]["value"],
            "range": f"{study[name]['low']:g} to {study[name]['high']:g}",
            "passed": study[name]["passed"],
            "meaning": study[name]["description"],
        }
        for name in ("median_ratio", "cod", "prd", "prb")
    ]
    table = table_html(
        pd.DataFrame(records),
        [
            ("statistic", "statistic", "text"),
            ("value", "value", "num"),
            ("range", "acceptable", "text"),
            ("passed", "pass", "flag"),
            ("meaning", "meaning", "text"),
        ],
    )
    verdict = "passes" if study["passed"] else "fails"
    return section(
        "IAAO ratio study", f"<p>Overall the model {verdict} the IAAO standards.</p>{table}"
    )


_SEGMENT_TITLES = {
    "city": "city",
    "location": "location (neighbourhood or grid cell)",
    "property_type": "property type",
    "price_quintile": "price quintile (of the actual price)",
    "size_band": "size band",
    "age_band": "age band",
}


def _segments(report: EvaluationReport) -> str:
    cfg = report.settings
    parts = []
    for name, table in report.segments.items():
        shown = table.loc[table[name] != ALL_LABEL]
        if name == "location" and len(shown) > 40:
            shown = shown.sort_values("pe10", na_position="last").head(40)
            caption = f"<p class='muted'>The 40 worst of {len(table) - 1} locations.</p>"
        else:
            caption = ""
        ref = shown["reference_pe10"].tolist() if "reference_pe10" in shown else None
        chart = plots.bar_chart(
            shown[name].astype(str).tolist(),
            shown["pe10"].tolist(),
            title=f"PE10 by {_SEGMENT_TITLES.get(name, name)}",
            reference=ref,
            threshold=cfg.min_pe10,
        )
        columns = [
            (name, name, "text"),
            ("n", "n", "int"),
            ("mdape", "MdAPE", "pct"),
            ("pe10", "PE10", "pct"),
            ("reference_pe10", "PE10 ref.", "pct"),
            ("pe20", "PE20", "pct"),
            ("median_ratio", "median ratio", "num"),
            ("cod", "COD", "pct"),
            ("median_ratio_passed", "level", "flag"),
            ("cod_passed", "COD ok", "flag"),
            ("prd_passed", "PRD ok", "flag"),
            ("prb_passed", "PRB ok", "flag"),
            ("coverage", "coverage", "pct"),
        ]
        floor = cfg.interval_level - cfg.max_coverage_shortfall
        bad = {"pe10": lambda v: v < cfg.min_pe10, "coverage": lambda v, f=floor: v < f}
        tab = table_html(table, columns, bad=bad)
        body = f'<div class="grid"><div>{chart}</div><div>{tab}</div></div>{caption}'
        parts.append(f"<h3>By {escape(_SEGMENT_TITLES.get(name, name))}</h3>{body}")
    note = (
        f"<p class='muted'>Groups with fewer than {cfg.min_group_size} properties show "
        "'too small'. Level, COD, PRD, PRB: IAAO pass (✓) or fail (✗).</p>"
    )
    return section("Accuracy by segment", note + "".join(parts))


def _errors(report: EvaluationReport) -> str:
    err = report.rows["predicted"].to_numpy(float) / report.rows["price"].to_numpy(float) - 1
    hist = plots.histogram(err, title="Distribution of errors", bins=report.errors["bins"])
    by_city = report.errors.get("by_city", {})
    table = ""
    if by_city:
        frame = pd.DataFrame(
            [{"city": c, **q} for c, q in by_city.items()]
            + [{"city": "(all)", **report.errors["quantiles"]}]
        )
        table = table_html(
            frame,
            [("city", "city", "text")]
            + [(k, k, "pct") for k in ("p5", "p25", "p50", "p75", "p95")],
        )
    text = (
        "<p class='muted'>Signed error predicted / actual − 1; quantiles per city "
        "(p50 above 0: over-valued).</p>"
    )
    return section(
        "Error distribution", f'<div class="grid"><div>{hist}</div><div>{text}{table}</div></div>'
    )


def _map(report: EvaluationReport) -> str:
    rows = report.rows
    if not {"lat", "lon"} <= set(rows.columns) or rows["lat"].notna().sum() == 0:
        return section("Errors by location", "<p class='muted'>No coordinates.</p>")
    rows = rows.loc[rows["lat"].notna() & rows["lon"].notna()]
    limit = report.settings.map_max_points
    if len(rows) > limit:
        rows = rows.sample(limit, random_state=0)
    err = rows["predicted"].to_numpy(float) / rows["price"].to_numpy(float) - 1
    panels = []
    groups = (
        rows.groupby("city", sort=False).indices
        if "city" in rows
        else {"all": np.arange(len(rows))}
    )
    for city, idx in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:9]:
        part = rows.iloc[idx]
        panels.append(plots.scatter_map(part["lat"], part["lon"], err[idx], title=str(city)))
    legend = (
        "<p class='muted'>Each dot is a property: red over-valued, blue under-valued, grey "
        "close to its price (saturating at ±30 %). Clusters of one colour show zones the "
        "model systematically misprices.</p>"
    )
    return section("Errors by location", legend + f'<div class="grid">{"".join(panels)}</div>')


# --------------------------------------------------------------------------- rolling backtest


def render_rolling(result: Any) -> str:
    """A :class:`~estimo.evaluate.rolling.RollingResult` as one self-contained HTML page."""
    from estimo.evaluate.rolling import decay_series

    advice = result.advice["overall"]
    every = advice["retrain_every_months"]
    slope = advice["pe10_change_per_month"]
    text = (
        f"<p>{len(result.cutoffs)} origins ({result.cutoffs[0]:%Y-%m} to "
        f"{result.cutoffs[-1]:%Y-%m}), {len(result.predictions):,} valuations, model ages 1 to "
        f"{result.horizon} months. PE10 changes by "
        f"<b>{_fmt_points(slope)}</b> per month of model age; retrain every "
        f"<b>{_fmt(every, 'int')}{'+' if advice.get('beyond_horizon') else ''}</b> month(s) "
        f"to stay within {_fmt_points(result.advice.get('tolerance', 0.02))[1:]} of a fresh "
        "model (from the fitted decay line).</p>"
    )
    charts = [
        plots.line_chart(
            decay_series(result, metric),
            title=f"{label} by model age",
            x_label="model age (months after the cut-off)",
            y_label=label,
        )
        for metric, label in (("pe10", "PE10"), ("mdape", "MdAPE"))
    ]
    columns = [
        ("n", "n", "int"),
        ("mdape", "MdAPE", "pct"),
        ("pe10", "PE10", "pct"),
        ("pe20", "PE20", "pct"),
        ("median_ratio", "median ratio", "num"),
        ("cod", "COD", "pct"),
    ]
    city_advice = pd.DataFrame(
        [
            {
                "city": city,
                "slope": a["pe10_change_per_month"],
                "every": a["retrain_every_months"],
                "beyond": a["beyond_horizon"],
            }
            for city, a in result.advice["by_city"].items()
        ]
    )
    advice_table = table_html(
        city_advice,
        [
            ("city", "city", "text"),
            ("slope", "PE10 change / month", "pct"),
            ("every", "retrain every (months)", "int"),
            ("beyond", "longer possible", "flag"),
        ],
    )
    sections = [
        section("Accuracy decay", text + f'<div class="grid">{"".join(charts)}</div>'),
        section(
            "By model age", table_html(result.by_horizon, [("horizon", "age", "text"), *columns])
        ),
        section(
            "Per city",
            advice_table
            + table_html(
                result.by_city, [("city", "city", "text"), ("horizon", "age", "text"), *columns]
            ),
        ),
        section(
            "Per origin",
            table_html(
                result.by_origin,
                [("origin", "cut-off", "text"), ("horizon", "age", "text"), *columns],
            ),
        ),
    ]
    return page("Estimo rolling-origin backtest", sections)


def _fmt_points(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:+.1f} points"
