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


def test_a_cutoff_on_data_of_one_date_says_why_it_cannot_split(
    tmp_path: Path, clean_market
) -> None:
    config = _undated_project(tmp_path, clean_market.frame)
    result = runner.invoke(app, ["backtest", str(config), "--cutoff", "2024-01-01", "--out", "x"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "every row is dated" in text and "drop --cutoff" in text and "--cv" not in text[:20]


@pytest.mark.parametrize("width", [80, 140])
def test_audit_table_fits_the_terminal(market, width: int) -> None:
    from rich.console import Console

    from estimo.cli.quality import findings_table
    from estimo.quality.auditor import audit

    report = audit(market.frame)
    console = Console(width=width, record=True)
    console.print(findings_table(report, width=width))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    assert ("e.g." in text) is (width >= 110)
    if width < 110:
        assert "…" not in text  # nothing cut
    for finding in report.findings[:25]:  # every rule:column whole
        name = finding.rule + (f":{finding.column}" if finding.column else "")
        assert name in text


def test_all_row_is_not_marked_as_passing_when_cities_fail() -> None:
    import io

    import numpy as np
    from rich.console import Console

    from estimo.evaluate.segments import format_metrics_table, metrics_by_segment

    rng = np.random.default_rng(0)
    price = rng.uniform(1e5, 5e5, 400)
    good = price * rng.normal(1.0, 0.05, 400)
    bad = price * (1.6 - price / 5e5) * rng.normal(1.0, 0.02, 400)  # regressive: fails PRB
    frame = pd.DataFrame(
        {
            "city": ["a"] * 400 + ["b"] * 400,
            "price": np.concatenate([price, price]),
            "predicted": np.concatenate([good, bad]),
        }
    )
    table = metrics_by_segment(frame, "city", min_group_size=30)
    console = Console(file=io.StringIO(), width=160)
    console.print(format_metrics_table(table))
    all_line = next(line for line in console.file.getvalue().splitlines() if "(all)" in line)
    assert "✗" in all_line and "of 2 groups fail" in all_line
