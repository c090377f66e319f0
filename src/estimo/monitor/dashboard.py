"""The monitoring dashboard: one self-contained HTML page (inline CSS and SVG, no network).

:func:`render_dashboard` takes the plain data of
:meth:`estimo.monitor.report.MonitorReport.to_dict` (lists of records) and imports nothing
from the report module. Sections: the headline, alerts, retraining advice, the error trend
per city, per-city error and bias over time (against sales and against appraisals),
appraisers, market drift, feature drift, requests outside the training envelope, volume
and staleness. Charts use the house style of :mod:`estimo.evaluate.plots` and
:mod:`estimo.evaluate.html`.

Examples
--------
>>> html = render_dashboard({"summary": {"n_valuations": 3, "months": ["2024-01"],
...     "latest_month": "2024-01", "n_outcomes": {}, "n_paired": 0}, "alerts": [],
...     "advice": {"text": "no retraining needed"}, "notes": [], "accuracy": [],
...     "volume": [{"month": "2024-01", "city": "Roma", "n": 3}]})
>>> html.startswith("<!DOCTYPE html>") and "<svg" in html
True
>>> any(tag in html for tag in ("<script", "<link", "<img", " src="))  # nothing fetched
False
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pandas as pd

from estimo.evaluate import plots
from estimo.evaluate.html import page, section, table_html

__all__ = ["render_dashboard"]


def _frame(data: dict[str, Any], key: str) -> pd.DataFrame:
    return pd.DataFrame(data.get(key) or [])


def _series(
    frame: pd.DataFrame, months: Sequence[str], by: str, value: str
) -> dict[str, tuple[list[float], list[float]]]:
    """``name -> (month number, value)``: month 1 is the first month of the report."""
    position = {m: i + 1 for i, m in enumerate(months)}
    out = {}
    for name, rows in frame.groupby(by, sort=True):
        rows = rows.loc[rows["month"].isin(position)].sort_values("month")
        values = pd.to_numeric(rows[value], errors="coerce")
        out[str(name)] = ([float(position[m]) for m in rows["month"]], values.tolist())
    return out


def _months_label(months: Sequence[str]) -> str:
    return f"month (1 = {months[0]})" if months else "month"


def _headline(data: dict[str, Any]) -> str:
    s = data["summary"]
    n_out = s.get("n_outcomes", {})
    cards = [
        ("valuations served", f"{s.get('n_valuations', 0):,}"),
        ("appraisals", f"{n_out.get('appraisal', 0):,}"),
        ("sales", f"{n_out.get('sale', 0):,}"),
        ("paired with a valuation", f"{s.get('n_paired', 0):,}"),
        ("alerts", f"{len(data.get('alerts') or [])}"),
    ]
    body = "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in data.get("notes") or [])
    return section("Summary", f'<div class="cards">{body}</div>{notes}')


def _alerts(data: dict[str, Any]) -> str:
    alerts = _frame(data, "alerts")
    if alerts.empty:
        return section("Alerts", '<p class="good">No alert in the newest month.</p>')
    table = table_html(
        alerts,
        [
            ("severity", "severity", "text"),
            ("rule", "rule", "text"),
            ("subject", "city / feature", "text"),
            ("month", "month", "text"),
            ("message", "what", "text"),
        ],
        bad={"severity": lambda v: v == "critical"},
    )
    return section("Alerts", table)


def _advice(data: dict[str, Any]) -> str:
    advice = data.get("advice") or {}
    cities = pd.DataFrame(advice.get("cities") or [])
    body = f"<p>{escape(str(advice.get('text', '')))}</p>"
    if len(cities):
        cities["reasons"] = cities["reasons"].map(", ".join)
        body += table_html(
            cities,
            [
                ("city", "city", "text"),
                ("reasons", "why", "text"),
                ("drift_since", "drifting since", "text"),
            ],
        )
    return section("Retraining advice", body)


def _accuracy(data: dict[str, Any], months: Sequence[str]) -> str:
    acc = _frame(data, "accuracy")
    if acc.empty:
        return section("Accuracy over time", '<p class="muted">No paired outcomes yet.</p>')
    parts = []
    for kind in ("sale", "appraisal"):
        rows = acc.loc[(acc["kind"] == kind) & ~acc["too_small"].astype(bool)]
        if rows.empty:
            continue
        city = rows.loc[rows["dimension"].isin(["city", "all"])]
        charts = [
            plots.line_chart(
                _series(city, months, "group", "mdape"),
                title=f"MdAPE against {kind}s, per city",
                x_label=_months_label(months),
                y_label="MdAPE",
            ),
            plots.line_chart(
                _series(city, months, "group", "median_ratio"),
                title=f"Median ratio valuation / {kind}, per city",
                x_label=_months_label(months),
                y_label="ratio",
                as_percent=False,
            ),
        ]
        latest = acc.loc[(acc["kind"] == kind) & (acc["month"] == months[-1])]
        table = table_html(
            latest,
            [
                ("dimension", "by", "text"),
                ("group", "group", "text"),
                ("n", "n", "int"),
                ("mdape", "MdAPE", "pct"),
                ("mdape_low", "low", "pct"),
                ("mdape_high", "high", "pct"),
                ("pe10", "PE10", "pct"),
                ("pe10_low", "low", "pct"),
                ("pe10_high", "high", "pct"),
                ("cod", "COD", "pct"),
                ("median_ratio", "median ratio", "num"),
                ("median_ratio_low", "low", "num"),
                ("median_ratio_high", "high", "num"),
                ("coverage", "in range", "pct"),
            ],
        )
        parts.append(
            f"<h3>Against {kind}s</h3><div class='grid'>{''.join(charts)}</div>"
            f"<p class='muted'>Newest month ({escape(months[-1])}); intervals are bootstrap "
            f"intervals; groups below the minimum size are left out.</p>{table}"
        )
    return section("Accuracy over time", "".join(parts) or "<p>No group is large enough.</p>")


def _trends(data: dict[str, Any]) -> str:
    trends = _frame(data, "trends")
    if trends.empty:
        return ""
    table = table_html(
        trends,
        [
            ("city", "city", "text"),
            ("first_month", "from", "text"),
            ("latest_month", "to", "text"),
            ("n", "outcomes", "int"),
            ("slope", "error trend / month", "pct"),
            ("slope_low", "low", "pct"),
            ("slope_high", "high", "pct"),
            ("drift", "accumulated", "pct"),
        ],
    )
    note = (
        "<p class='muted'>Trend of log(outcome / valuation) per month served, appraisals "
        "and sales together, fitted robustly through every outcome (low / high: the "
        "interval of the monthly drift rule): a positive trend means prices rise faster "
        "than the model assumes.</p>"
    )
    return section("Error trend per city (drift)", note + table)


def _appraisers(data: dict[str, Any]) -> str:
    model = _frame(data, "appraiser_model")
    sale = _frame(data, "appraiser_sale")
    body = ""
    if len(model):
        body += "<h3>Model against appraisers</h3>" + table_html(
            model,
            [
                ("appraiser_id", "appraiser", "text"),
                ("n", "n", "int"),
                ("mdape", "MdAPE", "pct"),
                ("pe10", "PE10", "pct"),
                ("median_ratio", "model / appraisal", "num"),
            ],
        )
    if len(sale):
        body += "<h3>Appraisers and the model against the sale that followed</h3>" + table_html(
            sale,
            [
                ("appraiser_id", "appraiser", "text"),
                ("appraisal_n", "n", "int"),
                ("appraisal_mdape", "appraiser MdAPE", "pct"),
                ("model_mdape", "model MdAPE", "pct"),
                ("appraisal_pe10", "appraiser PE10", "pct"),
                ("model_pe10", "model PE10", "pct"),
            ],
        )
    return section("Appraisers", body or '<p class="muted">No appraisals paired yet.</p>')


def _market(data: dict[str, Any], months: Sequence[str]) -> str:
    market = _frame(data, "market")
    if market.empty:
        return section("Market drift", '<p class="muted">Not computed (see the notes).</p>')
    chart = plots.line_chart(
        _series(market, months, "city", "gap"),
        title="Price index gap: outcomes minus model (log)",
        x_label=_months_label(months),
        y_label="gap",
    )
    latest = market.loc[market["month"] == market["month"].max()]
    table = table_html(
        latest,
        [
            ("city", "city", "text"),
            ("month", "month", "text"),
            ("observed", "outcomes", "pct"),
            ("model", "model", "pct"),
            ("gap", "gap", "pct"),
        ],
    )
    return section("Market drift", chart + table)


def _drift(data: dict[str, Any]) -> str:
    drift = _frame(data, "drift")
    if drift.empty:
        return section("Feature drift", '<p class="muted">Not computed (see the notes).</p>')
    top = drift.head(15)
    chart = plots.bar_chart(
        top["column"].astype(str).tolist(),
        top["psi"].tolist(),
        title="PSI against the training data (newest window)",
        as_percent=False,
    )
    table = table_html(
        drift,
        [
            ("column", "feature", "text"),
            ("psi", "PSI", "num"),
            ("missing_reference", "missing (training)", "pct"),
            ("missing_current", "missing (served)", "pct"),
        ],
        bad={"psi": lambda v: v > 0.25},
    )
    return section("Feature drift", chart + table)


def _outside(data: dict[str, Any], months: Sequence[str]) -> str:
    outside = _frame(data, "outside")
    if outside.empty:
        return section("Outside the training data", '<p class="muted">Not computed.</p>')
    chart = plots.line_chart(
        _series(outside, months, "city", "share_outside"),
        title="Requests outside the training cities, area or ranges",
        x_label=_months_label(months),
        y_label="share",
    )
    return section("Outside the training data", chart)


def _volume(data: dict[str, Any], months: Sequence[str]) -> str:
    volume = _frame(data, "volume")
    if volume.empty:
        return ""
    per_city = volume.groupby(["month", "city"], as_index=False)["n"].sum()
    chart = plots.line_chart(
        _series(per_city, months, "city", "n"),
        title="Valuations served per month",
        x_label=_months_label(months),
        y_label="valuations",
        as_percent=False,
    )
    extra = [c for c in ("model_version", "tier") if c in volume]
    tables = "".join(
        f"<h3>By {escape(c)}</h3>"
        + table_html(
            volume.groupby(c, as_index=False)["n"].sum(),
            [(c, c, "text"), ("n", "valuations", "int")],
        )
        for c in extra
    )
    return section("Volume", chart + tables)


def _staleness(data: dict[str, Any]) -> str:
    stale = _frame(data, "staleness")
    if stale.empty:
        return ""
    return section(
        "Staleness",
        table_html(
            stale,
            [
                ("city", "city", "text"),
                ("age_months", "model age (months)", "int"),
                ("retrain_every_months", "retrain every (months)", "int"),
                ("expected_pe10_loss", "expected PE10 loss", "pct"),
                ("stale", "stale", "text"),
            ],
        ),
    )


def render_dashboard(data: dict[str, Any]) -> str:
    """The dashboard page of a report's plain data (see the module docstring)."""
    summary = data["summary"]
    months = list(summary.get("months") or [])
    sections = [
        _headline(data),
        _alerts(data),
        _advice(data),
        _trends(data),
        _accuracy(data, months),
        _appraisers(data),
        _market(data, months),
        _drift(data),
        _outside(data, months),
        _volume(data, months),
        _staleness(data),
    ]
    subtitle = f"{summary.get('since', '')} .. {summary.get('until', '')}"
    return page("Estimo: live monitoring", sections, subtitle)
