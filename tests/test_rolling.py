"""Rolling-origin backtest: origins, model ages, no leakage, retraining advice, files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError
from estimo.evaluate.rolling import (
    retrain_advice,
    rolling_cutoffs,
    run_rolling_backtest,
    write_rolling,
)
from estimo.model.valuation import ValuationModel


def small_model() -> ValuationModel:
    return ValuationModel(n_estimators=20, learning_rate=0.2, num_leaves=15, n_jobs=1)


@pytest.fixture(scope="module")
def result(clean_market):
    return run_rolling_backtest(
        clean_market.frame, n_origins=3, horizon=2, factory=small_model, min_group_size=20
    )


@pytest.mark.parametrize(
    ("n_origins", "horizon", "expected"),
    [
        (3, 1, ["2023-10", "2023-11", "2023-12"]),
        (2, 3, ["2023-09", "2023-10"]),
        (1, 12, ["2023-01"]),
    ],
)
def test_rolling_cutoffs(n_origins, horizon, expected):
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", "2023-12-31", freq="D")})
    assert [f"{c:%Y-%m}" for c in rolling_cutoffs(frame, n_origins, horizon)] == expected


@pytest.mark.parametrize(("n_origins", "horizon"), [(1, 30), (0, 1), (2, -1)])
def test_rolling_cutoffs_reject_impossible_settings(n_origins, horizon):
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", "2023-12-31", freq="D")})
    with pytest.raises(DataError):
        rolling_cutoffs(frame, n_origins, horizon)


def test_one_model_per_origin_and_ages_within_horizon(result):
    preds = result.predictions
    assert len(result.cutoffs) == 3 and set(preds["origin"]) == set(result.cutoffs)
    assert set(preds["horizon"]) == {1, 2}
    months_after = (preds["date"].dt.year - preds["origin"].dt.year) * 12 + (
        preds["date"].dt.month - preds["origin"].dt.month
    )
    assert (months_after + 1 == preds["horizon"]).all()


def test_no_test_property_was_seen_before_its_origin(result, clean_market):
    frame = clean_market.frame
    for cutoff, part in result.predictions.groupby("origin"):
        seen = set(frame.loc[frame["date"] < cutoff, "id"])
        assert not set(part["id"]) & seen
        assert part["id"].is_unique


def test_tables_by_age_city_and_origin(result):
    assert [str(h) for h in result.by_horizon["horizon"]] == ["1", "2", "(all)"]
    assert {"Milano", "Roma"} <= set(result.by_city["city"])
    assert len(result.by_origin) == 3 * 2
    assert np.isfinite(result.advice["overall"]["pe10_change_per_month"])


@pytest.mark.parametrize(
    ("pe10", "every", "beyond"),
    [
        ([0.60, 0.59, 0.58, 0.57], 3, False),  # -1 point / month: 2 points after 2 months
        ([0.60, 0.55, 0.50, 0.45], 1, False),
        ([0.60, 0.60, 0.61, 0.60], 4, True),
        ([0.60, 0.595, 0.59, 0.585], 4, True),
    ],
)
def test_retrain_advice(pe10, every, beyond):
    table = pd.DataFrame(
        {"horizon": [1, 2, 3, 4, "(all)"], "too_small": [False] * 5, "pe10": [*pe10, 0.0]}
    )
    advice = retrain_advice(table, tolerance=0.02)
    assert advice["retrain_every_months"] == every
    assert advice["beyond_horizon"] is beyond


def test_retrain_advice_ignores_too_small_ages():
    table = pd.DataFrame(
        {"horizon": [1, 2, "(all)"], "too_small": [False, True, False], "pe10": [0.6, 0.1, 0.5]}
    )
    advice = retrain_advice(table)
    assert advice["pe10_by_age"] == {1: 0.6} and np.isnan(advice["pe10_change_per_month"])


def test_write_rolling(result, tmp_path):
    paths = write_rolling(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["horizon"] == 2 and len(data["cutoffs"]) == 3
    html = paths["html"].read_text()
    assert html.count("<polyline") >= 2 and "<script" not in html
    assert len(pd.read_parquet(paths["predictions"])) == len(result.predictions)


def test_explicit_cutoffs_and_default_factory(clean_market):
    result = run_rolling_backtest(
        clean_market.frame,
        cutoffs=["2023-11-01"],
        horizon=1,
        model_params={"n_estimators": 10, "n_jobs": 1},
        min_group_size=10,
    )
    assert [f"{c:%Y-%m-%d}" for c in result.cutoffs] == ["2023-11-01"]
    assert set(result.predictions["horizon"]) == {1}
