"""The IAAO ratio study: level, uniformity and vertical equity against the standards.

The statistics follow the IAAO Standard on Ratio Studies (2013); each takes two aligned 1-D
arrays ``actual`` (true prices, > 0) and ``predicted`` (valuations, > 0), and works on the
*ratio* ``predicted / actual``:

* median ratio (level),
* COD, the coefficient of dispersion (uniformity),
* PRD, the price-related differential (vertical equity),
* PRB, the coefficient of price-related bias (vertical equity, with a 95 % confidence interval).

Like every metric of :mod:`estimo.evaluate.metrics`, percentage-like values are fractions: a
COD of 9.5 is ``0.095``, and the acceptable ranges of :data:`IAAO_STANDARDS` use the same units.

Examples
--------
>>> study = iaao_ratio_study([100.0, 200.0, 300.0], [95.0, 210.0, 300.0])
>>> study["cod"]["value"] < 0.05, study["cod"]["passed"]
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from estimo.evaluate.metric_kernels import (
    _ols_slope,
    _prb_xy,
    _rows_cod,
    _rows_median_ratio,
    _rows_prd,
    _scalar,
)
from estimo.evaluate.price_checks import _check_pair

__all__ = [
    "IAAO_STANDARDS",
    "PRBResult",
    "Standard",
    "cod",
    "iaao_passes",
    "iaao_ratio_study",
    "median_ratio",
    "prb",
    "prd",
]

ArrayLike = npt.ArrayLike


# --------------------------------------------------------------------------- IAAO standards


@dataclass(frozen=True)
class Standard:
    """An acceptable range ``[low, high]`` for one ratio-study statistic.

    Parameters
    ----------
    name : str
        Key of the statistic (as in :func:`~estimo.evaluate.metrics.compute_metrics`).
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
        For instance the output of :func:`~estimo.evaluate.metrics.compute_metrics`.

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


# --------------------------------------------------------------------------- statistics


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
    from scipy import stats  # lazy: scipy.stats costs ~1 s to import, only PRB needs it

    half_width = float(stats.t.ppf(0.5 + level / 2.0, dof)) * stderr
    return PRBResult(slope, slope - half_width, slope + half_width)


# --------------------------------------------------------------------------- the study


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
    a, p = _check_pair(actual, predicted)
    bias = prb(a, p)
    values = {
        "median_ratio": _scalar(_rows_median_ratio, a, p),
        "cod": _scalar(_rows_cod, a, p),
        "prd": _scalar(_rows_prd, a, p),
        "prb": bias.estimate,
    }
    study: dict[str, Any] = {"n": int(a.size)}
    for name, standard in IAAO_STANDARDS.items():
        value = float(values[name])
        study[name] = {
            "value": value,
            "low": standard.low,
            "high": standard.high,
            "passed": standard.passes(value),
            "description": standard.description,
        }
    study["prb"].update(ci_low=bias.low, ci_high=bias.high)
    study["passed"] = all(study[name]["passed"] for name in IAAO_STANDARDS)
    return study
