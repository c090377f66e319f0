"""The one evaluation protocol: the same rows, target and cleaning in every command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.config import QualityConfig
from estimo.evaluate.backtest import run_backtest
from estimo.evaluate.protocol import (
    PRICE_TARGET,
    new_city_metrics,
    new_property_rows,
    saved_calibrator,
    score_model,
)
from estimo.evaluate.rolling import run_rolling_backtest
from estimo.model.avm import AVM
from estimo.model.bundle import load_model, save_model
from estimo.model.valuation import ValuationModel
from estimo.quality.prepare import prepare_training_data
from estimo.split import out_of_time_split
from estimo.synth import generate_market

CUTOFF = pd.Timestamp("2023-09-01")
ENGINE = {"n_estimators": 30, "learning_rate": 0.2, "min_city_rows": 5_000, "n_jobs": 1}


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return generate_market(2_500, seed=21).frame  # with the usual faults


@pytest.mark.parametrize("cutoff", ["2023-03-01", "2023-09-01", "2023-12-01"])
def test_rows_are_those_of_the_out_of_time_split(market: pd.DataFrame, cutoff: str) -> None:
    split = out_of_time_split(market, cutoff)
    train = market.loc[market["date"] < cutoff]
    rows = new_property_rows(
        market, after=pd.Timestamp(cutoff) - pd.Timedelta(days=1), seen_ids=train["id"]
    )
    assert rows.frame["id"].tolist() == split.test["id"].tolist()
    assert rows.facts["n_seen_in_training"] == split.n_test_seen_ids
    assert rows.frame["id"].is_unique


def test_scoring_through_the_policy_never_drops_a_row_and_uses_the_target(
    market: pd.DataFrame,
) -> None:
    split = out_of_time_split(market, CUTOFF)
    prepared = prepare_training_data(split.train, QualityConfig())
    model = AVM(**ENGINE, progress=False).fit(prepared.frame, sample_weight=prepared.weight)
    valued = score_model(model, split.test, policy=prepared.policy, calibrator=prepared.calibrator)
    assert len(valued.predictions) + len(valued.unvalued) == len(split.test)
    asking = (
        split.test.set_index("id").loc[valued.predictions["id"], "price_kind"].eq("asking")
    ).to_numpy()
    ratio = valued.predictions[PRICE_TARGET] / valued.predictions["price"]
    assert np.allclose(ratio[~asking], 1.0)
    assert (ratio[asking] < 1.0).all()  # asking prices brought to the sale scale
    assert valued.target.startswith("sale-equivalent price")
    # raw rows with (0, 0) coordinates are valued, the policy ignoring those coordinates
    zero = split.test.loc[(split.test["lat"] == 0) & (split.test["lon"] == 0), "id"]
    assert set(zero) <= set(valued.predictions["id"])

    # the backtest is this protocol: same rows, same numbers
    result = run_backtest(market, CUTOFF, model_params={**ENGINE, "progress": False})
    assert set(result.predictions["id"]) | set(result.unvalued["id"]) == set(split.test["id"])


def test_a_test_set_only_of_new_cities_is_scored_apart(market: pd.DataFrame) -> None:
    split = out_of_time_split(market, CUTOFF)
    model = AVM(**ENGINE, progress=False).fit(split.train)
    elsewhere = split.test.assign(city="Atlantis")
    valued = score_model(model, elsewhere)
    assert valued.predictions.empty and len(valued.unvalued) == len(elsewhere)
    assert valued.unvalued["predicted"].gt(0).all()
    assert valued.unvalued[PRICE_TARGET].tolist() == elsewhere["price"].tolist()
    metrics = new_city_metrics(valued.unvalued)
    assert metrics is not None and metrics["n"] == len(elsewhere)
    plain = ValuationModel(n_estimators=20).fit(split.train)  # values only its own cities
    assert "predicted" not in score_model(plain, elsewhere).unvalued


def test_a_saved_model_keeps_its_calibration_for_the_target(market: pd.DataFrame, tmp_path) -> None:
    split = out_of_time_split(market, CUTOFF)
    prepared = prepare_training_data(split.train, QualityConfig())
    model = ValuationModel(n_estimators=20, n_jobs=1).fit(prepared.frame)
    folder = save_model(model, str(tmp_path / "m"), extra={"quality": prepared.summary()})
    loaded = load_model(folder)
    calibrator = saved_calibrator(loaded)
    assert calibrator is not None
    rows = split.test.head(200)
    assert np.allclose(
        calibrator.calibrated_prices(rows), prepared.calibrator.calibrated_prices(rows)
    )


def test_the_rolling_backtest_trains_on_cleaned_rows(market: pd.DataFrame) -> None:
    """Like the backtest: cleaned, calibrated training rows; scored against price_target."""
    seen: list[pd.DataFrame] = []

    class Recording(ValuationModel):
        def fit(self, frame, sample_weight=None, callbacks=None):
            seen.append(frame)
            return super().fit(frame, sample_weight=sample_weight, callbacks=callbacks)

    result = run_rolling_backtest(
        market,
        n_origins=1,
        horizon=2,
        factory=lambda: Recording(n_estimators=20, n_jobs=1),
        quality=QualityConfig(),
    )
    [train] = seen
    assert "_price_observed" in train  # prepared by prepare_training_data
    assert not ((train["lat"] == 0) & (train["lon"] == 0)).any()
    assert PRICE_TARGET in result.predictions
    assert (result.predictions[PRICE_TARGET] != result.predictions["price"]).any()
