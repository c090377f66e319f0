"""Staleness: how old the served model is, against how fast models went stale in backtests.

The rolling backtest (:mod:`estimo.evaluate.rolling`, ``estimo backtest --rolling``) measures
how PE10 decays with model age and advises a retraining period, overall and per city.
:func:`staleness` sets the served model's age (months from the end of its training data to
the newest valuation) against that advice.

Examples
--------
>>> import pandas as pd
>>> advice = {"overall": {"retrain_every_months": 4, "pe10_change_per_month": -0.01},
...           "by_city": {"Roma": {"retrain_every_months": 2, "pe10_change_per_month": -0.02}}}
>>> t = staleness(advice, pd.Timestamp("2024-01-31"), pd.Timestamp("2024-05-10"), ["Roma", "Bari"])
>>> t[["city", "age_months", "retrain_every_months", "stale"]].to_dict("records")[0]
{'city': 'Roma', 'age_months': 4, 'retrain_every_months': 2, 'stale': True}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["staleness"]


def _months_between(start: pd.Timestamp, end: pd.Timestamp) -> int:
    return max((end.year - start.year) * 12 + (end.month - start.month), 0)


def staleness(
    advice: Mapping[str, Any],
    trained_until: pd.Timestamp,
    as_of: pd.Timestamp,
    cities: Iterable[str],
) -> pd.DataFrame:
    """Per city (city advice, else the overall one): age, retraining period, staleness.

    Parameters
    ----------
    advice : mapping
        The ``advice`` of a :class:`~estimo.evaluate.rolling.RollingResult` (``overall`` and
        ``by_city``, each with ``retrain_every_months`` and ``pe10_change_per_month``).
    trained_until : Timestamp
        End of the served model's training data.
    as_of : Timestamp
        Date of the newest valuation.
    cities : iterable of str
        Cities to report.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``age_months``, ``retrain_every_months``, ``expected_pe10_loss`` (the
        backtest's decay per month times the months past age 1, at most the ages it
        measured, within [0, 1]), ``stale`` (older than the advice, when the backtest
        measured a decay within its horizon).
    """
    age = _months_between(pd.Timestamp(trained_until), pd.Timestamp(as_of))
    overall = advice.get("overall", {}) or {}
    rows = []
    for city in cities:
        city_advice = (advice.get("by_city", {}) or {}).get(city) or overall
        every = city_advice.get("retrain_every_months", float("nan"))
        slope = city_advice.get("pe10_change_per_month", float("nan"))
        known = every is not None and not (isinstance(every, float) and math.isnan(every))
        measured = [int(a) for a in (city_advice.get("pe10_by_age") or {})]
        longest = max(measured) if measured else age
        # the backtest's decay holds over the ages it measured: never extrapolated beyond
        # them, and a loss is a share of the valuations (within [0, 1])
        months = min(max(age - 1, 0), max(longest - 1, 0))
        loss = -float(slope) * months if slope is not None else float("nan")
        if not math.isnan(loss):
            loss = min(max(loss, 0.0), 1.0)
        beyond = bool(city_advice.get("beyond_horizon", False))
        # no decay measured within the backtest's horizon says nothing of a model older than
        # every age it measured (43 months against a horizon of 2): stale, as unmeasured
        unmeasured = bool(known and beyond and measured and age > longest)
        rows.append(
            {
                "city": city,
                "age_months": age,
                "retrain_every_months": int(every) if known else None,
                "expected_pe10_loss": loss,
                "stale": bool(known and ((not beyond and age > int(every)) or unmeasured)),
                "measured_up_to_months": longest if measured else None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "city",
            "age_months",
            "retrain_every_months",
            "expected_pe10_loss",
            "stale",
            "measured_up_to_months",
        ],
    )
