"""Valuation accuracy metrics and the IAAO ratio study.

All functions take two aligned 1-D arrays: ``actual`` (true prices, > 0) and ``predicted``
(the model's valuations, > 0). The *ratio* of a property is ``predicted / actual``, its
*absolute percentage error* is ``|predicted / actual - 1|``.

**Units.** Every percentage-like metric is returned as a *fraction*: an MdAPE of 7.2 % is
``0.072``, a PE10 of 64 % is ``0.64`` and a COD of 9.5 is ``0.095``. The IAAO acceptable ranges
in :data:`IAAO_STANDARDS` use the same units; report tables format them as percentages.

The ratio-study statistics follow the IAAO Standard on Ratio Studies (2013):

* median ratio (level),
* COD, the coefficient of dispersion (uniformity),
* PRD, the price-related differential (vertical equity),
* PRB, the coefficient of price-related bias (vertical equity, with a 95 % confidence interval).

Examples
--------
>>> from estimo.evaluate.metrics import compute_metrics
>>> m = compute_metrics([100.0, 200.0, 400.0], [110.0, 190.0, 400.0])
>>> round(m["mdape"], 3), round(m["pe10"], 3)
(0.05, 1.0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "IAAO_STANDARDS",
    "METRIC_NAMES",
    "PRBResult",
    "Standard",
    "bootstrap_ci",
    "check_prices",
    "cod",
    "compute_metrics",
    "iaao_passes",
    "iaao_ratio_study",
    "mae",
    "mape",
    "mdae",
    "mdape",
    "median_ratio",
    "pe",
    "prb",
    "prd",
    "share_over",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Absolute tolerance added to the ``within`` / ``threshold`` bounds, so that an error of
#: exactly 10 % (e.g. 110 vs 100, computed as 0.10000000000000009) counts as within 10 %.
BOUNDARY_TOLERANCE = 1e-12

# Bootstrap resamples are evaluated in chunks of at most this many elements (memory bound).
_BOOTSTRAP_CHUNK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------- IAAO standards


@dataclass(frozen=True)
class Standard:
    """An acceptable range ``[low, high]`` for one ratio-study statistic.

    Parameters
    ----------
    name : str
        Key of the statistic (as in :func:`compute_metrics`).
    low, high : float
        Inclusive bounds, in the units the statistic is returned in (fractions).
    description : str
        Plain-language meaning of the statistic and of its range.

    Examples
    --------
    >>> s = Standard("cod", 0.05, 0.15, "coefficient of dispersion")
    >>> s.passes(0.09), s.passes(0.2), s.passes(float("nan"))
    (True, False, False)
    """

    name: str
    low: float
    high: float
    description: str

    def passes(self, value: float) -> bool:
        """Return whether ``value`` lies in ``[low, high]`` (NaN never passes)."""
        return bool(np.isfinite(value) and self.low <= value <= self.high)


#: IAAO Standard on Ratio Studies (2013), residential property. Read-only mapping.
IAAO_STANDARDS: Mapping[str, Standard] = MappingProxyType(
    {
        "median_ratio": Standard(
            "median_ratio",
            0.90,
            1.10,
            "Level: the median of predicted/actual should lie between 0.90 and 1.10.",
        ),
        "cod": Standard(
            "cod",
            0.05,
            0.15,
            "Uniformity: coefficient of dispersion between 5 and 15 (0.05-0.15 as a fraction) "
            "for residential property. A COD below 5 may indicate sales chasing or a "
            "non-representative sample rather than an excellent model.",
        ),
        "prd": Standard(
            "prd",
            0.98,
            1.03,
            "Vertical equity: price-related differential between 0.98 and 1.03; above 1.03 "
            "cheap homes are over-valued relative to expensive ones (regressive).",
        ),
        "prb": Standard(
            "prb",
            -0.05,
            0.05,
            "Vertical equity: price-related bias between -0.05 and 0.05, i.e. ratios change "
            "by less than 5 % when the value doubles.",
        ),
    }
)


def iaao_passes(metrics: Mapping[str, Any]) -> dict[str, bool]:
    """Pass/fail of each IAAO statistic found in ``metrics``.

    Parameters
    ----------
    metrics : mapping
        For instance the output of :func:`compute_metrics`.

    Returns
    -------
    dict of str to bool
        ``{"median_ratio_passed": ..., "cod_passed": ..., "prd_passed": ..., "prb_passed": ...}``
        for the statistics present in ``metrics``.

    Examples
    --------
    >>> iaao_passes({"median_ratio": 1.02, "cod": 0.2})
    {'median_ratio_passed': True, 'cod_passed': False}
    """
    return {
        f"{name}_passed": standard.passes(float(metrics[name]))
        for name, standard in IAAO_STANDARDS.items()
        if name in metrics
    }


# --------------------------------------------------------------------------- input checks


def check_prices(values: ArrayLike, name: str = "values") -> FloatArray:
    """Return ``values`` as a 1-D float array, or raise a clear ``ValueError``.

    Parameters
    ----------
    values : array-like
        Prices; must be non-empty, finite and > 0.
    name : str
        How to call the argument in error messages (e.g. ``"actual"`` or ``"column 'price'"``).

    Returns
    -------
    numpy.ndarray
        The prices as ``float64``.

    Examples
    --------
    >>> check_prices([1, 2.5], "actual")
    array([1. , 2.5])
    >>> check_prices([100.0, -5.0], "actual")
    Traceback (most recent call last):
    ...
    ValueError: actual has 1 non-positive value, e.g. -5.0; prices must be > 0
    """
    arr = _as_float_1d(values, name)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one price is needed")
    _require_finite(arr, name)
    bad = arr <= 0
    if bad.any():
        count = int(bad.sum())
        raise ValueError(
            f"{name} has {count} non-positive value{'s' if count > 1 else ''}, "
            f"e.g. {float(arr[bad][0])!r}; prices must be > 0"
        )
    return arr


def _as_float_1d(values: ArrayLike, name: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must contain numbers; could not convert it: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape!r}")
    return arr


def _require_finite(arr: FloatArray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        count = int(bad.sum())
        raise ValueError(
            f"{name} has {count} non-finite value{'s' if count > 1 else ''}, "
            f"e.g. {float(arr[bad][0])!r}; values must be finite numbers (no NaN or inf)"
        )


def _check_pair(actual: ArrayLike, predicted: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a = check_prices(actual, "actual")
    p = check_prices(predicted, "predicted")
    if a.shape != p.shape:
        raise ValueError(
            f"actual and predicted must have the same length; got {a.size} and {p.size}"
        )
    return a, p


def _check_fraction(value: float, name: str) -> float:
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite fraction >= 0 (0.1 for 10 %); got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- row-wise kernels
# Each kernel maps 2-D arrays (one resample per row) to one value per row. The scalar metrics
# below call them on a single row, so the bootstrap computes exactly the same statistic.


def _ape(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.abs(P / A - 1.0)


def _rows_mae(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.mean(np.abs(P - A), axis=1)


def _rows_mdae(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.median(np.abs(P - A), axis=1)


def _rows_mape(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.mean(_ape(A, P), axis=1)


def _rows_mdape(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.median(_ape(A, P), axis=1)


def _rows_pe(within: float) -> Callable[[FloatArray, FloatArray], FloatArray]:
    def kernel(A: FloatArray, P: FloatArray) -> FloatArray:
        return np.mean(_ape(A, P) <= within + BOUNDARY_TOLERANCE, axis=1)

    return kernel


def _rows_over(threshold: float) -> Callable[[FloatArray, FloatArray], FloatArray]:
    def kernel(A: FloatArray, P: FloatArray) -> FloatArray:
        return np.mean(_ape(A, P) > threshold + BOUNDARY_TOLERANCE, axis=1)

    return kernel


def _rows_median_ratio(A: FloatArray, P: FloatArray) -> FloatArray:
    return np.median(P / A, axis=1)


def _rows_cod(A: FloatArray, P: FloatArray) -> FloatArray:
    r = P / A
    med = np.median(r, axis=1)
    return np.mean(np.abs(r - med[:, None]), axis=1) / med


def _rows_prd(A: FloatArray, P: FloatArray) -> FloatArray:
    r = P / A
    return np.mean(r, axis=1) / (np.sum(P, axis=1) / np.sum(A, axis=1))


def _prb_xy(A: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Regressor log2(value proxy) and response (r - median r) / median r, per row."""
    r = P / A
    med = np.median(r, axis=1)[:, None]
    y = (r - med) / med
    x = np.log2(0.5 * P / med + 0.5 * A)
    return x, y


