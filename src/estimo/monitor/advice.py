"""Retraining advice: which cities, and which data window.

A city needs a new model when the newest month shows a bias or PE10 alert, a market-drift
alert or the model is stale. The advice gives the training window (as long as the served
model's, ending at the newest month with outcomes) and, per city, the month its prices
started to move away from the model: the outcomes since then (sales and appraisals) are
the labels the new model most needs.

Examples
--------
>>> import pandas as pd
>>> from estimo.monitor.alerts import Alert
>>> alerts = [Alert("bias", "critical", "Roma", "2024-05", "...", -0.08, 0.03)]
>>> acc = pd.DataFrame({"dimension": ["city"] * 2, "group": ["Roma"] * 2,
...     "month": ["2024-04", "2024-05"], "too_small": [False, False],
...     "median_ratio_low": [0.96, 0.90], "median_ratio_high": [1.0, 0.94]})
>>> advice = retraining_advice(alerts, acc, pd.DataFrame(), "2024-05", 12, max_bias=0.03)
>>> advice["retrain"], advice["cities"][0]["drift_since"], advice["train_from"]
(True, '2024-05', '2023-06-01')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from estimo.monitor.alerts import Alert

__all__ = ["retraining_advice"]

_RETRAIN_RULES = ("drift", "bias", "pe10", "market", "stale")


def retraining_advice(
    alerts: Sequence[Alert],
    accuracy: pd.DataFrame,
    market: pd.DataFrame,
    latest_month: str | None,
    training_months: int,
    *,
    max_bias: float,
    max_index_gap: float = 0.05,
    trends: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Which cities to retrain, and on which window (see the module docstring).

    Returns
    -------
    dict
        ``retrain`` (bool), ``cities`` (``city``, ``reasons``, ``drift_since``),
        ``train_from`` / ``train_until`` (ISO dates) and ``text`` (one sentence).
    """
    reasons: dict[str, list[str]] = {}
    for alert in alerts:
        if alert.rule in _RETRAIN_RULES and alert.subject is not None:
            reasons.setdefault(alert.subject, []).append(alert.rule)
    if latest_month is None:
        return {
            "retrain": False,
            "cities": [],
            "train_from": None,
            "train_until": None,
            "text": "no valuations served yet",
        }
    until = pd.Timestamp(f"{latest_month}-01") + pd.DateOffset(months=1)
    start = until - pd.DateOffset(months=training_months)
    cities = []
    for city in sorted(reasons):
        cities.append(
            {
                "city": city,
                "reasons": sorted(set(reasons[city])),
                "drift_since": _drift_since(
                    city, accuracy, market, trends, max_bias, max_index_gap
                ),
            }
        )
    if cities:
        names = ", ".join(c["city"] for c in cities)
        text = (
            f"retrain {names} on the {training_months} months before {until:%Y-%m-%d} "
            f"(data.min_date: {start:%Y-%m-%d} in the project file, then `estimo train ... "
            f"--until {until:%Y-%m-%d}`), with sales up to then: add the outcomes recorded "
            "since each city's drift began as labelled rows"
        )
    else:
        text = "no retraining needed: no city shows bias, market drift or staleness"
    return {
        "retrain": bool(cities),
        "cities": cities,
        "train_from": f"{start:%Y-%m-%d}",
        "train_until": f"{until:%Y-%m-%d}",
        "text": text,
    }


def _drift_since(
    city: str,
    accuracy: pd.DataFrame,
    market: pd.DataFrame,
    trends: pd.DataFrame | None,
    max_bias: float,
    max_index_gap: float,
) -> str | None:
    months: list[str] = []
    if trends is not None and len(trends):
        rows = trends.loc[
            (trends["city"] == city) & ((trends["slope_low"] > 0) | (trends["slope_high"] < 0))
        ]
        months += rows["first_month"].tolist()
    if len(accuracy):
        rows = accuracy.loc[
            (accuracy["dimension"] == "city")
            & (accuracy["group"] == city)
            & ~accuracy["too_small"].astype(bool)
        ]
        off = (rows["median_ratio_low"] > 1 + max_bias) | (rows["median_ratio_high"] < 1 - max_bias)
        months += rows.loc[off, "month"].tolist()
    if len(market):
        rows = market.loc[market["city"] == city]
        months += rows.loc[rows["gap"].abs() > max_index_gap, "month"].tolist()
    return min(months) if months else None
