"""`estimo backtest` on data without dates (cross-validation) and with --cv."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app

runner = CliRunner()
FAST_ENV = {
    "ESTIMO_ENGINE__N_ESTIMATORS": "30",
    "ESTIMO_ENGINE__LEARNING_RATE": "0.2",
    "ESTIMO_ENGINE__MIN_CITY_ROWS": "300",
    "ESTIMO_ENGINE__COMPS_K": "5",
}


@pytest.fixture(autouse=True)
def fast_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)


def _undated_project(tmp_path: Path, frame: pd.DataFrame) -> Path:
    data = tmp_path / "sales.csv"
    frame.drop_duplicates("id").drop(columns=["date"]).head(1200).to_csv(data, index=False)
    config = tmp_path / "estimo.yaml"
    config.write_text(
        f"data:\n  path: {data}\n  price_kind: sale\n  as_of: '2024-06-01'\n"
        "backtest:\n  cv_folds: 3\n"
    )
    return config


def test_backtest_without_dates_cross_validates(tmp_path: Path, clean_market) -> None:
    config = _undated_project(tmp_path, clean_market.frame)
    out = tmp_path / "run"
    result = runner.invoke(app, ["backtest", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3-fold random cross-validation (the data has no dates)" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cv"]["folds"] == 3
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert sorted(predictions["fold"].unique()) == [0, 1, 2]
    assert predictions["id"].is_unique
    assert metrics["overall"]["share_valued"] == 1.0
    assert metrics["overall"]["mdape"] < 0.25


def test_cv_and_cutoff_together_is_bad_usage(tmp_path: Path, clean_market) -> None:
    config = _undated_project(tmp_path, clean_market.frame)
    result = runner.invoke(
        app, ["backtest", str(config), "--cv", "3", "--cutoff", "2024-01-01", "--out", "x"]
    )
    assert result.exit_code == 2
    assert "either --cutoff or --cv" in result.output
