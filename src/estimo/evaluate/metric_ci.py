"""Percentile bootstrap confidence intervals of one valuation metric.

A named metric is computed vectorised over all resamples with the same row-wise kernel as its
point estimate (see :mod:`estimo.evaluate.metric_kernels`); a callable metric is called once per
resample. For paired intervals of the *difference* between two models on the same rows, see
:mod:`estimo.evaluate.paired`.

Examples
--------
>>> est, low, high = bootstrap_ci([100.0, 200.0, 300.0], [90.0, 200.0, 330.0], "mape", n_boot=50)
>>> round(est, 3), low <= high
(0.067, True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from estimo.evaluate.metric_kernels import metric_kernel
from estimo.evaluate.price_checks import _check_pair

__all__ = ["bootstrap_ci"]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

# Bootstrap resamples are evaluated in chunks of at most this many elements (memory bound).
_BOOTSTRAP_CHUNK_ELEMENTS = 2_000_000


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
    kernel = metric_kernel(metric) if isinstance(metric, str) else _loop_kernel(metric)
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
