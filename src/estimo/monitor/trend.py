"""Error trend per city: is a city's market moving away from the model, month after month?

A model's static bias in a city (it over-values Madrid by 3 % from day one) is one thing;
a city whose prices move away from what the model assumes is another, and it grows every
month. :func:`error_trends` fits, per city, a line through every outcome's
``log(outcome / valuation)`` (appraisals and sales together, in the months with at least
``min_group_size`` outcomes) against the month it was served, by a robust regression
(Huber's, then Tukey's bisquare: an outcome many times off, such as a price with a digit
too many, gets no weight, however many of them one month holds). The slope's interval adds
to the outcomes' own scatter (the sandwich variance) the month-level deviations that every
city shares the size of: a noisy or seasonal month moves all of a month's outcomes together,
which the outcomes' scatter cannot see. That variance is pooled over the cities (a
DerSimonian-Laird moment estimate on each month's mean residual), so that one city's slope
does not rest on its own three or four months' scatter. The accumulated ``drift`` is the
slope times the months the model has served (the line's span plus one): 5 months of
+1 %/month is a 5 % drift.

Monthly medians fitted by a line (the earlier estimator) use about two thirds of the
information in the outcomes and, with a t-interval on 2-3 degrees of freedom, were slower
to flag a drifting city (``benchmarks/monitor.py --part replay``).

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

from dataclasses import dataclass

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
    confidence: float = 0.9,
) -> pd.DataFrame:
    """Slope of ``log(outcome / valuation)`` over the months served, per city, with an
    interval (see the module docstring).

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`estimo.monitor.matching.match_outcomes` output (``city``, ``month``,
        ``actual``, ``predicted``).
    min_group_size : int
        Months with fewer outcomes in a city are left out.
    min_months : int
        Fewest usable months for a line.
    confidence : float
        Level of the slope's interval.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``n_months``, ``first_month``, ``latest_month``, ``n`` (outcomes),
        ``slope`` (log change per month; > 0: outcomes rise faster than valuations, the
        model under-values more and more), ``slope_low`` / ``slope_high``,
        ``served_months`` (the line's span plus one), ``drift`` (slope x months served)
        and ``latest_level`` (the newest month's median).
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or missing price: left out
        errors = np.log(pairs["actual"].to_numpy(float) / pairs["predicted"].to_numpy(float))
    data = pairs.assign(err=errors).loc[np.isfinite(errors)]
    fits = []
    for city, group in data.groupby("city", sort=True):
        sizes = group.groupby("month", sort=True).size()
        kept = sizes.index[sizes >= min_group_size]
        if len(kept) < min_months:
            continue
        rows = group.loc[group["month"].isin(kept)]
        months = rows["month"].map({m: _month_number(m) for m in kept}).to_numpy(float)
        fit = _robust_line(months, rows["err"].to_numpy(float))
        newest = rows.loc[rows["month"] == kept[-1], "err"].to_numpy(float)
        fits.append((str(city), list(kept), months, fit, float(np.median(newest))))
    month_variance = _pooled_month_variance([fit for *_, fit, _ in fits])
    z = stats.norm.ppf((1 + confidence) / 2)
    out = []
    for city, labels, months, fit, newest in fits:
        se = float(np.sqrt(fit.slope_variance + month_variance * fit.month_leverage))
        served = months.max() - months.min() + 1
        out.append(
            {
                "city": city,
                "n_months": len(labels),
                "first_month": labels[0],
                "latest_month": labels[-1],
                "n": len(months),
                "slope": fit.slope,
                "slope_low": fit.slope - z * se,
                "slope_high": fit.slope + z * se,
                "served_months": int(served),
                "drift": fit.slope * served,
                "latest_level": newest,
            }
        )
    return pd.DataFrame(out, columns=_COLUMNS)


@dataclass(frozen=True)
class _LineFit:
    """A city's robust line: its slope, the slope's variance from the outcomes' scatter,
    the slope's sensitivity to month-level deviations (the sum over months of the squared
    total weight the slope gives each month's outcomes), and each month's mean clipped
    residual with its sampling variance (for the pooled month-level variance)."""

    slope: float
    slope_variance: float
    month_leverage: float
    month_residuals: np.ndarray
    month_residual_variances: np.ndarray


def _robust_line(months: np.ndarray, errors: np.ndarray, iterations: int = 50) -> _LineFit:
    """A robust line ``errors = a + b * months`` by iteratively reweighted least squares:
    Huber's weights (c = 1.345) from the median, then Tukey's bisquare (c = 4.685, 95 %
    as efficient as least squares on normal errors) from there, the scale fixed at the
    errors' MAD: an outcome many scales off (a price with a digit too many, a wrong
    match) gets no weight at all, however many of them one month holds. The slope's
    variance is the sandwich estimate."""
    X = np.column_stack([np.ones_like(months), months - months.mean()])
    centre = np.median(errors)
    scale = 1.4826 * np.median(np.abs(errors - centre))
    if not scale > 0:
        scale = max(float(np.std(errors)), 1e-9)
    beta = np.array([centre, 0.0])
    for weight_of in (_huber_weights, _bisquare_weights):
        for _ in range(iterations):
            weights = weight_of((errors - X @ beta) / scale)
            if weights.sum() <= 2:
                break
            updated = np.linalg.solve(X.T @ (weights[:, None] * X), X.T @ (weights * errors))
            done = np.max(np.abs(updated - beta)) < 1e-10
            beta = updated
            if done:
                break
    residual = (errors - X @ beta) / scale
    weights = _bisquare_weights(residual)
    psi = weights * residual
    slope_of_psi = _bisquare_derivative(residual)
    bread = np.linalg.pinv(X.T @ (slope_of_psi[:, None] * X))
    meat = X.T @ ((psi**2)[:, None] * X)
    covariance = scale**2 * bread @ meat @ bread
    # the slope as a weighted sum of the errors: each month's share of that weight
    influence = (bread @ (X * weights[:, None]).T)[1]
    labels, codes = np.unique(months, return_inverse=True)
    per_month = np.bincount(codes, weights=influence, minlength=len(labels))
    counts = np.bincount(codes, minlength=len(labels)).astype(float)
    # each month's mean down-weighted residual (a wrong outcome counts for nothing)
    mean_residual = np.bincount(codes, weights=psi * scale, minlength=len(labels)) / counts
    psi_variance = scale**2 * float(np.mean(psi**2))
    return _LineFit(
        slope=float(beta[1]),
        slope_variance=float(covariance[1, 1]),
        month_leverage=float(np.sum(per_month**2)),
        month_residuals=mean_residual,
        month_residual_variances=np.maximum(psi_variance, 1e-18) / counts,
    )


def _huber_weights(residual: np.ndarray, c: float = 1.345) -> np.ndarray:
    return np.minimum(1.0, c / np.maximum(np.abs(residual), 1e-12))


def _bisquare_weights(residual: np.ndarray, c: float = 4.685) -> np.ndarray:
    return np.where(np.abs(residual) < c, (1 - (residual / c) ** 2) ** 2, 0.0)


def _bisquare_derivative(residual: np.ndarray, c: float = 4.685) -> np.ndarray:
    """d/dr of r * w(r) for the bisquare: (1 - u)(1 - 5u) with u = (r/c)^2, 0 beyond c."""
    u = (residual / c) ** 2
    return np.where(np.abs(residual) < c, (1 - u) * (1 - 5 * u), 0.0)


def _pooled_month_variance(fits: list[_LineFit]) -> float:
    """Variance of the month-level deviations every city shares the size of: the
    DerSimonian-Laird moment estimate from each month's mean residual around its city's
    line, beyond what the outcomes' sampling explains (0 when sampling explains it all)."""
    excess, information = 0.0, 0.0
    for fit in fits:
        w = 1.0 / fit.month_residual_variances
        if len(w) <= 2:
            continue
        excess += float(np.sum(w * fit.month_residuals**2)) - (len(w) - 2)
        information += float(w.sum() - np.sum(w**2) / w.sum())
    if information <= 0:
        return 0.0
    return max(0.0, excess / information)


def _month_number(label: str) -> int:
    year, month = label.split("-")
    return int(year) * 12 + int(month)
