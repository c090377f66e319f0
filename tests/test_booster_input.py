"""The frame conversion for LightGBM predictions gives LightGBM's own numbers, bit for bit."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.model.booster_input import FrameConverter, booster_matrix, booster_predict

TYPES = ["flat", "house", "loft"]


def _training_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "area": rng.uniform(20, 200, n),
            "rooms": rng.integers(1, 6, n),
            "small": rng.uniform(0, 1, n).astype(np.float32),
            "garden": rng.random(n) < 0.3,
            "type": pd.Categorical(rng.choice(TYPES, n), categories=TYPES),
        }
    )
    y = np.log(frame["area"]) + 0.1 * frame["rooms"] + 0.2 * (frame["type"] == "house")
    return frame, y.to_numpy()


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    frame, y = _training_frame()
    params = {"verbose": -1, "min_data_in_leaf": 5, "min_data_per_group": 5, "cat_smooth": 1}
    return lgb.train(params, lgb.Dataset(frame, y), num_boost_round=30)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    order=st.permutations([*TYPES, "castle"]),
    missing=st.booleans(),
)
def test_predictions_equal_lightgbm_own_conversion(booster, n, seed, order, missing) -> None:
    # categories in another order, an unseen category and missing values: all as LightGBM
    frame, _ = _training_frame(n, seed)
    rng = np.random.default_rng(seed)
    values = rng.choice(order, n).astype(object)
    if missing:
        values[rng.random(n) < 0.3] = None
    frame["type"] = pd.Categorical(values, categories=order)
    np.testing.assert_array_equal(booster_predict(booster, frame), booster.predict(frame))


def test_float32_only_frames_give_the_same_numbers() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.normal(size=300).astype(np.float32), "b": rng.integers(0, 9, 300).astype(np.int8)}
    )
    y = frame["a"].to_numpy(float) * 3 + frame["b"].to_numpy()
    model = lgb.train({"verbose": -1}, lgb.Dataset(frame, y), num_boost_round=10)
    rows = frame.head(50)
    assert booster_matrix(model, rows) is not None
    np.testing.assert_array_equal(booster_predict(model, rows), model.predict(rows))


def test_missing_categories_become_nan_and_unseen_ones_too(booster) -> None:
    frame, _ = _training_frame(3)
    frame["type"] = pd.Categorical(["house", None, "castle"])
    matrix = booster_matrix(booster, frame)
    assert matrix is not None
    assert matrix[0, 4] == TYPES.index("house")
    assert np.isnan(matrix[1:, 4]).all()


def test_lightgbm_converts_what_this_cannot_promise(booster) -> None:
    frame, _ = _training_frame(5)
    nullable = frame.astype({"rooms": "Int64"})
    assert booster_matrix(booster, nullable) is None
    np.testing.assert_array_equal(booster_predict(booster, nullable), booster.predict(nullable))
    assert booster_matrix(booster, frame.iloc[:0]) is None
    # a frame without the categorical column: LightGBM raises its own error
    no_category = frame.assign(type=frame["type"].cat.codes)
    assert booster_matrix(booster, no_category) is None
    with pytest.raises(ValueError, match="categorical_feature do not match"):
        booster_predict(booster, no_category)


def test_category_maps_are_cached_per_categories_object() -> None:
    converter = FrameConverter([["a", "b"]])
    categories = pd.Index(["b", "a", "c"])
    first = converter._category_map(0, categories)
    assert converter._category_map(0, categories) is first
    np.testing.assert_array_equal(first, [1.0, 0.0, np.nan, np.nan])