def _ols_slope(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Row-wise OLS slope, plus the centred sums (sxx, residual sum of squares)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.sum(xc * xc, axis=1)
    sxy = np.sum(xc * yc, axis=1)
    # A constant value proxy leaves the slope undefined: NaN, without a numpy warning.
    degenerate = sxx <= 1e-300
    slope = np.divide(sxy, sxx, out=np.full_like(sxx, np.nan), where=~degenerate)
    ssr = np.sum((yc - np.where(degenerate, 0.0, slope)[:, None] * xc) ** 2, axis=1)
    return slope, sxx, ssr


def _rows_prb(A: FloatArray, P: FloatArray) -> FloatArray:
    x, y = _prb_xy(A, P)
    return _ols_slope(x, y)[0]


def _metric_kernel(name: str) -> Callable[[FloatArray, FloatArray], FloatArray]:
    fixed = {
        "mae": _rows_mae,
        "mdae": _rows_mdae,
        "mape": _rows_mape,
        "mdape": _rows_mdape,
        "median_ratio": _rows_median_ratio,
        "cod": _rows_cod,
        "prd": _rows_prd,
        "prb": _rows_prb,
    }
    if name in fixed:
        return fixed[name]
    match = re.fullmatch(r"(pe|over)(\d+(?:\.\d+)?)", name)
    if match:
        fraction = float(match.group(2)) / 100.0
        return _rows_pe(fraction) if match.group(1) == "pe" else _rows_over(fraction)
    raise ValueError(
        f"unknown metric name {name!r}; expected one of {sorted(fixed)} or 'pe<k>' / "
        "'over<k>' with k a percentage (e.g. 'pe10', 'over20')"
    )


def _scalar(
    kernel: Callable[[FloatArray, FloatArray], FloatArray], a: FloatArray, p: FloatArray
) -> float:
    return float(kernel(a[None, :], p[None, :])[0])


# --------------------------------------------------------------------------- public metrics


def mae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error, in price units.

    Examples
    --------
    >>> mae([100.0, 200.0], [110.0, 170.0])
    20.0
    """
    return _scalar(_rows_mae, *_check_pair(actual, predicted))


def mdae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Median absolute error, in price units.

    Examples
    --------
    >>> mdae([100.0, 200.0, 300.0], [110.0, 170.0, 300.0])
    10.0
    """
    return _scalar(_rows_mdae, *_check_pair(actual, predicted))


def mape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute percentage error ``mean(|predicted / actual - 1|)``, as a fraction.

    Examples
    --------
    >>> round(mape([100.0, 200.0], [110.0, 170.0]), 6)
    0.125
    """
    return _scalar(_rows_mape, *_check_pair(actual, predicted))


def mdape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Median absolute percentage error, as a fraction (``0.072`` means 7.2 %).

    Examples
    --------
    >>> round(mdape([100.0, 200.0, 400.0], [110.0, 170.0, 400.0]), 6)
    0.1
    """
    return _scalar(_rows_mdape, *_check_pair(actual, predicted))


def pe(actual: ArrayLike, predicted: ArrayLike, within: float) -> float:
    """Share of valuations with ``|predicted / actual - 1| <= within`` (PE10 for 0.10).

    The bound is inclusive (up to :data:`BOUNDARY_TOLERANCE` for floating-point rounding).

    Parameters
    ----------
    actual, predicted : array-like
        True prices and valuations, both > 0.
    within : float
        Tolerance as a fraction, e.g. ``0.10`` for ±10 %.

    Returns
    -------
    float
        A share in ``[0, 1]``.

    Examples
    --------
    >>> pe([100.0, 100.0, 100.0, 100.0], [110.0, 95.0, 80.0, 130.0], within=0.10)
    0.5
    """
    kernel = _rows_pe(_check_fraction(within, "within"))
    return _scalar(kernel, *_check_pair(actual, predicted))


def share_over(actual: ArrayLike, predicted: ArrayLike, threshold: float) -> float:
    """Share of valuations with ``|predicted / actual - 1| > threshold``.

    Equals ``1 - pe(actual, predicted, threshold)``.

    Examples
    --------
    >>> share_over([100.0, 100.0, 100.0, 100.0], [110.0, 95.0, 80.0, 130.0], threshold=0.20)
    0.25
    """
    kernel = _rows_over(_check_fraction(threshold, "threshold"))
    return _scalar(kernel, *_check_pair(actual, predicted))


def median_ratio(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Median of ``predicted / actual`` (IAAO level; 1.0 means no overall bias).

    Examples
    --------
    >>> median_ratio([100.0, 100.0, 100.0], [90.0, 105.0, 130.0])
    1.05
    """
    return _scalar(_rows_median_ratio, *_check_pair(actual, predicted))


def cod(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Coefficient of dispersion ``mean(|r - median r|) / median r``, as a fraction.

    The IAAO writes it as a percentage (``100 *`` this value): ``0.095`` here is a COD of 9.5.
    Acceptable for residential property: 0.05-0.15 (see :data:`IAAO_STANDARDS`).

    Examples
    --------
    >>> round(cod([100.0, 100.0, 100.0], [90.0, 100.0, 120.0]), 6)
    0.1
    """
    return _scalar(_rows_cod, *_check_pair(actual, predicted))


def prd(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Price-related differential ``mean(r) / (sum(predicted) / sum(actual))``.

    1.0 when the ratio does not depend on price; above 1.03 the valuations are regressive
    (cheap homes over-valued relative to expensive ones).

    Examples
    --------
    >>> prd([100.0, 200.0], [200.0, 400.0])
    1.0
    """
    return _scalar(_rows_prd, *_check_pair(actual, predicted))


class PRBResult(NamedTuple):
    """Coefficient of price-related bias with its confidence interval."""

    estimate: float
    low: float
    high: float


def prb(actual: ArrayLike, predicted: ArrayLike, *, level: float = 0.95) -> PRBResult:
    """Coefficient of price-related bias (IAAO) with its confidence interval.

    PRB is the *slope* of the OLS regression of ``(r - median r) / median r`` on
    ``log2(value)``, where ``value = 0.5 * predicted / median r + 0.5 * actual``. It is the
    relative change in ratios when the value doubles: ``-0.03`` means ratios fall by 3 % each
    time the price doubles. Acceptable: -0.05 to 0.05.

    Parameters
    ----------
    actual, predicted : array-like
        True prices and valuations, both > 0.
    level : float, default 0.95
        Confidence level of the t-interval for the slope.

    Returns
    -------
    PRBResult
        ``(estimate, low, high)``. The interval is NaN with fewer than 3 values; everything is
        NaN when all value proxies are equal (slope undefined).

    Examples
    --------
    >>> actual = [100.0, 200.0, 400.0, 800.0]
    >>> res = prb(actual, [2.0 * a for a in actual])
    >>> round(res.estimate, 10)
    0.0
    """
    a, p = _check_pair(actual, predicted)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
    x, y = _prb_xy(a[None, :], p[None, :])
    slope_arr, sxx_arr, ssr_arr = _ols_slope(x, y)
    slope, sxx, ssr = float(slope_arr[0]), float(sxx_arr[0]), float(ssr_arr[0])
    dof = a.size - 2
    if not np.isfinite(slope) or dof < 1:
        return PRBResult(slope, float("nan"), float("nan"))
    stderr = float(np.sqrt(ssr / dof / sxx))
    half_width = float(stats.t.ppf(0.5 + level / 2.0, dof)) * stderr
    return PRBResult(slope, slope - half_width, slope + half_width)


# --------------------------------------------------------------------------- summaries

#: Keys of :func:`compute_metrics` (without the interval keys), in report order.
METRIC_NAMES: tuple[str, ...] = (
    "n",
    "mae",
    "mdae",
    "mape",
    "mdape",
    "pe5",
    "pe10",
    "pe20",
    "over20",
    "over30",
    "median_ratio",
    "cod",
    "prd",
    "prb",
    "prb_low",
    "prb_high",
)

#: Extra keys of :func:`compute_metrics` when a price range is given.
INTERVAL_METRIC_NAMES: tuple[str, ...] = ("coverage", "mean_relative_width")


def compute_metrics(
    actual: ArrayLike,
    predicted: ArrayLike,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
) -> dict[str, float | int]:
    """All accuracy and ratio-study metrics at once.

    Parameters
    ----------
    actual, predicted : array-like
        True prices and valuations, both > 0, same length.
    low, high : array-like, optional
        Lower and upper bounds of the valuation range; give both or neither.

    Returns
    -------
    dict
        ``n`` (int) and, as floats (percentages as fractions): ``mae``, ``mdae``, ``mape``,
        ``mdape``, ``pe5``, ``pe10``, ``pe20``, ``over20``, ``over30``, ``median_ratio``,
        ``cod``, ``prd``, ``prb`` with its 95 % interval ``prb_low`` / ``prb_high``; with a
        range also ``coverage`` (share of actual prices inside ``[low, high]``) and
        ``mean_relative_width`` (mean of ``(high - low) / predicted``).

    Examples
    --------
    >>> m = compute_metrics([100.0, 100.0], [105.0, 90.0], low=[95.0, 95.0], high=[115.0, 99.0])
    >>> m["n"], m["pe5"], m["coverage"]
    (2, 0.5, 0.5)
    """
    a, p = _check_pair(actual, predicted)
    A, P = a[None, :], p[None, :]
    result: dict[str, float | int] = {"n": int(a.size)}
    for name in METRIC_NAMES[1:13]:
        result[name] = float(_metric_kernel(name)(A, P)[0])
    bias = prb(a, p)
    result.update(prb=bias.estimate, prb_low=bias.low, prb_high=bias.high)
    if low is not None or high is not None:
        result.update(_interval_metrics(a, p, low, high))
    return result


def _interval_metrics(
    a: FloatArray, p: FloatArray, low: ArrayLike | None, high: ArrayLike | None
) -> dict[str, float]:
    if low is None or high is None:
        raise ValueError("give both low and high for interval metrics, or neither")
    lo = _as_float_1d(low, "low")
    hi = _as_float_1d(high, "high")
    for name, arr in (("low", lo), ("high", hi)):
        if arr.shape != a.shape:
            raise ValueError(
                f"{name} must have the same length as actual; got {arr.size} and {a.size}"
            )
        _require_finite(arr, name)
    inverted = lo > hi
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise ValueError(
            f"low is greater than high in {int(inverted.sum())} rows, e.g. row {i}: "
            f"{float(lo[i])!r} > {float(hi[i])!r}; ranges must have low <= high"
        )
    return {
        "coverage": float(np.mean((a >= lo) & (a <= hi))),
        "mean_relative_width": float(np.mean((hi - lo) / p)),
    }


def iaao_ratio_study(actual: ArrayLike, predicted: ArrayLike) -> dict[str, Any]:
    """IAAO ratio study: level, uniformity and vertical equity against the standards.

    Returns
    -------
    dict
        ``n``, ``passed`` (all four statistics within range) and one entry per statistic
        (``median_ratio``, ``cod``, ``prd``, ``prb``), each a dict with ``value``, ``low``,
        ``high``, ``passed`` and ``description``; ``prb`` also has ``ci_low`` / ``ci_high``.

    Examples
    --------
    >>> study = iaao_ratio_study([100.0, 200.0, 300.0], [95.0, 210.0, 300.0])
    >>> study["median_ratio"]["value"], study["median_ratio"]["passed"]
    (1.0, True)
    """
    metrics = compute_metrics(actual, predicted)
    study: dict[str, Any] = {"n": metrics["n"]}
    for name, standard in IAAO_STANDARDS.items():
        value = float(metrics[name])
        study[name] = {
            "value": value,
            "low": standard.low,
            "high": standard.high,
            "passed": standard.passes(value),
            "description": standard.description,
        }
    study["prb"].update(ci_low=metrics["prb_low"], ci_high=metrics["prb_high"])
    study["passed"] = all(study[name]["passed"] for name in IAAO_STANDARDS)
    return study


# --------------------------------------------------------------------------- bootstrap


def bootstrap_ci(
    actual: ArrayLike,
    predicted: ArrayLike,
    metric: str | Callable[[FloatArray, FloatArray], float],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float, float]:
    """Percentile bootstrap confidence interval of a metric.

    Parameters
    ----------
    actual, predicted : array-like
        True prices and valuations, both > 0.
    metric : str or callable
        A metric name (``"mae"``, ``"mdae"``, ``"mape"``, ``"mdape"``, ``"median_ratio"``,
        ``"cod"``, ``"prd"``, ``"prb"``, ``"pe<k>"``, ``"over<k>"`` such as ``"pe10"``), computed
        vectorised over all resamples, or a function ``f(actual, predicted) -> float`` called
        once per resample.
    n_boot : int, default 1000
        Number of resamples.
    level : float, default 0.95
        Confidence level.
    seed : int or None, default 0
        Seed of the random generator (same seed, same interval).

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``: the metric on the full sample and the percentile interval.
        Resamples where the metric is undefined (NaN) are ignored.

    Examples
    --------
    >>> actual = [100.0, 200.0, 300.0, 400.0, 500.0]
    >>> est, low, high = bootstrap_ci(actual, [110.0, 190.0, 330.0, 400.0, 450.0], "mdape")
    >>> round(est, 3), low <= est <= high
    (0.1, True)
    """
    a, p = _check_pair(actual, predicted)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
    kernel = _metric_kernel(metric) if isinstance(metric, str) else _loop_kernel(metric)
    estimate = float(kernel(a[None, :], p[None, :])[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // a.size)
    values = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, a.size, size=(min(chunk, n_boot - start), a.size))
        values.append(kernel(a[idx], p[idx]))
    boot = np.concatenate(values)
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return estimate, float("nan"), float("nan")
    low, high = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return estimate, float(low), float(high)


def _loop_kernel(
    fn: Callable[[FloatArray, FloatArray], float],
) -> Callable[[FloatArray, FloatArray], FloatArray]:
    if not callable(fn):
        raise ValueError(f"metric must be a metric name or a callable; got {fn!r}")

    def kernel(A: FloatArray, P: FloatArray) -> FloatArray:
        return np.array([float(fn(a, p)) for a, p in zip(A, P, strict=True)], dtype=np.float64)

    return kernel
