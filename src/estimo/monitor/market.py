"""Market drift: the price index re-fitted on recent outcomes against the model's index.

The model carries prices to the valuation date with its own index
(:class:`estimo.index.PriceIndex`, extrapolated past its training data). :func:`index_gap`
re-fits an index on the outcomes (appraisals and sales, with the served property's area
and coordinates as hedonic controls) and compares, per city and month, how much prices
moved since the first month of outcomes according to the outcomes and according to the
model: a city whose gap grows is drifting away from what the model assumes.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from estimo.index import PriceIndex
>>> rng = np.random.default_rng(0)
>>> months = pd.date_range("2023-01-01", periods=12, freq="MS")
>>> train = pd.DataFrame({"city": "Roma", "date": np.repeat(months, 100),
...                       "area_m2": 80.0, "price": 2e5 * rng.lognormal(0, 0.05, 1200)})
>>> model_index = PriceIndex(min_rows=50).fit(train)
>>> later = pd.date_range("2024-01-01", periods=4, freq="MS")
>>> rise = np.repeat(np.exp(0.02 * np.arange(4)), 200)
>>> outcomes = pd.DataFrame({"city": "Roma", "date": np.repeat(later, 200), "area_m2": 80.0,
...     "price": 2e5 * rise * rng.lognormal(0, 0.05, 800)})
>>> gap = index_gap(outcomes, model_index, min_rows=50)
>>> abs(float(gap.loc[gap["month"] == "2024-04", "gap"].iloc[0]) - 0.06) < 0.015
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.index import PriceIndex

__all__ = ["index_gap"]


def index_gap(
    outcomes: pd.DataFrame,
    model_index: PriceIndex,
    *,
    min_rows: int = 100,
    smoothing: float = 20.0,
) -> pd.DataFrame:
    """Per city and month: log index change since the first month, outcomes vs model.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        ``city``, ``date``, ``price`` and hedonic controls (``area_m2``, ``lat``, ``lon``).
    model_index : PriceIndex
        The fitted index of the model.
    min_rows : int
        Cities with fewer outcomes are not re-fitted.
    smoothing : float
        Ridge penalty on the re-fitted monthly steps.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``month`` (``YYYY-MM``), ``n`` (outcomes that month), ``observed``
        (re-fitted log change since the first month), ``model`` (the model's), ``gap``
        (observed - model).
    """
    columns = ["city", "month", "n", "observed", "model", "gap"]
    if outcomes.empty:
        return pd.DataFrame(columns=columns)
    refit = PriceIndex(smoothing=smoothing, min_rows=min_rows, trend_months=0).fit(outcomes)
    table = refit.table()
    counts = outcomes.assign(month=pd.to_datetime(outcomes["date"]).dt.strftime("%Y-%m"))
    counts = counts.groupby(["city", "month"]).size()
    parts = []
    for city in refit.cities_:
        rows = table.loc[table["city"] == city].sort_values("month")
        observed = rows["log_index"].to_numpy(float)
        observed = observed - observed[0]
        months = pd.to_datetime(rows["month"])
        level = model_index.log_level(np.array([city] * len(months), dtype=object), months)
        model = level - level[0]
        labels = months.dt.strftime("%Y-%m")
        parts.append(
            pd.DataFrame(
                {
                    "city": city,
                    "month": labels.to_numpy(),
                    "n": [int(counts.get((city, m), 0)) for m in labels],
                    "observed": observed,
                    "model": model,
                    "gap": observed - model,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
