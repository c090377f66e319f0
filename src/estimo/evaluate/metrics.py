"""Valuation accuracy metrics, and :func:`compute_metrics`, every metric at once.

All functions take two aligned 1-D arrays: ``actual`` (true prices, > 0) and ``predicted``
(the model's valuations, > 0). The *ratio* of a property is ``predicted / actual``, its
*absolute percentage error* is ``|predicted / actual - 1|``.

**Units.** Every percentage-like metric is returned as a *fraction*: an MdAPE of 7.2 % is
``0.072``, a PE10 of 64 % is ``0.64`` and a COD of 9.5 is ``0.095``. The IAAO acceptable ranges
in :data:`IAAO_STANDARDS` use the same units; report tables format them as percentages.

This module is also the one place to import every metric from; the other concepts live in
their own modules and are re-exported here:

* :mod:`estimo.evaluate.ratio_study`: the IAAO ratio study (median ratio, COD, PRD, PRB, the
  standards and the pass/fail),
* :mod:`estimo.evaluate.range_metrics`: coverage and width of valuation ranges,
* :mod:`estimo.evaluate.metric_ci`: bootstrap confidence intervals of a metric,
* :mod:`estimo.evaluate.price_checks`: the input checks,
* :mod:`estimo.evaluate.metric_kernels`: the row-wise formulas all of them share.

Examples
--------
>>> from estimo.evaluate.metrics import compute_metrics
>>> m = compute_metrics([100.0, 200.0, 400.0], [110.0, 190.0, 400.0])
>>> round(m["mdape"], 3), round(m["pe10"], 3)
(0.05, 1.0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from estimo.evaluate.metric_ci import bootstrap_ci
from estimo.evaluate.metric_kernels import (
    BOUNDARY_TOLERANCE,
    _rows_mae,
    _rows_mape,
    _rows_mdae,
    _rows_mdape,
    _rows_over,
    _rows_pe,
    _scalar,
    metric_kernel,
)
from estimo.evaluate.price_checks import _check_fraction, _check_pair, check_prices
from estimo.evaluate.range_metrics import INTERVAL_METRIC_NAMES, _interval_metrics
from estimo.evaluate.ratio_study import (
    IAAO_STANDARDS,
    PRBResult,
    Standard,
    cod,
    iaao_passes,
    iaao_ratio_study,
    median_ratio,
    prb,
    prd,
)

__all__ = [
    "BOUNDARY_TOLERANCE",
    "IAAO_STANDARDS",
    "INTERVAL_METRIC_NAMES",
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


# --------------------------------------------------------------------------- accuracy metrics


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
        result[name] = float(metric_kernel(name)(A, P)[0])
    bias = prb(a, p)
    result.update(prb=bias.estimate, prb_low=bias.low, prb_high=bias.high)
    if low is not None or high is not None:
        result.update(_interval_metrics(a, p, low, high))
    return result
