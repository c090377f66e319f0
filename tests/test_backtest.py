from __future__ import annotations

import json

import pandas as pd
import pytest

from estimo.cli.tables import overall_table
from estimo.evaluate.backtest import run_backtest, score_predictions, write_backtest

FAST = {"n_estimators": 40, "learning_rate": 0.15, "min_city_rows": 300}


def metrics_coverage(paths) -> float:
    return json.loads(paths["metrics"].read_text())["overall"]["coverage"]


def test_backtest_values_every_test_row_or_says_why(market, tmp_path) -> None:
    frame = market.frame
    # a city that appears only after the cut-off cannot be valued
    late = frame.loc[frame["date"] >= "2023-09-01"].head(5).assign(city="Atlantis")
    late["id"] = [f"new-{i}" for i in range(len(late))]
    data = pd.concat([frame, late], ignore_index=True)
    result = run_backtest(data, "2023-09-01", model_params=FAST)
    assert len(result.predictions) + len(result.unvalued) == len(result.split.test)
    assert set(result.unvalued["city"]) == {"Atlantis"}
    assert "no training data" in result.unvalued["reason"].iloc[0]
    assert result.metrics["overall"]["n_unvalued"] == 5
    # ... but the service values them with the global model: scored apart
    assert "global model (scored apart" in result.unvalued["reason"].iloc[0]
    served = result.model.predict(late.drop(columns=["price"]))
    assert result.unvalued["predicted"].tolist() == pytest.approx(served.tolist())
    new_cities = result.metrics["overall"]["new_cities"]
    assert new_cities["n"] == 5 and 0 < new_cities["mdape"] < 1
    assert result.metrics["overall"]["n"] == len(result.predictions)  # not mixed in

    paths = write_backtest(result, tmp_path)
    predictions = pd.read_parquet(paths["predictions"])
    assert list(predictions.columns) == [
        *["id", "city", "date", "price", "predicted", "model", "comps", "blend_weight"],
        *["low", "high", "low_90", "high_90", "fsd", "sub_model"],
        *["confidence", "pe10_predicted", "difficulty", "ood"],
        *["fixed_low_80", "fixed_high_80", "fixed_low_90", "fixed_high_90", "fixed_fsd"],
        "price_target",
    ]
    # without a cleaning policy the metrics compare with the observed price
    assert (predictions["price_target"] == predictions["price"]).all()
    assert (predictions["low"] <= predictions["predicted"]).all()
    assert (predictions["predicted"] <= predictions["high"]).all()
    assert 0 < metrics_coverage(paths) < 1
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["overall"]["range_level"] == 0.8  # the nominal coverage of low/high
    assert metrics["overall"]["n"] == len(predictions)
    assert {row["city"] for row in metrics["by_city"]} >= {"Milano", "(all)"}


def test_backtest_is_reproducible(market) -> None:
    a = run_backtest(market.frame, "2023-09-01", model_params=FAST)
    b = run_backtest(market.frame, "2023-09-01", model_params=FAST)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)


def test_training_rows_are_cleaned_and_calibrated_test_rows_are_not(market, tmp_path) -> None:
    from estimo.config import QualityConfig

    result = run_backtest(market.frame, "2023-09-01", model_params=FAST, quality=QualityConfig())
    prepared = result.training_data
    assert prepared is not None
    # every training row is kept or dropped with a reason, nothing else
    assert len(prepared.frame) + len(prepared.dropped) == len(result.split.train)
    assert not set(prepared.frame["id"]) & set(result.split.test["id"])
    # the observed test prices are untouched; asking rows are scored on the calibrated scale
    predictions = result.predictions.merge(
        result.split.test[["id", "price_kind"]], on="id", how="left"
    )
    observed = result.split.test.set_index("id").loc[predictions["id"], "price"].to_numpy()
    assert (predictions["price"].to_numpy() == observed).all()
    sale = predictions["price_kind"] == "sale"
    assert (predictions.loc[sale, "price_target"] == predictions.loc[sale, "price"]).all()
    ratio = predictions.loc[~sale, "price_target"] / predictions.loc[~sale, "price"]
    assert 0.85 < ratio.median() < 1.0  # the synthetic markup: asking above sale
    assert result.metrics["target"].startswith("sale-equivalent")
    paths = write_backtest(result, tmp_path)
    assert (tmp_path / "quality" / "quality.html").exists()
    assert (tmp_path / "quality" / "changes.parquet").exists()
    assert paths["quality"].exists()


def test_the_accuracy_table_names_the_range_it_scores() -> None:
    predictions = pd.DataFrame(
        {
            "city": ["A", "A", "B", "B"],
            "price": [100.0, 200.0, 300.0, 400.0],
            "predicted": [110.0, 190.0, 330.0, 400.0],
            "low": [90.0, 180.0, 310.0, 350.0],
            "high": [120.0, 210.0, 350.0, 450.0],
        }
    )
    overall, _ = score_predictions(predictions, 0, range_level=0.8)
    assert overall["range_level"] == 0.8 and overall["coverage"] == 0.75
    table = overall_table(overall)
    names, values = list(table.columns[0].cells), list(table.columns[1].cells)
    assert names[-2:] == ["80 % range: prices inside", "80 % range: mean width"]
    assert values[-2] == "75.0 %"
    without_level, _ = score_predictions(predictions, 0)
    assert "range_level" not in without_level
    assert list(overall_table(without_level).columns[0].cells)[-2] == "range: prices inside"
