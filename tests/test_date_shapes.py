"""Every shape of dates: monthly, quarterly snapshots, a growing last month, no date at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from estimo.errors import DataError
from estimo.model.avm import AVM
from estimo.split import property_folds

FAST = {"n_estimators": 25, "learning_rate": 0.2, "min_city_rows": 300, "comps_k": 5}


def _quarterly(frame: pd.DataFrame) -> pd.DataFrame:
    """Snapshots at the start of each quarter, the last holding a third of the rows."""
    out = frame.copy()
    quarters = out["date"].dt.to_period("Q").dt.to_timestamp()
    last = quarters.max()
    rng = np.random.default_rng(0)
    out["date"] = quarters.where(rng.random(len(out)) > 0.25, last)
    return out


def _undated(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop_duplicates("id").copy()
    out["date"] = pd.Timestamp("2024-01-01")
    return out


@pytest.mark.parametrize(
    ("shape", "kind"),
    [(_quarterly, "out of time"), (_undated, "random hold-out fold")],
)
def test_engine_trains_on_every_shape_of_dates(clean_market, shape, kind) -> None:
    frame = shape(clean_market.frame)
    avm = AVM(**FAST).fit(frame)
    assert avm.validation_["kind"] == kind
    assert avm.validation_["n"] >= 30
    table = avm.predict_table(frame.tail(200))
    ape = np.abs(table["predicted"].to_numpy() / frame.tail(200)["price"].to_numpy() - 1)
    assert np.median(ape) < 0.2
    assert (table["low"] <= table["high"]).all()


def test_quarterly_validation_slice_is_the_last_snapshot(clean_market) -> None:
    frame = _quarterly(clean_market.frame)
    avm = AVM(**FAST)
    held = avm._validation_split(frame)
    assert held.test["date"].nunique() == 1
    assert held.test["date"].iloc[0] == frame["date"].max()


def test_spatial_holdout_keeps_cells_together(clean_market) -> None:
    frame = _undated(clean_market.frame)
    folds = property_folds(frame, 5, spatial=True, seed=0)
    random = property_folds(frame, 5, seed=0)
    xy = frame[["lat", "lon"]].to_numpy()
    _, near = cKDTree(xy).query(xy, k=6)

    def same_fold_share(f: np.ndarray) -> float:
        return float((f[near[:, 1:]] == f[:, None]).mean())

    # a property's nearest neighbours are held out with it in spatial folds, not in random ones
    assert same_fold_share(folds) > 0.7
    assert same_fold_share(random) < 0.3
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3, 4]
    avm = AVM(**FAST, holdout="spatial").fit(frame)
    assert avm.validation_["kind"] == "spatial hold-out fold"


def test_property_folds_need_two() -> None:
    with pytest.raises(ValueError, match="at least 2 folds"):
        property_folds(pd.DataFrame({"id": ["a"]}), 1)


def test_a_slice_longer_than_the_data_falls_back_to_a_holdout(clean_market) -> None:
    avm = AVM(**FAST, validation_months=30).fit(clean_market.frame)
    assert avm.validation_["kind"] == "random hold-out fold"


def test_too_few_properties_is_a_clear_error(clean_market) -> None:
    with pytest.raises(DataError, match=r"validation fold \(1 of 5, random\) holds \d+ properties"):
        AVM(**FAST).fit(_undated(clean_market.frame).head(100))


def test_undated_near_duplicates_need_the_same_price() -> None:
    from estimo.config import DuplicateRules
    from estimo.quality.rules.duplicates import near_duplicates

    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "city": ["X"] * 3,
            "lat": [45.0] * 3,
            "lon": [9.0] * 3,
            "area_m2": [60.0] * 3,
            "rooms": [2.0] * 3,
            "floor": [1.0] * 3,
            "price": [1e5, 1e5, 1.2e5],
            "date": pd.Timestamp("2024-01-01"),
        }
    )
    dated = near_duplicates(frame, DuplicateRules())
    undated = near_duplicates(frame, DuplicateRules(), same_price=True)
    assert dated.sum() == 2  # every other id within the window
    assert undated.tolist() == [False, True, False]  # the same flat twice; c is another flat
