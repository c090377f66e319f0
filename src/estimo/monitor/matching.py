"""Pair each outcome with the valuation it judges.

An outcome that names a ``request_id`` is paired with that request. Otherwise it is paired
with the latest valuation of the same ``property_id`` served on or before the outcome's
date, at most ``match_days`` earlier (an appraisal or a sale judges what the model said
before it). Outcomes with no such valuation are counted, not paired.

Examples
--------
>>> import pandas as pd
>>> vals = pd.DataFrame({"request_id": ["r1", "r2"], "property_id": ["P1", "P1"],
...     "served_at": pd.to_datetime(["2024-01-05", "2024-03-01"]), "price": [100.0, 110.0],
...     "low": [90.0, 99.0], "high": [110.0, 121.0], "city": ["Roma"] * 2,
...     "property_type": ["flat"] * 2, "model_version": ["v1"] * 2, "sub_model": ["g"] * 2})
>>> outs = pd.DataFrame({"kind": ["sale"], "property_id": ["P1"], "request_id": [None],
...     "price": [120.0], "date": pd.to_datetime(["2024-03-20"]), "appraiser_id": [None],
...     "source": ["notary"]})
>>> pairs, n_unmatched = match_outcomes(vals, outs, match_days=180)
>>> pairs[["request_id", "actual", "predicted", "month"]].to_dict("records")
[{'request_id': 'r2', 'actual': 120.0, 'predicted': 110.0, 'month': '2024-03'}]
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PAIR_COLUMNS", "match_outcomes"]

#: Columns of the paired table.
PAIR_COLUMNS: tuple[str, ...] = (
    "request_id",
    "served_at",
    "month",
    "city",
    "property_type",
    "model_version",
    "sub_model",
    "property_id",
    "predicted",
    "low",
    "high",
    "kind",
    "actual",
    "date",
    "appraiser_id",
    "source",
)
_VALUATION = [
    "request_id",
    "served_at",
    "city",
    "property_type",
    "model_version",
    "sub_model",
    "property_id",
    "price",
    "low",
    "high",
]
_OUTCOME_RENAMED = ["kind", "actual", "date", "appraiser_id", "source"]


def match_outcomes(
    valuations: pd.DataFrame, outcomes: pd.DataFrame, match_days: int = 180
) -> tuple[pd.DataFrame, int]:
    """Pair outcomes with served valuations (see the module docstring).

    Parameters
    ----------
    valuations : pandas.DataFrame
        :meth:`~estimo.monitor.store.ValuationStore.valuations_frame` output.
    outcomes : pandas.DataFrame
        :meth:`~estimo.monitor.store.ValuationStore.outcomes_frame` output.
    match_days : int
        Longest time from a valuation to the outcome that judges it.

    Returns
    -------
    (pandas.DataFrame, int)
        The pairs (:data:`PAIR_COLUMNS`; ``predicted`` is the valuation, ``actual`` the
        outcome's price, ``month`` the month the valuation was served, as ``YYYY-MM``) and
        the number of outcomes left unpaired.
    """
    vals = valuations[_VALUATION].rename(columns={"price": "predicted"})
    outs = outcomes.rename(columns={"price": "actual"})
    served_ids = set(vals["request_id"].tolist())
    by_request = outs["request_id"].map(served_ids.__contains__).fillna(False).astype(bool)
    direct = outs.loc[by_request, [*_OUTCOME_RENAMED, "request_id"]].merge(
        vals, on="request_id", how="inner"
    )
    rest = outs.loc[~by_request & outs["property_id"].notna()]
    properties = set(vals["property_id"].dropna().tolist())
    rest = rest.loc[rest["property_id"].map(properties.__contains__).astype(bool)]
    timed = pd.DataFrame(columns=direct.columns)
    if len(rest):
        left = rest[[*_OUTCOME_RENAMED, "property_id"]]
        # a date without a time of day (an appraisal "of 3 May") is the end of that day: it
        # pairs with the valuations served that day too
        dates = pd.to_datetime(left["date"])
        whole = dates == dates.dt.normalize()
        left = left.assign(
            _at=dates.where(~whole, dates + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
        ).sort_values("_at")
        right = vals.loc[vals["property_id"].notna()].sort_values("served_at")
        timed = pd.merge_asof(
            left,
            right,
            left_on="_at",
            right_on="served_at",
            by="property_id",
            direction="backward",
            tolerance=pd.Timedelta(days=match_days),
        )
        timed = timed.loc[timed["request_id"].notna()].drop(columns="_at")
    parts = [p for p in (direct, timed) if len(p)]
    pairs = pd.concat(parts, ignore_index=True) if parts else direct.iloc[0:0]
    pairs["month"] = pd.to_datetime(pairs["served_at"]).dt.strftime("%Y-%m")
    for column in ("predicted", "actual", "low", "high"):
        pairs[column] = pd.to_numeric(pairs[column], errors="coerce").astype(float)
    pairs = pairs[list(PAIR_COLUMNS)].sort_values(["served_at", "request_id"], kind="stable")
    return pairs.reset_index(drop=True), int(len(outcomes) - len(pairs))
