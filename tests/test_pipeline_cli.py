"""`estimo train` saves the valuation pipeline; `estimo value` serves it with the backtest's
numbers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import QualityConfig
from estimo.evaluate.backtest import run_backtest
from estimo.jsonutil import to_jsonable
from estimo.model.avm import AVM
from estimo.pipeline import PIPELINE_FILE, ValuationPipeline, load_pipeline
from estimo.split import out_of_time_split

runner = CliRunner()
FAST = {"n_estimators": 40, "learning_rate": 0.15, "min_city_rows": 300}
CUTOFF = "2023-09-01"


def test_train_on_the_demo_data_without_a_project_file(market, tmp_path, monkeypatch) -> None:
    """The demo's faulty market: the cleaning adds ``*_missing`` indicator features, which
    have labels, so training needs no project file."""
    monkeypatch.setenv("ESTIMO_ENGINE__N_ESTIMATORS", "40")
    monkeypatch.setenv("ESTIMO_ENGINE__MIN_CITY_ROWS", "300")
    data = tmp_path / "market.parquet"
    market.frame.to_parquet(data, index=False)
    out = tmp_path / "M"
    result = runner.invoke(app, ["train", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pipeline = load_pipeline(str(out))
    indicators = [f for f in pipeline.feature_names_ if f.endswith("_missing")]
    assert indicators  # the faulty market has missing values the policy flags
    assert (out / PIPELINE_FILE).is_file() and (out / "quality" / "quality.json").is_file()
    assert pipeline.describe()["n_input"] == len(market.frame)
    warm = runner.invoke(app, ["warmup", str(out)])
    assert warm.exit_code == 0, warm.output
    assert "warmed up" in warm.output


@pytest.mark.parametrize("row", [0, 7, 23])
def test_value_on_a_saved_pipeline_is_bit_for_bit_the_backtest(market, tmp_path, row) -> None:
    result = run_backtest(market.frame, CUTOFF, model_params=FAST, quality=QualityConfig())
    train = out_of_time_split(market.frame, CUTOFF).train
    pipeline = ValuationPipeline(engine=AVM(**FAST), quality=QualityConfig(), currency="")
    folder = pipeline.fit(train).save(str(tmp_path / "model"))

    test = result.split.test
    raw = test.iloc[row]
    record = to_jsonable({k: v for k, v in raw.items()})
    record["date"] = f"{raw['date']:%Y-%m-%d}"
    out = runner.invoke(app, ["value", "-m", folder, "--json", "-p", json.dumps(record)])
    assert out.exit_code == 0, out.output
    served = json.loads(out.output)[0]["valuation"]
    expected = result.predictions.set_index("id").loc[raw["id"]]
    assert served["price"] == float(expected["predicted"])
    assert (served["low"], served["high"]) == (float(expected["low"]), float(expected["high"]))
    assert served["low_90"] == float(expected["low_90"])


def test_an_engine_saved_before_pipelines_still_values_as_given(tmp_path, market) -> None:
    train = market.frame.loc[market.frame["date"] < CUTOFF]
    engine = AVM(**FAST).fit(train)
    from estimo.model.bundle import save_model

    save_model(engine, str(tmp_path / "engine"))
    pipeline = load_pipeline(str(tmp_path / "engine"))
    assert pipeline.policy_ is None and pipeline.reference_ is None
    rows = pd.DataFrame([{"city": "Milano", "area_m2": 80.0, "date": pd.Timestamp(CUTOFF)}])
    assert pipeline.predict(rows)[0] == engine.predict(rows)[0]
    record = json.dumps({"city": "Milano", "area_m2": 80, "date": CUTOFF})
    out = runner.invoke(app, ["value", "-m", str(tmp_path / "engine"), "--json", "-p", record])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)[0]["valuation"]["price"] == engine.predict(rows)[0]
