"""From log-scale contributions to money that adds up exactly.

The model works on log price: ``log(price) = b + c_1 + ... + c_k`` with a baseline ``b``
(the log price of the reference property) and one contribution ``c_j`` per reason. A home
owner reads money, and expects the amounts to add up: ``baseline + amounts == price`` to the
currency unit. :func:`allocate_money` does that with a documented rule.

**The rule** (the *logarithmic-mean* allocation, also known as the LMDI decomposition):

1. ``B`` is the baseline price ``exp(b)`` and ``P`` the shown price, both rounded to the
   ``unit`` (1 by default: the currency unit; never below one unit).
2. The price difference ``P - B`` is shared out in proportion to the log contributions,
   at the rate ``L = (P - B) / (log P - log B)`` (the logarithmic mean of ``B`` and ``P``;
   ``L = B`` when ``P == B``): ``m_j = L * c_j``. A contribution of +5 % in log terms is
   worth the same amount whatever the order in which reasons are read, and contributions
   that cancel in log terms cancel in money too. There is no "interaction" remainder.
3. When the contributions do not add up exactly to ``log P - log B`` (because the shown
   price was rounded, or a valuation price was given), the small gap ``(P - B) - sum(m)``
   is spread over the reasons in proportion to ``|c_j|`` (equally if all are zero).
4. The amounts are rounded to the ``unit`` by the *largest-remainder* method: round every
   amount down, then add one unit to the amounts with the largest remainders until the
   total is exactly ``P - B`` (ties go to the first reason). Every rounded amount is within
   one unit of its exact share.

Examples
--------
>>> import numpy as np
>>> baseline, amounts = allocate_money(np.array([0.10, -0.05, 0.02]), np.log(300_000))
>>> baseline, amounts.tolist(), baseline + int(amounts.sum())
(300000, [31075, -15538, 6215], 321752)
>>> round(300_000 * np.exp(0.07))
321752
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["allocate_money", "log_mean", "round_parts", "round_parts_list", "round_to_unit"]


def round_to_unit(value: float, unit: int = 1) -> int:
    """Round a positive amount to a whole number of ``unit`` (at least one unit).

    Examples
    --------
    >>> round_to_unit(1234.5, 100), round_to_unit(0.2)
    (1200, 1)
    """
    return int(max(unit, unit * round(float(value) / unit)))


def log_mean(a: float, b: float) -> float:
    """Logarithmic mean of two positive numbers: ``(a - b) / (log a - log b)``.

    Examples
    --------
    >>> log_mean(100.0, 100.0), round(log_mean(100.0, 200.0), 3)
    (100.0, 144.27)
    """
    if a <= 0 or b <= 0:
        raise ValueError(f"log_mean needs positive numbers, got {a!r} and {b!r}")
    if math.isclose(a, b, rel_tol=1e-12):
        return (a + b) / 2.0
    return (a - b) / (math.log(a) - math.log(b))


def allocate_money(
    contributions: np.ndarray,
    baseline_log: float,
    price: float | None = None,
    unit: int = 1,
) -> tuple[int, np.ndarray]:
    """Turn log contributions into whole amounts that add up to the price exactly.

    Parameters
    ----------
    contributions : array of shape (k,)
        Log-scale contribution of each reason.
    baseline_log : float
        Log price of the reference property.
    price : float, optional
        The price to explain (e.g. the valuation shown); default
        ``exp(baseline_log + sum(contributions))``.
    unit : int
        Rounding unit of every amount (1 = the currency unit).

    Returns
    -------
    baseline : int
        The reference price, rounded to ``unit``.
    amounts : numpy.ndarray of int64, shape (k,)
        One amount per reason; ``baseline + amounts.sum()`` equals the rounded price.

    Raises
    ------
    ValueError
        If a contribution or the baseline is not finite, the price is not positive, or the
        unit is not a positive integer.

    Examples
    --------
    >>> allocate_money(np.array([0.2, -0.2]), np.log(1000.0))
    (1000, array([ 200, -200]))
    """
    c = np.asarray(contributions, dtype=float).ravel()
    if not np.isfinite(c).all() or not math.isfinite(baseline_log):
        raise ValueError(
            f"contributions and baseline_log must be finite, got {c!r} and {baseline_log!r}"
        )
    if int(unit) != unit or unit < 1:
        raise ValueError(f"unit is {unit!r}; expected a positive whole number")
    unit = int(unit)
    exact_price = math.exp(baseline_log + float(c.sum())) if price is None else float(price)
    if not (math.isfinite(exact_price) and exact_price > 0):
        raise ValueError(f"price is {price!r}; expected a number > 0")
    base = round_to_unit(math.exp(baseline_log), unit)
    total_price = round_to_unit(exact_price, unit)
    target = total_price - base
    if len(c) == 0:
        return total_price, np.zeros(0, dtype=np.int64)
    shares = log_mean(total_price, base) * c
    gap = target - float(shares.sum())
    weights = np.abs(c)
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(c), 1.0 / len(c))
    shares = shares + gap * weights
    return base, _largest_remainder(shares / unit, target // unit) * unit


def round_parts(parts: Any, total: int) -> np.ndarray:
    """Whole amounts close to ``parts`` that add up to the whole ``total`` exactly.

    The gap between ``total`` and ``sum(parts)`` is first spread in proportion to
    ``|parts|``, then the largest-remainder method rounds. Used for the adjustments of a
    comparable, whose rounded price and rounded adjusted price are shown.

    Examples
    --------
    >>> round_parts(np.array([1000.4, 250.4, -99.6]), 1151).tolist()
    [1000, 250, -99]
    """
    return np.array(round_parts_list(parts, total), dtype=np.int64)


def round_parts_list(parts: Any, total: int) -> list[int]:
    """:func:`round_parts` as a list of ``int``: a sentence's few amounts, without the
    cost of an array.

    Examples
    --------
    >>> round_parts_list([1000.4, 250.4, -99.6], 1151)
    [1000, 250, -99]
    """
    p = _floats(parts)  # a few items: plain floats
    if not p:
        return []
    size = sum(map(abs, p))
    gap = total - sum(p)
    spread = [x + gap * abs(x) / size for x in p] if size > 0 else [x + gap / len(p) for x in p]
    return _largest_remainder_list(spread, int(total))


def _largest_remainder(values: Any, total: int) -> np.ndarray:
    """:func:`_largest_remainder_list` as an int64 array."""
    return np.array(_largest_remainder_list(_floats(values), total), dtype=np.int64)


def _largest_remainder_list(vals: list[float], total: int) -> list[int]:
    """Integers within 1 of ``vals`` that sum to ``total`` (``vals`` must sum to ~total).

    A valuation has a handful of reasons, so this works on plain floats: numpy's per-call
    overhead would cost more than the arithmetic.
    """
    out = [math.floor(v) for v in vals]
    missing = int(total) - sum(out)
    if missing > 0:
        # the largest remainders first; stable: ties go to the earlier item
        for i in sorted(range(len(vals)), key=lambda i: out[i] - vals[i])[:missing]:
            out[i] += 1
    elif missing < 0:  # only from floating-point noise: take from the smallest remainders
        for i in sorted(range(len(vals)), key=lambda i: vals[i] - out[i])[:-missing]:
            out[i] -= 1
    return out


def _floats(values: Any) -> list[float]:
    """A few numbers (a list, or an array of any shape) as a flat list of floats."""
    if isinstance(values, np.ndarray):
        return [float(v) for v in values.ravel().tolist()]
    return [float(v) for v in values]
