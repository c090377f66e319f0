"""Row-wise metric kernels: one formula per metric, shared by the scalar metrics and the bootstrap.

Each kernel maps 2-D arrays ``A`` (actual) and ``P`` (predicted), one resample per row, to one
value per row. The scalar metrics call them on a single row, so a bootstrap interval is computed
with exactly the same statistic as the point estimate.

Examples
--------
>>> import numpy as np
>>> kernel = metric_kernel("pe10")
>>> kernel(np.array([[100.0, 100.0]]), np.array([[110.0, 80.0]]))
array([0.5])
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["BOUNDARY_TOLERANCE", "metric_kernel"]

FloatArray = npt.NDArray[np.float64]

#: Absolute tolerance added to the ``within`` / ``threshold`` bounds, so that an error of
#: exactly 10 % (e.g. 110 vs 100, computed as 0.10000000000000009) counts as within 10 %.
BOUNDARY_TOLERANCE = 1e-12


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


def metric_kernel(name: str) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """The row-wise formula of a metric by name (``mdape``, ``cod``, ``pe10``, ``over20``, ...).

    Raises
    ------
    ValueError
        If the name is not a metric.
    """
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
