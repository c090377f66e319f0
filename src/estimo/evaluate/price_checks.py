"""Input checks shared by the valuation metrics: prices, pairs of price arrays, fractions.

Every metric in :mod:`estimo.evaluate.metrics`, :mod:`estimo.evaluate.ratio_study` and
:mod:`estimo.evaluate.metric_ci` checks its input here first, so bad input gives the same
clear ``ValueError`` whichever metric is asked for.

Examples
--------
>>> check_prices([100, 250.0], "actual")
array([100., 250.])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["check_prices"]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


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
