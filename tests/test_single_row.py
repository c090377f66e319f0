"""LightGBM's single-row fast prediction gives Booster.predict's numbers, bit for bit."""

from __future__ import annotations

import gc
import threading

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.model import single_row
from estimo.model.booster_input import booster_predict
from estimo.model.single_row import predict_one_row


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """A small booster on 4 numeric features and one categorical (codes 0-4), with NaNs."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 5))
    X[:, 4] = rng.integers(0, 5, 600)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 4]) + rng.normal(size=600)
    data = lgb.Dataset(X, y, categorical_feature=[4])
    return lgb.train({"verbose": -1, "num_leaves": 15}, data, 40)


row_values = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan"))),
    min_size=5,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(values=row_values, category=st.sampled_from([0.0, 1.0, 4.0, 7.0, float("nan")]))
def test_one_row_is_predicted_as_booster_predict_does(booster, values, category):
    row = np.array([values[:4] + [category]])
    expected = booster.predict(row, num_threads=1)
    assert predict_one_row(booster, row).tobytes() == expected.tobytes()
    assert booster_predict(booster, row).tobytes() == expected.tobytes()


def test_other_shapes_take_the_usual_call(booster):
    rows = np.random.default_rng(0).normal(size=(3, 5))
    assert predict_one_row(booster, rows).tolist() == booster.predict(rows).tolist()
    with pytest.raises(lgb.basic.LightGBMError, match="number of features"):
        predict_one_row(booster, rows[:1, :3])


def test_a_busy_config_falls_back_to_the_usual_call(booster):
    row = np.zeros((1, 5))
    predict_one_row(booster, row)  # the config exists now
    config = single_row._CONFIGS[booster]
    with config.lock:  # another thread is predicting with it
        assert predict_one_row(booster, row).tolist() == booster.predict(row).tolist()


def test_threads_predicting_at_once_get_their_own_numbers(booster):
    rows = np.random.default_rng(1).normal(size=(400, 5))
    expected = booster.predict(rows, num_threads=1)
    got = np.empty(len(rows))

    def work(part: range) -> None:
        for i in part:
            got[i] = predict_one_row(booster, rows[i : i + 1])[0]

    threads = [threading.Thread(target=work, args=(range(k, 400, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got.tobytes() == expected.tobytes()


def test_the_config_goes_with_its_booster():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    temporary = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), 3)
    predict_one_row(temporary, X[:1])
    config = single_row._CONFIGS[temporary]
    assert config is not None and config.handle
    del temporary
    gc.collect()
    assert not config.handle  # freed once the booster is gone
