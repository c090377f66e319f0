"""Log-price contributions: the only thing the explanation layer needs from a model.

The contract (``docs/CONTRACTS.md``): a contribution frame has one column per model
feature plus ``_base`` (the model's expected log price), ``_time`` (the price-index move to
the valuation date) and ``_comparables`` (what blending with comparables changed), and its
columns sum, row by row, to the log of the final valuation.

:func:`log_contributions` takes it from a model's ``log_contributions(frame)``: the
engine's :class:`~estimo.model.avm.AVM` (the :class:`~estimo.pipeline.ValuationPipeline`'s
engine), or the plain benchmark :class:`~estimo.model.valuation.ValuationModel` (exact
TreeSHAP values, LightGBM's ``pred_contrib`` numbers; ``_time`` and ``_comparables`` 0).

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> market = generate_market(1_000, seed=1, faults=False)
>>> model = ValuationModel(n_estimators=20).fit(market.frame)
>>> contrib = log_contributions(model, market.frame.head(3))
>>> list(contrib.columns[-3:])
['_base', '_time', '_comparables']
>>> bool(np.allclose(contrib.sum(axis=1), model.predict_log(market.frame.head(3))))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import EstimoError
from estimo.explain.labels import CONTRACT_COLUMNS

__all__ = [
    "CONTRACT_COLUMNS",
    "check_contributions",
    "checked_contributions",
    "feature_names",
    "log_contributions",
]


def log_contributions(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's contribution frame of a model: ``model.log_contributions(frame)``
    (the engine, the pipeline's engine, or the plain benchmark model), checked.

    Raises
    ------
    EstimoError
        If the frame breaks the contract.
    """
    return checked_contributions(model.log_contributions(frame))


def checked_contributions(contributions: pd.DataFrame) -> pd.DataFrame:
    """``contributions``, after checking it has the contract's columns.

    Raises
    ------
    EstimoError
        If a contract column is missing.
    """
    missing = [c for c in CONTRACT_COLUMNS if c not in contributions.columns]
    if missing:
        raise EstimoError(
            f"contribution frame lacks column(s) {missing!r}; the contract needs "
            f"{list(CONTRACT_COLUMNS)!r} besides one column per feature"
        )
    return contributions


def feature_names(contributions: pd.DataFrame) -> list[str]:
    """The feature columns of a contribution frame (contract columns excluded)."""
    return [c for c in contributions.columns if c not in CONTRACT_COLUMNS]


def check_contributions(
    contributions: pd.DataFrame, log_price: np.ndarray, atol: float = 1e-6
) -> None:
    """Raise if the rows of a contribution frame do not sum to ``log_price``.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [0.1], "_base": [12.0], "_time": [0.0], "_comparables": [0.0]})
    >>> check_contributions(frame, np.array([12.1]))
    """
    total = contributions.sum(axis=1).to_numpy(float)
    gap = np.abs(total - np.asarray(log_price, dtype=float))
    if gap.size and float(gap.max()) > atol:
        worst = int(np.argmax(gap))
        raise EstimoError(
            f"contributions of row {contributions.index[worst]!r} sum to {total[worst]!r}, "
            f"not to the log valuation {float(np.asarray(log_price)[worst])!r}"
        )
