from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from estimo.errors import NotFittedError
from estimo.model.segmented import GLOBAL, SegmentedModel

# L2: the toy target spreads over ±1.5 in log, far beyond the Huber delta
FAST = {
    "n_estimators": 60,
    "learning_rate": 0.1,
    "min_validation_rows": 30,
    "objective": "regression",
}


def _market(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Big", "Other", "Tiny"], n, p=[0.6, 0.37, 0.03])
    area = rng.uniform(30, 150, n)
    # the cities value area differently: a city model can beat the global one
    slope = np.where(city == "Big", 1.2, 0.6)
    y = 10 + slope * np.log(area) + rng.normal(0, 0.05, n)
    return pd.DataFrame({"city": city, "area_m2": area}), y


@pytest.fixture(scope="module")
def fitted() -> SegmentedModel:
    X, y = _market(3_000, 0)
    Xv, yv = _market(600, 1)
    return SegmentedModel(min_city_rows=500, **FAST).fit(X, y, eval_set=(Xv, yv, None))


def test_routing_records_choice_and_reason(fitted) -> None:
    assert set(fitted.routing_) == {"Big", "Other", "Tiny"}
    assert fitted.routing_["Tiny"]["served_by"] == "global"
    assert "fewer than 500 training rows" in fitted.routing_["Tiny"]["reason"]
    big = fitted.routing_["Big"]
    assert big["served_by"] in {"city", "global", "blend"}
    scores = {k: big[f"validation_mdape_{k}"] for k in ("city", "global", "blend")}
    assert scores[big["served_by"]] == min(scores.values())
    assert set(fitted.boosters_) == {GLOBAL, "Big", "Other"}


def test_predictions_follow_the_routing(fitted) -> None:
    X, y = _market(500, 2)
    pred = fitted.predict_log(X)
    assert np.median(np.abs(pred - y)) < 0.06
    served = fitted.served_by(X["city"])
    assert set(served[X["city"].to_numpy() == "Tiny"]) == {"global"}


def test_refit_keeps_routing_and_rounds(fitted) -> None:
    X, y = _market(3_000, 3)
    again = fitted.refit(X, y)
    assert {c: r["served_by"] for c, r in again.routing_.items()} == {
        c: r["served_by"] for c, r in fitted.routing_.items()
    }
    assert again.rounds_[GLOBAL] >= fitted.rounds_[GLOBAL]


def test_parallel_training_is_deterministic() -> None:
    X, y = _market(2_000, 4)
    one = SegmentedModel(min_city_rows=500, n_jobs=1, **FAST).fit(X, y)
    two = SegmentedModel(min_city_rows=500, n_jobs=2, **FAST).fit(X, y)
    np.testing.assert_array_equal(one.predict_log(X), two.predict_log(X))


def test_contributions_add_up(fitted) -> None:
    X, _ = _market(50, 5)
    contrib = fitted.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1), fitted.predict_log(X), atol=1e-9)


@pytest.mark.parametrize("route", ["city", "global", "blend"])
def test_contributions_add_up_on_every_route(fitted, route) -> None:
    model = copy.deepcopy(fitted)
    for city in model.routing_:
        model.routing_[city] = {**model.routing_[city], "served_by": route}
    X, _ = _market(60, 6)
    contrib = model.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_log(X), atol=1e-9)


def test_not_fitted_is_a_clear_error() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        SegmentedModel().predict_log(pd.DataFrame({"city": ["A"]}))


def _mixed_market(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Text categories (some missing, some unseen later), nullable integers, booleans."""
    X, y = _market(n, seed)
    rng = np.random.default_rng(seed)
    kind = rng.choice(["flat", "house", "loft"], n).astype(object)
    kind[rng.random(n) < 0.1] = None
    rooms = pd.array(rng.integers(1, 6, n), dtype="Int64")
    rooms[rng.random(n) < 0.1] = pd.NA
    X = X.assign(kind=kind, rooms=rooms, garden=rng.random(n) < 0.3)
    return X, y + 0.2 * (X["kind"] == "house").to_numpy()


def test_float_matrix_gives_lightgbm_frame_predictions_bit_for_bit() -> None:
    X, y = _mixed_market(2_000, 7)
    model = SegmentedModel(min_city_rows=500, **FAST).fit(X, y)
    new, _ = _mixed_market(300, 8)
    new.loc[new.index[:5], "kind"] = "castle"  # unseen at training: missing
    new.loc[new.index[5:9], "area_m2"] = np.nan
    values = model.model_matrix(new)
    assert isinstance(values, np.ndarray) and values.shape == (300, len(model.spec_.names))
    frame = model.encode(new)
    np.testing.assert_array_equal(model.predict_log(new), model.predict_log(new, matrix=frame))
    np.testing.assert_array_equal(
        model.contribution_values(new)[1], model.contribution_values(new, matrix=frame)[1]
    )
    # one row at a time, as a web form values it
    row = new.iloc[[3]]
    np.testing.assert_array_equal(model.predict_log(row), model.predict_log(new)[[3]])


def test_models_not_trained_on_their_spec_read_frames(fitted) -> None:
    model = copy.deepcopy(fitted)
    model.spec_ = type(model.spec_)(
        numeric=model.spec_.numeric, categorical={"city": ("Tiny", "Other", "Big")}
    )
    assert isinstance(model.model_matrix(_market(10, 9)[0]), pd.DataFrame)
    assert isinstance(fitted.model_matrix(_market(10, 9)[0]), np.ndarray)
