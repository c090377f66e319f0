"""Agreement between appraisers, the model and sale prices.

* :func:`appraiser_vs_model`: per appraiser, how close the model was to the appraisal
  (MdAPE, PE10 and the median ratio valuation / appraisal);
* :func:`appraiser_vs_sale`: for properties with an appraisal and a later sale, how close
  the appraiser was to the sale, next to the model on the same properties.

Both keep small groups with ``too_small=True`` (the minimum-group rule).

Examples
--------
>>> import pandas as pd
>>> pairs = pd.DataFrame({"kind": ["appraisal"] * 3, "appraiser_id": ["A1", "A1", "A2"],
...     "actual": [100.0, 200.0, 300.0], "predicted": [105.0, 190.0, 390.0]})
>>> t = appraiser_vs_model(pairs, min_group_size=2)
>>> t[["appraiser_id", "n", "too_small"]].to_dict("list")
{'appraiser_id': ['A1', 'A2', '(all)'], 'n': [2, 1, 3], 'too_small': [False, True, False]}
>>> t["pe10"].round(3).tolist()
[1.0, nan, 0.667]
"""

from __future__ import annotations

import pandas as pd

from estimo.evaluate.segments import metrics_by_segment

__all__ = ["appraiser_vs_model", "appraiser_vs_sale"]

_COLUMNS = ["n", "too_small", "mdape", "pe10", "median_ratio"]


def appraiser_vs_model(pairs: pd.DataFrame, min_group_size: int = 30) -> pd.DataFrame:
    """Model valuations against appraisals, per appraiser (``appraiser_id``) and overall."""
    rows = pairs.loc[pairs["kind"] == "appraisal"].copy()
    rows["appraiser_id"] = rows["appraiser_id"].fillna("(unknown)")
    table = metrics_by_segment(
        rows,
        "appraiser_id",
        actual="actual",
        predicted="predicted",
        min_group_size=min_group_size,
    )
    return table[["appraiser_id", *_COLUMNS]]


def appraiser_vs_sale(
    pairs: pd.DataFrame, min_group_size: int = 30, match_days: int = 365
) -> pd.DataFrame:
    """Appraisals and model valuations against the sale that followed, per appraiser.

    Each sale is paired with the latest appraisal of the same property made on or before
    it, at most ``match_days`` earlier; the model valuation is the one the sale was paired
    with.

    Returns
    -------
    pandas.DataFrame
        ``appraiser_id``, then ``n``, ``too_small``, ``mdape``, ``pe10``, ``median_ratio``
        of the appraisals (``appraisal_`` prefix) and of the model (``model_`` prefix).
    """
    sales = pairs.loc[pairs["kind"] == "sale", ["property_id", "date", "actual", "predicted"]]
    appraisals = pairs.loc[
        pairs["kind"] == "appraisal", ["property_id", "date", "actual", "appraiser_id"]
    ].rename(columns={"actual": "appraisal", "date": "appraised_on"})
    sales = sales.dropna(subset=["property_id"]).sort_values("date")
    appraisals = appraisals.dropna(subset=["property_id"]).sort_values("appraised_on")
    columns = ["appraiser_id"] + [f"{w}_{c}" for w in ("appraisal", "model") for c in _COLUMNS]
    if sales.empty or appraisals.empty:
        return pd.DataFrame(columns=columns)
    both = pd.merge_asof(
        sales,
        appraisals,
        left_on="date",
        right_on="appraised_on",
        by="property_id",
        direction="backward",
        tolerance=pd.Timedelta(days=match_days),
    ).dropna(subset=["appraisal"])
    if both.empty:
        return pd.DataFrame(columns=columns)
    both["appraiser_id"] = both["appraiser_id"].fillna("(unknown)")
    by_appraiser = metrics_by_segment(
        both,
        "appraiser_id",
        actual="actual",
        predicted="appraisal",
        min_group_size=min_group_size,
    )
    by_model = metrics_by_segment(
        both,
        "appraiser_id",
        actual="actual",
        predicted="predicted",
        min_group_size=min_group_size,
    )
    out = pd.concat(
        [
            by_appraiser[["appraiser_id"]],
            by_appraiser[_COLUMNS].add_prefix("appraisal_"),
            by_model[_COLUMNS].add_prefix("model_"),
        ],
        axis=1,
    )
    return out[columns]
