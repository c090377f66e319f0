"""Row statistics of the comparables of :class:`~estimo.model.comps.ComparablesFinder`.

The finder keeps the comparables of ``n`` subjects in padded ``(n, k)`` arrays, one row per
subject, NaN (or a weight of 0) where a subject has fewer than ``k`` comparables. This module
holds the statistics computed along those rows:

* :func:`similarity`: ``exp(-d2 / 2)`` of the ranking distance, floored at
  :data:`MIN_SIMILARITY`; it weights the comparables;
* :func:`best_of_each_id`: one comparable per property, so that re-listings of one property
  do not count as several comparables;
* :func:`weighted_median` and :func:`trimmed_mean`: the *comparables value*, a
  similarity-weighted mean of the adjusted log prices after dropping those more than
  ``trim`` robust standard deviations (1.4826 x weighted MAD, at least 0.02) from the
  weighted median;
* :func:`row_stat`: NaN-aware row statistics (median distance, mean age, ...) that stay NaN
  without warnings for subjects without comparables.

Examples
--------
>>> import numpy as np
>>> values = np.array([[1.0, 2.0, 9.0], [4.0, np.nan, np.nan]])
>>> weighted_median(values, np.ones((2, 3))).tolist()
[2.0, 4.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "MIN_SIMILARITY",
    "best_of_each_id",
    "row_stat",
    "similarity",
    "trimmed_mean",
    "weighted_median",
]

MIN_SIMILARITY = 1e-6
"""Floor of :func:`similarity`, so that every comparable keeps a positive weight."""


def similarity(d2: np.ndarray) -> np.ndarray:
    """Similarity ``exp(-d2 / 2)`` of a weighted squared distance, at least :data:`MIN_SIMILARITY`.

    Examples
    --------
    >>> import numpy as np
    >>> similarity(np.array([0.0, 100.0])).tolist()
    [1.0, 1e-06]
    >>> round(float(similarity(np.array([1.0]))[0]), 4)
    0.6065
    """
    return np.maximum(np.exp(-0.5 * d2), MIN_SIMILARITY)


def best_of_each_id(codes: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Mask keeping, per subject, the best-scored row of each property id.

    Re-listings of one property would otherwise count as several comparables.

    Parameters
    ----------
    codes : numpy.ndarray
        (m, c) integer property code of each candidate (see
        :func:`estimo.model.comps_encoding.id_codes`).
    d2 : numpy.ndarray
        (m, c) distance of each candidate; lower is better.

    Returns
    -------
    numpy.ndarray
        (m, c) boolean mask, True for the lowest ``d2`` of each code in each row (the first
        one on ties).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[3, 5, 3], [3, 5, 3]])
    >>> d2 = np.array([[2.0, 1.0, 0.5], [0.1, 1.0, 0.5]])
    >>> best_of_each_id(codes, d2).tolist()
    [[False, True, True], [True, True, False]]
    """
    m, c = codes.shape
    subject = np.repeat(np.arange(m), c)
    order = np.lexsort((d2.ravel(), codes.ravel(), subject))
    key_subject, key_code = subject[order], codes.ravel()[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (key_subject[1:] != key_subject[:-1]) | (key_code[1:] != key_code[:-1])
    keep = np.empty(len(order), dtype=bool)
    keep[order] = first
    return keep.reshape(m, c)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median of a padded (n, k) array (NaN = absent).

    The smallest value whose cumulative weight reaches half the row's total; NaN for a row
    without weight.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]])
    >>> weights = np.array([[3.0, 1.0, 1.0], [0.0, 0.0, 5.0]])
    >>> weighted_median(values, weights).tolist()
    [1.0, nan]
    """
    absent = np.isnan(values)
    order = np.argsort(np.where(absent, np.inf, values), axis=1)
    v = np.take_along_axis(values, order, 1)
    w = np.take_along_axis(np.where(absent, 0.0, weights), order, 1)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1] if cum.shape[1] else np.zeros(len(values))
    pick = np.argmax(cum >= 0.5 * total[:, None], axis=1) if cum.shape[1] else total.astype(int)
    out = v[np.arange(len(v)), pick] if v.shape[1] else np.full(len(v), np.nan)
    return np.where(total > 0, out, np.nan)


def trimmed_mean(
    values: np.ndarray, weights: np.ndarray, trim: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise weighted mean of the values within ``trim`` robust deviations of the median.

    Parameters
    ----------
    values : numpy.ndarray
        (n, k) values (adjusted log prices), NaN where absent.
    weights : numpy.ndarray
        (n, k) weights (similarities), 0 where absent.
    trim : float
        Values farther than ``trim * max(1.4826 * spread, 0.02)`` from the weighted median
        are left out, except the row's most similar one (largest weight), which is always
        kept: a comparable is never left out while a less similar one counts.

    Returns
    -------
    mean : numpy.ndarray
        (n,) weighted mean of the kept values (NaN for a row without weight).
    spread : numpy.ndarray
        (n,) weighted median absolute deviation from the weighted median.
    keep : numpy.ndarray
        (n, k) boolean mask of the kept values.

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[1.0, 1.02, 0.98, 2.0]])
    >>> mean, spread, keep = trimmed_mean(values, np.ones((1, 4)), trim=2.5)
    >>> mean.round(6).tolist(), spread.round(6).tolist(), keep.tolist()
    ([1.0], [0.02], [[True, True, True, False]])
    >>> keep = trimmed_mean(values, np.array([[1.0, 1.0, 1.0, 2.0]]), trim=2.5)[2]
    >>> keep.tolist()  # the most similar is kept even when far from the others
    [[True, True, True, True]]
    """
    centre = weighted_median(values, weights)
    spread = weighted_median(np.abs(values - centre[:, None]), weights)
    limit = trim * np.maximum(1.4826 * spread, 0.02)
    keep = np.abs(values - centre[:, None]) <= limit[:, None]
    if weights.shape[1]:
        best = np.argmax(weights, axis=1)
        rows = np.arange(len(weights))
        keep[rows, best] |= (weights[rows, best] > 0) & np.isfinite(values[rows, best])
    kept_w = np.where(keep, weights, 0.0)
    total = kept_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, np.nansum(kept_w * values, axis=1) / total, np.nan)
    return mean, spread, keep


