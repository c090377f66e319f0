"""Blend weights: shrinkage to the model, learning from validation rows, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError, NotFittedError
from estimo.evaluate.metrics import mdape
from estimo.model.blend import QUALITY_FEATURES, BlendWeights, blend_log
from estimo.model.comps import ComparablesFinder
from estimo.model.valuation import ValuationModel
from estimo.split import default_cutoff, out_of_time_split
from estimo.synth import generate_market


def quality_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "n_comps": rng.integers(0, 9, n),
            "median_distance_m": rng.uniform(50, 5000, n),
            "dispersion": rng.uniform(0.0, 0.25, n),
            "mean_similarity": rng.uniform(0.02, 0.7, n),
        }
    )


def synthetic_validation(n: int = 2000, comps_noise: float = 0.05, seed: int = 0):
    """Comparables whose error grows with distance and dispersion; model error 0.10."""
    rng = np.random.default_rng(seed)
    quality = quality_table(n, seed)
    truth = rng.normal(12.5, 0.5, n)
    model_log = truth + rng.normal(0, 0.10, n)
    sd = comps_noise * (1 + quality["median_distance_m"] / 1000 + 10 * quality["dispersion"])
    comps_log = truth + rng.normal(0, 1, n) * sd.to_numpy()
    comps_log[quality["n_comps"].to_numpy() == 0] = np.nan
    return quality, model_log, comps_log, truth


@pytest.fixture(scope="module")
def fitted() -> BlendWeights:
    quality, m, c, y = synthetic_validation()
    return BlendWeights().fit(quality, m, c, y)


@pytest.mark.parametrize(
    ("n_comps", "comps_log", "expected_zero"),
    [(0, np.nan, True), (2, 12.0, True), (3, np.nan, True), (3, 12.0, False), (8, 12.0, False)],
)
def test_weight_is_zero_without_enough_comparables(
    fitted: BlendWeights, n_comps: int, comps_log: float, expected_zero: bool
) -> None:
    quality = pd.DataFrame(
        {
            "n_comps": [n_comps],
            "median_distance_m": [300.0],
            "dispersion": [0.02],
            "mean_similarity": [0.5],
        }
    )
    weight = fitted.weight(quality, comps_log=[comps_log])
    assert bool(weight[0] == 0.0) is expected_zero
    final, _ = fitted.blend([12.3], [comps_log], quality)
    if expected_zero:
        assert final[0] == 12.3


@pytest.mark.parametrize(
    ("column", "values", "direction"),
    [
        ("median_distance_m", [100.0, 1000.0, 4000.0, 50_000.0], "down"),
        ("dispersion", [0.0, 0.05, 0.2, 1.0], "down"),
        ("n_comps", [3, 5, 8, 20], "up"),
        ("mean_similarity", [0.01, 0.1, 0.4, 0.9], "up"),
    ],
)
def test_weight_is_monotone_in_comparables_quality(
    fitted: BlendWeights, column: str, values: list, direction: str
) -> None:
    base = {"n_comps": 8, "median_distance_m": 800.0, "dispersion": 0.05, "mean_similarity": 0.3}
    quality = pd.DataFrame([{**base, column: v} for v in values])
    weight = fitted.weight(quality)
    steps = np.diff(weight)
    assert (steps <= 1e-12).all() if direction == "down" else (steps >= -1e-12).all()
    assert weight.min() >= 0.0 and weight.max() <= fitted.w_max


def test_far_comparables_weigh_almost_nothing(fitted: BlendWeights) -> None:
    quality = pd.DataFrame(
        {
            "n_comps": [8, 8],
            "median_distance_m": [200.0, 4_900.0],
            "dispersion": [0.02, 0.2],
            "mean_similarity": [0.6, 0.03],
        }
    )
    near, far = fitted.weight(quality)
    assert near > 0.3
    assert far < 0.1


@pytest.mark.parametrize(("comps_noise", "high"), [(0.02, True), (1.0, False)])
def test_weight_follows_comparables_accuracy(comps_noise: float, high: bool) -> None:
    quality, m, c, y = synthetic_validation(comps_noise=comps_noise, seed=3)
    blend = BlendWeights().fit(quality, m, c, y)
    usable = quality["n_comps"] >= 3
    mean_weight = blend.weight(quality)[usable].mean()
    assert (mean_weight > 0.4) if high else (mean_weight < 0.05)
    assert blend.mae_blend_ <= blend.mae_model_ * 1.001


def test_blend_is_additive_in_log() -> None:
    model_log = np.array([12.0, 11.0, 13.0])
    comps_log = np.array([12.5, np.nan, 12.0])
    weight = np.array([0.4, 0.7, 0.0])
    final = blend_log(model_log, comps_log, weight)
    np.testing.assert_allclose(final - model_log, [0.4 * 0.5, 0.0, 0.0])


def test_json_round_trip(fitted: BlendWeights) -> None:
    saved = json.loads(json.dumps(fitted.to_dict(), allow_nan=False))
    loaded = BlendWeights.from_dict(saved)
    quality = quality_table(200, seed=9)
    np.testing.assert_allclose(loaded.weight(quality), fitted.weight(quality), rtol=1e-12)
    assert loaded.get_params() == fitted.get_params()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "something/else"}, "format"),
        ([1, 2], "format"),
        ({"format": "estimo.BlendWeights/1", "features": ["n_comps"]}, "features"),
    ],
)
def test_from_dict_rejects_foreign_data(data, message: str) -> None:
    with pytest.raises(DataError, match=message):
        BlendWeights.from_dict(data)


def test_too_few_validation_rows_means_model_only() -> None:
    quality, m, c, y = synthetic_validation(n=20)
    blend = BlendWeights(min_rows=30).fit(quality, m, c, y)
    assert (blend.weight(quality) < 1e-9).all()


@pytest.mark.parametrize(("params", "field"), [({"w_max": 1.5}, "w_max"), ({"l2": -1.0}, "l2")])
def test_bad_settings_name_the_parameter(params: dict, field: str) -> None:
    quality, m, c, y = synthetic_validation(n=100)
    with pytest.raises(DataError, match=field):
        BlendWeights(**params).fit(quality, m, c, y)


def test_missing_quality_column_is_named(fitted: BlendWeights) -> None:
    with pytest.raises(DataError, match="dispersion"):
        fitted.weight(quality_table(5).drop(columns="dispersion"))


def test_unfitted_blend_raises() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        BlendWeights().weight(quality_table(3))


def test_blend_on_held_out_rows_is_not_worse_than_the_model() -> None:
    """Weights learned on a validation slice before the cut-off, scored after it."""
    frame = generate_market(4_000, seed=31, faults=False).frame
    split = out_of_time_split(frame, "2023-07-01")
    inner = out_of_time_split(split.train, default_cutoff(split.train, 0.25))
    params = {"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 31, "n_jobs": 1}

    def values(train: pd.DataFrame, rows: pd.DataFrame):
        model = ValuationModel(**params).fit(train)
        model_log = model.predict_log(rows)
        summary = ComparablesFinder().fit(train).value(rows, model, subject_log=model_log)
        return model_log, summary.summary

    val_model, val_summary = values(inner.train, inner.test)
    blend = BlendWeights().fit(
        val_summary[list(QUALITY_FEATURES)],
        val_model,
        val_summary["comps_log_price"],
        np.log(inner.test["price"].to_numpy(float)),
    )
    test_model, test_summary = values(split.train, split.test)
    final, weight = blend.blend(test_model, test_summary["comps_log_price"], test_summary)
    actual = split.test["price"].to_numpy(float)
    assert weight.max() > 0.0
    assert mdape(actual, np.exp(final)) <= mdape(actual, np.exp(test_model)) + 0.002
    abs_blend = np.mean(np.abs(final - np.log(actual)))
    abs_model = np.mean(np.abs(test_model - np.log(actual)))
    assert abs_blend <= abs_model * 1.01
