"""The cleaning's shortcuts for few rows give what the general path gives.

A fitted policy keeps its region table as arrays (not saved, not a parameter), the amenity
columns and missing indicators of a row without text are added in one step, cities are
looked up in a dict for a few rows, and years are read from dates by numpy: each is checked
here against the path it shortens, and one row cleaned alone against the same row cleaned
in a batch.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from estimo.bundle_folder import BundleFolder
from estimo.frames import frame_of
from estimo.quality.clean import CleaningPolicy, CleanResult
from estimo.quality.rules.location import RegionIndex
from estimo.quality.rules.validity import _years
from estimo.synth import SyntheticMarket


@pytest.fixture(scope="module")
def policy(market: SyntheticMarket) -> CleaningPolicy:
    return CleaningPolicy().fit(market.frame)


def _gappy(market: SyntheticMarket, n: int = 40) -> pd.DataFrame:
    """Rows with missing fields, text in a numeric column, an unseen city, swapped and
    zero coordinates, and no descriptions on some rows."""
    frame = market.frame.iloc[:n].copy().reset_index(drop=True)
    rng = np.random.default_rng(7)
    for column in ("area_m2", "rooms", "year_built", "condition", "neighbourhood", "lat"):
        frame.loc[rng.random(n) < 0.2, column] = None
    frame["rooms"] = frame["rooms"].astype(object)
    frame.loc[3, "rooms"] = "three"
    frame.loc[5, "city"] = "Atlantis"
    frame.loc[7, ["lat", "lon"]] = frame.loc[7, ["lon", "lat"]].to_numpy()
    frame.loc[9, ["lat", "lon"]] = 0.0
    frame.loc[11, "year_built"] = 0.0
    frame.loc[rng.random(n) < 0.5, "description"] = None
    return frame


def _assert_same(a: CleanResult, b: CleanResult) -> None:
    assert_frame_equal(a.frame, b.frame, check_exact=True)
    assert list(a.frame.dtypes) == list(b.frame.dtypes)
    assert_frame_equal(a.changes, b.changes, check_exact=True)
    assert_frame_equal(a.dropped, b.dropped, check_exact=True)
    assert a.warnings == b.warnings
    assert a.summary == b.summary


def test_one_row_alone_is_that_row_of_the_batch(policy, market):
    frame = _gappy(market)
    batch = policy.transform(frame, mode="predict")
    for i in range(len(frame)):
        alone = policy.transform(frame.iloc[[i]], mode="predict")
        expected = batch.frame.iloc[[i]].reset_index(drop=True)
        assert_frame_equal(alone.frame, expected, check_exact=True, check_dtype=False)
        assert alone.warnings == [batch.warnings[i]]
        logged = batch.changes[batch.changes["row"] == i].assign(row=0)
        assert_frame_equal(
            alone.changes.reset_index(drop=True),
            logged.reset_index(drop=True),
            check_exact=True,
            check_dtype=False,
        )


def test_a_saved_policy_cleans_as_the_fitted_one(policy, market, tmp_path):
    folder = BundleFolder(str(tmp_path / "policy"))
    loaded = CleaningPolicy.from_bundle(folder, policy.to_bundle(folder))
    frame = _gappy(market)
    _assert_same(policy.transform(frame), loaded.transform(frame))
    for i in (0, 3, 5, 7, 9, 11):
        _assert_same(policy.transform(frame.iloc[[i]]), loaded.transform(frame.iloc[[i]]))


def test_what_a_policy_keeps_is_no_parameter_and_not_pickled(policy, market):
    params = policy.get_params()
    policy.transform(market.frame.iloc[[0]])
    assert "_regions_read" in vars(policy)
    assert policy.get_params() == params
    again = pickle.loads(pickle.dumps(policy))
    assert "_regions_read" not in vars(again)
    _assert_same(policy.transform(market.frame.iloc[[1]]), again.transform(market.frame.iloc[[1]]))


def test_a_new_region_table_is_read_anew(market):
    policy = CleaningPolicy().fit(market.frame)
    row = market.frame.iloc[[0]].copy()
    row[["lat", "lon"]] = row[["lon", "lat"]].to_numpy()
    swapped = "latitude and longitude were swapped; swapped back"
    assert swapped in policy.transform(row).warnings[0]
    policy.regions_ = policy.regions_.iloc[:0]  # a table without cities: nothing to locate
    assert swapped not in policy.transform(row).warnings[0]
    assert policy._region_index().regions is policy.regions_


@pytest.mark.parametrize("rows", [[0], [3], [5], list(range(40))])
@pytest.mark.parametrize("text", [False, True])
def test_amenities_and_indicators_in_one_step_as_in_two(policy, market, rows, text, monkeypatch):
    frame = _gappy(market).iloc[rows]
    if not text:
        frame = frame.assign(description=None)
    fast = policy.transform(frame)
    monkeypatch.setattr(CleaningPolicy, "_marks_with_text", lambda self, data, plan: None)
    _assert_same(fast, policy.transform(frame))


@pytest.mark.parametrize(
    "cities",
    [
        ["Milano", None, "Atlantis"],
        [3, "Milano", np.nan],
        ["Milano"] * 300,  # more rows than the dict look-up serves
        [],
    ],
)
def test_city_positions_are_pandas_positions(policy, cities):
    index = RegionIndex.of(policy.regions_)
    values = np.array(cities, dtype=object)
    expected = pd.Index(policy.regions_.index).get_indexer(values)
    assert index.positions(values).tolist() == expected.tolist()


def test_years_read_by_numpy_are_pandas_years():
    dates = pd.to_datetime(
        [
            "1677-09-22",
            "1899-12-31 23:59:59.999999999",
            "1969-12-31 23:59",
            "1970-01-01",
            "2024-02-29",
            "2262-04-11",
            None,
        ],
        format="mixed",
    ).astype("datetime64[ns]")  # a prepared frame's dates
    frame = pd.DataFrame({"date": dates})
    assert frame["date"].dtype == "datetime64[ns]"
    expected = frame["date"].dt.year.to_numpy(float)
    np.testing.assert_array_equal(_years(frame), expected)
    aware = frame.assign(date=frame["date"].dt.tz_localize("UTC"))
    np.testing.assert_array_equal(_years(aware), expected)


def test_frames_of_the_same_columns_share_no_name():
    one = frame_of({"a": np.array([1.0]), "b": np.array([2.0])}, 1)
    two = frame_of({"a": np.array([3.0]), "b": np.array([4.0])}, 1)
    one.columns.name = "mine"
    assert two.columns.name is None
    assert two.columns.equals(pd.Index(["a", "b"])) and two.columns.dtype == pd.Index(["a"]).dtype
