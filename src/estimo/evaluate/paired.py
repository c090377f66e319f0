"""Paired bootstrap of metric differences between valuation models on the same rows.

Rows are resampled once per replicate and every metric is computed for every prediction
vector on that same resample, so contrasts (B − A, or (B − A) − (B′ − A′)) keep the pairing.

Examples
--------
>>> a = np.array([100.0, 200.0, 300.0, 400.0])
>>> est, reps = paired_bootstrap(a, [a * 1.05, a * 1.2], ["mdape"], n_boot=100)
>>> d = difference("mdape", est["mdape"], reps["mdape"], 0.95)
>>> round(d.diff, 2), d.better
(0.15, 'a')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from estimo.evaluate.metric_kernels import metric_kernel

__all__ = [
    "COMPARED_METRICS",
    "MetricDifference",
    "difference",
    "higher_is_better",
    "paired_bootstrap",
]

#: Metrics compared by default; for each, whether a higher value is better.
COMPARED_METRICS: dict[str, bool] = {"mdape": False, "pe10": True, "cod": False}
_BOOT_CHUNK = 2_000_000
_COMPARABLE = frozenset({"mdape", "mape", "cod", "median_ratio"})


# --------------------------------------------------------------------------- kernels


def _kernel(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Row-wise metric over 2-D arrays (one resample per row): the formulas of
    :mod:`estimo.evaluate.metric_kernels`, for the metrics whose direction is known."""
    if name in _COMPARABLE or (name.startswith("pe") and name[2:].isdigit()):
        return metric_kernel(name)
    raise ValueError(
        f"metric {name!r} cannot be compared; expected one of {sorted(_COMPARABLE)} or 'pe<k>'"
    )


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` means a better model (PE-k: yes)."""
    return metric.startswith("pe") or COMPARED_METRICS.get(metric, False)


def paired_bootstrap(
    actual: np.ndarray,
    predictions: Sequence[np.ndarray],
    metrics: Sequence[str] = tuple(COMPARED_METRICS),
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Metric values of several prediction vectors on the same bootstrap resamples.

    Parameters
    ----------
    actual : array
        True prices (> 0).
    predictions : sequence of arrays
        ``k`` valuation vectors of the same rows.
    metrics : sequence of str
        Metric names (``mdape``, ``mape``, ``cod``, ``median_ratio``, ``pe<k>``).
    n_boot : int
        Number of resamples; each resamples the rows once, shared by all vectors.
    seed : int or None
        Seed of the resampling.

    Returns
    -------
    estimates : dict of str to array of shape (k,)
        Each metric on the full sample.
    replicates : dict of str to array of shape (n_boot, k)
        Each metric on each resample.

    Examples
    --------
    >>> a = np.array([100.0, 200.0, 300.0, 400.0])
    >>> est, reps = paired_bootstrap(a, [a * 1.05, a * 1.2], ["pe10"], n_boot=50)
    >>> est["pe10"].tolist(), reps["pe10"].shape
    ([1.0, 0.0], (50, 2))
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer; got {n_boot!r}")
    a = np.asarray(actual, dtype=float)
    P = np.vstack([np.asarray(p, dtype=float) for p in predictions])
    if P.shape[1] != a.size or a.size == 0:
        raise ValueError(f"predictions must be {a.size} values each; got shape {P.shape!r}")
    kernels = {m: _kernel(m) for m in metrics}
    estimates = {m: np.array([k(a[None, :], p[None, :])[0] for p in P]) for m, k in kernels.items()}
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_CHUNK // a.size)
    reps: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, a.size, size=(min(chunk, n_boot - start), a.size))
        A = a[idx]
        for m, kernel in kernels.items():
            reps[m].append(np.column_stack([kernel(A, p[idx]) for p in P]))
    return estimates, {m: np.vstack(v) for m, v in reps.items()}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MetricDifference:
    """One metric of A and B on the same rows, and the CI of the difference B − A.

    ``p_b_better`` is the share of bootstrap resamples in which B is better.
    """

    metric: str
    a: float
    b: float
    diff: float
    low: float
    high: float
    p_b_better: float
    level: float

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of the metric is better."""
        return higher_is_better(self.metric)

    @property
    def better(self) -> str | None:
        """``"b"`` or ``"a"`` when the interval excludes 0, else ``None``."""
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return None
        gain_low, gain_high = (
            (self.low, self.high) if self.higher_is_better else (-self.high, -self.low)
        )
        if gain_low > 0:
            return "b"
        if gain_high < 0:
            return "a"
        return None

    def points(self) -> str:
        """``"+3.1 points (95 % CI +1.8 to +4.4)"`` for B − A."""
        return (
            f"{100 * self.diff:+.1f} points ({100 * self.level:.0f} % CI "
            f"{100 * self.low:+.1f} to {100 * self.high:+.1f})"
        )


def difference(
    metric: str, est: np.ndarray, reps: np.ndarray, level: float, pair=(0, 1)
) -> MetricDifference:
    i, j = pair
    diffs = reps[:, j] - reps[:, i]
    diffs = diffs[np.isfinite(diffs)]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [alpha, 1 - alpha]) if diffs.size else (np.nan, np.nan)
    sign = 1.0 if higher_is_better(metric) else -1.0
    # a tie is half a win: two identical models are each better with probability 0.5, not 0
    signed = sign * diffs
    p_better = float(np.mean(signed > 0) + 0.5 * np.mean(signed == 0)) if diffs.size else np.nan
    return MetricDifference(
        metric,
        float(est[i]),
        float(est[j]),
        float(est[j] - est[i]),
        float(low),
        float(high),
        p_better,
        level,
    )
