"""The hedonic reference model: estimator contract, accuracy floor, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError, NotFittedError
from estimo.evaluate.metrics import mdape
from estimo.evaluate.reference import HedonicReference
from estimo.split import out_of_time_split


@pytest.fixture(scope="module")
def split(clean_market):
    return out_of_time_split(clean_market.frame, "2023-07-01")


@pytest.fixture(scope="module")
def fitted(split):
    return HedonicReference().fit(split.train)


def test_init_only_stores_parameters():
    model = HedonicReference(alpha=2.0, trend=False)
    assert model.get_params() == {"alpha": 2.0, "trend": False}
    assert not [k for k in vars(model) if k.endswith("_")]


def test_fit_returns_self_and_learns_attributes(split):
    model = HedonicReference()
    assert model.fit(split.train) is model
    assert model.coef_.ndim == 1 and model.cities_


def test_beats_city_median_per_m2_baseline(split, fitted):
    test = split.test
    per_m2 = (split.train["price"] / split.train["area_m2"]).groupby(split.train["city"]).median()
    naive = test["city"].map(per_m2) * test["area_m2"].fillna(80.0)
    model_error = mdape(test["price"], fitted.predict(test))
    assert model_error < 0.9 * mdape(test["price"], naive)
    assert model_error < 0.2


@pytest.mark.parametrize(
    "change",
    [
        {"area_m2": np.nan},
        {"rooms": np.nan},
        {"year_built": np.nan},
        {"year_built": 0.0},
        {"neighbourhood": None},
        {"neighbourhood": "never-seen"},
        {"property_type": "castle"},
        {"city": "Atlantis"},
        {"date": pd.Timestamp("2030-01-01")},
    ],
)
def test_values_rows_with_missing_or_unknown_values(split, fitted, change):
    rows = split.test.head(20).assign(**change)
    predicted = fitted.predict(rows)
    assert np.isfinite(predicted).all() and (predicted > 0).all()


@pytest.mark.parametrize("dropped", [["area_m2"], ["rooms", "year_built"], ["neighbourhood"]])
def test_trains_and_values_without_optional_columns(split, dropped):
    model = HedonicReference().fit(split.train.drop(columns=dropped))
    predicted = model.predict(split.test.head(10).drop(columns=dropped))
    assert np.isfinite(predicted).all()


def test_sample_weight_changes_the_fit(split):
    weights = np.where(split.train["city"] == "Milano", 5.0, 1.0)
    plain = HedonicReference().fit(split.train).predict(split.test.head(5))
    weighted = (
        HedonicReference().fit(split.train, sample_weight=weights).predict(split.test.head(5))
    )
    assert not np.allclose(plain, weighted)


def test_unfitted_use_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        HedonicReference().predict(pd.DataFrame({"city": ["a"], "date": [pd.Timestamp(0)]}))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"city": ["a"], "date": [pd.Timestamp("2024-01-01")]}), "'price'"),
        (
            pd.DataFrame({"city": ["a"], "date": [pd.Timestamp("2024-01-01")], "price": [-5.0]}),
            "-5.0",
        ),
        (pd.DataFrame({"price": [5.0], "date": [pd.Timestamp("2024-01-01")]}), "'city'"),
    ],
)
def test_bad_training_frames_name_the_problem(frame, message):
    with pytest.raises(DataError, match=message):
        HedonicReference().fit(frame)


def test_negative_alpha_is_rejected(split):
    with pytest.raises(DataError, match="alpha"):
        HedonicReference(alpha=-1.0).fit(split.train)
