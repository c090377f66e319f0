"""Metrics of valuation ranges: how often ``[low, high]`` holds the price, and how wide it is.

Used by :func:`~estimo.evaluate.metrics.compute_metrics` when a range is given; the keys it adds
are :data:`INTERVAL_METRIC_NAMES`.

Examples
--------
>>> import numpy as np
>>> a, p = np.array([100.0, 100.0]), np.array([105.0, 90.0])
>>> m = _interval_metrics(a, p, [95.0, 95.0], [115.0, 99.0])
>>> m["coverage"], round(m["mean_relative_width"], 3)
(0.5, 0.117)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from estimo.evaluate.price_checks import _as_float_1d, _require_finite

__all__ = ["INTERVAL_METRIC_NAMES"]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Extra keys of :func:`~estimo.evaluate.metrics.compute_metrics` when a price range is given.
INTERVAL_METRIC_NAMES: tuple[str, ...] = ("coverage", "mean_relative_width")


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
