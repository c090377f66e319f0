"""Log-price contributions: the only thing the explanation layer needs from a model.

The contract (``docs/CONTRACTS.md``): a contribution frame has one column per model
feature plus ``_base`` (the model's expected log price), ``_time`` (the price-index move to
the valuation date) and ``_comparables`` (what blending with comparables changed), and its
columns sum, row by row, to the log of the final valuation.

:func:`log_contributions` takes it from any model that offers ``log_contributions(frame)``
(the engine's :class:`~estimo.model.avm.AVM`) and falls back to
:func:`contributions_from_booster` for a plain :class:`~estimo.model.valuation.ValuationModel`
(exact TreeSHAP values, :func:`estimo.model.treeshap.tree_contributions`: LightGBM's
``pred_contrib`` numbers, faster with the ``fast`` extra; ``_time`` and ``_comparables`` are 0).

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> market = generate_market(1_000, seed=1, faults=False)
>>> model = ValuationModel(n_estimators=20).fit(market.frame)
>>> contrib = contributions_from_booster(model, market.frame.head(3))
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
from estimo.model.treeshap import tree_contributions

__all__ = [
    "CONTRACT_COLUMNS",
    "check_contributions",
    "contributions_from_booster",
    "feature_names",
    "log_contributions",
]


def contributions_from_booster(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Contribution frame of a fitted :class:`~estimo.model.valuation.ValuationModel`.

    Parameters
    ----------
    model : ValuationModel
        Fitted (has ``booster_`` and ``feature_spec_``).
    frame : pandas.DataFrame
        Canonical rows to explain.

    Returns
    -------
    pandas.DataFrame
        Same index as ``frame``: one column per model feature, then ``_base``, ``_time``
        (0) and ``_comparables`` (0).
    """
    model._check_fitted()
    names = list(model.booster_.feature_name())
    if len(frame) == 0:
        return pd.DataFrame(columns=[*names, *CONTRACT_COLUMNS], dtype=float)
    raw = np.asarray(tree_contributions(model.booster_, model.model_matrix(frame)), dtype=float)
    out = pd.DataFrame(raw[:, :-1], columns=names, index=frame.index)
    out["_base"] = raw[:, -1]
    out["_time"] = 0.0
    out["_comparables"] = 0.0
    return out


def log_contributions(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's contribution frame of any supported model.

    Uses ``model.log_contributions(frame)`` when the model has it (the engine), else
    :func:`contributions_from_booster`.

    Raises
    ------
    EstimoError
        If the model offers neither, or its frame breaks the contract.
    """
    if hasattr(model, "log_contributions"):
        out = model.log_contributions(frame)
    elif hasattr(model, "booster_"):
        out = contributions_from_booster(model, frame)
    else:
        raise EstimoError(
            f"cannot explain a {type(model).__name__}: expected a model with "
            "log_contributions(frame) or a LightGBM booster_"
        )
    missing = [c for c in CONTRACT_COLUMNS if c not in out.columns]
    if missing:
        raise EstimoError(
            f"contribution frame lacks column(s) {missing!r}; the contract needs "
            f"{list(CONTRACT_COLUMNS)!r} besides one column per feature"
        )
    return out


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
