"""Error trend per city: is a city's market moving away from the model, month after month?

A model's static bias in a city (it over-values Madrid by 3 % from day one) is one thing;
a city whose prices move away from what the model assumes is another, and it grows every
month. :func:`error_trends` fits, per city, a weighted least-squares line through the
monthly medians of ``log(outcome / valuation)`` (appraisals and sales together, months
with at least ``min_group_size`` outcomes), and bootstraps its slope by resampling the
outcomes within each month. The accumulated ``drift`` is the slope times the months the
model has served (the line's span plus one): 5 months of +1 %/month is a 5 % drift.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> month = np.repeat(["2024-01", "2024-02", "2024-03", "2024-04"], 300)
>>> step = np.repeat(np.arange(4), 300)
>>> pairs = pd.DataFrame({"city": "Roma", "month": month, "predicted": 100.0,
...                       "actual": 100 * np.exp(0.01 * step + rng.normal(0, 0.08, 1200))})
>>> t = error_trends(pairs, min_group_size=30)
>>> row = t.iloc[0]
>>> abs(float(row["slope"]) - 0.01) < 0.003, bool(row["slope_low"] > 0), int(row["n_months"])
(True, True, 4)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["error_trends"]

_COLUMNS = [
    "city",
    "n_months",
    "first_month",
    "latest_month",
    "n",
    "slope",
    "slope_low",
    "slope_high",
    "served_months",
    "drift",
    "latest_level",
]


def error_trends(
    pairs: pd.DataFrame,
    *,
    min_group_size: int = 30,
    min_months: int = 4,
    n_boot: int = 400,
    confidence: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Slope of the monthly median log(outcome / valuation) per city, with an interval.

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`estimo.monitor.matching.match_outcomes` output (``city``, ``month``,
        ``actual``, ``predicted``).
    min_group_size : int
        Months with fewer outcomes in a city are left out.
    min_months : int
        Fewest usable months for a line.
    n_boot : int
        Bootstrap resamples.
    confidence : float
        Level of the slope's interval.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``n_months``, ``first_month``, ``latest_month``, ``n`` (outcomes),
        ``slope`` (log change per month; > 0: outcomes rise faster than valuations, the
        model under-values more and more), ``slope_low`` / ``slope_high``,
        ``served_months`` (the line's span plus one), ``drift`` (slope x months served)
        and ``latest_level`` (the newest month's median).
    """
    rng = np.random.default_rng(seed)
    rows = []
    data = pairs.assign(err=np.log(pairs["actual"] / pairs["predicted"]))
    for city, group in data.groupby("city", sort=True):
        months = [(m, g["err"].to_numpy(float)) for m, g in group.groupby("month", sort=True)]
        months = [(m, e) for m, e in months if len(e) >= min_group_size]
        if len(months) < min_months:
            continue
        labels = [m for m, _ in months]
        x = np.array([_month_number(m) for m in labels], dtype=float)
        weights = np.array([len(e) for _, e in months], dtype=float)
        medians = np.array([np.median(e) for _, e in months])
        boot = np.column_stack(
            [
                np.median(e[rng.integers(0, len(e), size=(n_boot, len(e)))], axis=1)
                for _, e in months
            ]
        )
        slope = float(_wls_slopes(x, medians[None, :], weights)[0])
        slopes = _wls_slopes(x, boot, weights)
        low, high = np.quantile(slopes, [(1 - confidence) / 2, (1 + confidence) / 2])
        half = _residual_half_width(x, medians, weights, slope, confidence)
        low, high = min(low, slope - half), max(high, slope + half)
        served = x.max() - x.min() + 1
        rows.append(
            {
                "city": str(city),
                "n_months": len(months),
                "first_month": labels[0],
                "latest_month": labels[-1],
                "n": int(weights.sum()),
                "slope": slope,
                "slope_low": float(low),
                "slope_high": float(high),
                "served_months": int(served),
                "drift": slope * served,
                "latest_level": float(medians[-1]),
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def _month_number(label: str) -> int:
    year, month = label.split("-")
    return int(year) * 12 + int(month)


def _residual_half_width(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, slope: float, confidence: float
) -> float:
    """Half-width of the t-interval of the slope from the scatter of the monthly medians
    around the line: month-level deviations (seasonality, a noisy month) that resampling
    within months cannot see."""
    if len(x) < 3:
        return float("inf")
    xm, ym = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    residual = y - (ym + slope * (x - xm))
    w = w / w.mean()
    variance = np.sum(w * residual**2) / (len(x) - 2)
    se = np.sqrt(variance / np.sum(w * (x - xm) ** 2))
    return float(stats.t.ppf((1 + confidence) / 2, len(x) - 2) * se)


def _wls_slopes(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares slope of each row of ``y`` on ``x``."""
    xm = np.sum(w * x) / w.sum()
    ym = (y * w).sum(axis=1, keepdims=True) / w.sum()
    return ((w * (x - xm)) * (y - ym)).sum(axis=1) / np.sum(w * (x - xm) ** 2)
