"""`estimo compare` and `estimo report` through the CLI; the rolling printer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.cli._common import console
from estimo.cli.compare import print_rolling
from estimo.evaluate.rolling import run_rolling_backtest
from estimo.model.valuation import ValuationModel

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, clean_market) -> Path:
    """Market data plus a copy without has_terrace, and a project file with a small model."""
    tmp_path = tmp_path_factory.mktemp("project")
    clean_market.frame.to_parquet(tmp_path / "market.parquet", index=False)
    clean_market.frame.drop(columns=["has_terrace"]).to_parquet(tmp_path / "old.parquet")
    text = (
        f"data:\n  path: {tmp_path / 'market.parquet'}\n  price_kind: price_kind\n"
        "engine:\n  n_estimators: 30\n  learning_rate: 0.15\n  num_leaves: 15\n  n_jobs: 1\n"
        "  comps: false\n  min_city_rows: 300\n"
        "evaluation:\n  min_group_size: 20\n"
        "quality:\n  text:\n    enabled: false\n"  # has_terrace must not come back from the text
    )
    (tmp_path / "estimo.yaml").write_text(text)
    (tmp_path / "old.yaml").write_text(text.replace("market.parquet", "old.parquet"))
    return tmp_path / "estimo.yaml"


def train(config: Path, out: Path, until: str) -> None:
    result = runner.invoke(app, ["train", str(config), "--until", until, "--out", str(out)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def new_model(project: Path) -> Path:
    """A model trained on rows before 2023-07-01."""
    folder = project.parent / "new_model"
    train(project, folder, "2023-07-01")
    return folder


def test_compare_two_windows_writes_verdict_json_and_markdown(
    project: Path, new_model: Path, tmp_path: Path
):
    train(project, tmp_path / "old_model", "2023-03-01")
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "old_model"),
            str(new_model),
            "--data",
            str(project),
            "--out",
            str(out),
            "--n-boot",
            "200",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "verdict:" in result.output
    data = json.loads((out / "comparison.json").read_text())
    assert data["scoring"]["from"] >= "2023-07-01" and "windows differ" in data["scoring"]["rule"]
    assert set(data["overall"]) == {"mdape", "pe10", "cod"}
    assert (out / "comparison.md").read_text().startswith("# Model comparison: old_model vs")


def test_compare_with_ablation_when_a_feature_is_missing(
    project: Path, new_model: Path, tmp_path: Path
):
    train(project.parent / "old.yaml", tmp_path / "a", "2023-07-01")
    out = tmp_path / "cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "a"),
            str(new_model),
            "--data",
            str(project),
            "--out",
            str(out),
            "--n-boot",
            "100",
            "--ablation",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "comparison.json").read_text())
    assert data["features"]["only_b"] == ["has_terrace"]
    assert "method" in data["ablation"] and "On shared features" in data["verdict"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["compare", "nowhere_a", "nowhere_b"], 1, "holds no valuation pipeline"),
        (["compare", "{model}", "{model}", "--since", "yesterday-ish"], 2, "--since"),
        (["compare", "{model}", "{model}", "--since", "2031-01-01"], 1, "no labelled rows"),
        (["report", "missing.parquet"], 1, "does not exist"),
    ],
)
def test_bad_input_is_one_clear_message(project, new_model, tmp_path, args, code, message):
    args = [a.replace("{model}", str(new_model)) for a in args]
    result = runner.invoke(app, [*args, "--data", str(project), "--out", str(tmp_path / "o")])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_report_from_backtest_predictions(project: Path, tmp_path: Path):
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["backtest", str(project), "--cutoff", "2023-09-01", "--out", str(run)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["report", str(run / "predictions.parquet"), "--data", str(project), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    assert data["reference"]["overall"]["n"] == data["overall"]["n"]
    assert data["settings"]["min_group_size"] == 20
    assert "<svg" in (out / "report.html").read_text()


@pytest.mark.parametrize(("matched", "code"), [(0.0, 1), (0.5, 0), (1.0, 0)])
def test_report_of_predictions_whose_ids_are_not_in_the_data(
    project: Path, tmp_path: Path, matched: float, code: int
):
    """Predictions of another dataset were reported with a normal exit (issue 17)."""
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["backtest", str(project), "--cutoff", "2023-09-01", "--out", str(run)]
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(run / "predictions.parquet")
    other = scored.index >= int(matched * len(scored))
    scored.loc[other, "id"] = "elsewhere-" + scored.loc[other, "id"].astype(str)
    scored.to_parquet(run / "predictions.parquet", index=False)
    argv = ["report", str(run / "predictions.parquet"), "--data", str(project)]
    result = runner.invoke(app, [*argv, "--out", str(tmp_path / "report")])
    assert result.exit_code == code, result.output
    text = " ".join(result.output.split())
    if matched < 1:
        assert f"{int(matched * len(scored)):,} of {len(scored):,} prediction ids" in text
        assert "elsewhere-" in text
    else:
        assert "prediction ids" not in text
    assert (tmp_path / "report" / "report.json").exists() == (code == 0)


def test_print_rolling(clean_market):
    result = run_rolling_backtest(
        clean_market.frame,
        n_origins=2,
        horizon=2,
        factory=lambda: ValuationModel(n_estimators=10, n_jobs=1),
        min_group_size=20,
    )
    with console.capture() as captured:
        print_rolling(result)
    text = captured.get()
    assert "accuracy by model age" in text and "Milano" in text and "retrain every" in text
    assert isinstance(result.predictions, pd.DataFrame)