def row_nanmedian(values: np.ndarray, axis: int = 1) -> np.ndarray:
    """``np.nanmedian(values, axis=1)`` of a 2-d array whose rows each have a value that is
    not NaN, the same numbers (the middle value, or the mean of the two middle values, of
    each row's values that are not NaN) from one sort: numpy's own takes about 0.2 ms for
    a few values (masked arrays).

    Examples
    --------
    >>> import numpy as np
    >>> row_nanmedian(np.array([[3.0, 1.0, np.nan], [4.0, 1.0, 2.0], [1.0, 2.0, 4.0]])).tolist()
    [2.0, 2.0, 2.0]
    """
    if axis != 1 or values.ndim != 2:
        raise ValueError("row_nanmedian takes the rows of a 2-d array (axis=1)")
    ordered = np.sort(values, axis=1)  # NaN last
    count = (~np.isnan(values)).sum(axis=1)
    rows = np.arange(len(values))
    high = ordered[rows, count // 2]
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    even = (count % 2) == 0
    # numpy's median is a mean of the middle values: a sum from 0.0 (so -0.0 reads 0.0)
    with np.errstate(invalid="ignore"):  # inf and -inf in the middle: NaN, as numpy's
        return np.where(even, (0.0 + low + high) / 2.0, 0.0 + high)


def row_stat(func: Any, values: np.ndarray, has_any: np.ndarray) -> np.ndarray:
    """``func(values, axis=1)`` on the rows that have comparables and a finite value.

    Other rows are NaN (without the warnings of NaN-aware reductions on empty rows).

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[1.0, 3.0], [np.nan, np.nan], [5.0, np.nan]])
    >>> row_stat(np.nanmean, values, np.array([True, True, False])).tolist()
    [2.0, nan, nan]
    """
    out = np.full(len(values), np.nan)
    rows = has_any & np.isfinite(values).any(axis=1)
    if rows.any():
        out[rows] = func(values[rows], axis=1)
    return out
