from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def fast_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTIMO_ENGINE__N_ESTIMATORS", "40")
    monkeypatch.setenv("ESTIMO_ENGINE__LEARNING_RATE", "0.1")


def project(tmp_path: Path, data: Path, **columns: str) -> Path:
    mapping = {"price": "price", "date": "date", "city": "city", "id": "id", **columns}
    text = "data:\n  path: " + str(data) + "\n  columns: " + json.dumps(mapping) + "\n"
    text += "  price_kind: price_kind\nengine:\n  n_estimators: 40\n"
    path = tmp_path / "estimo.yaml"
    path.write_text(text)
    return path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--n", "1500"])
    assert result.exit_code == 0, result.output
    assert "accuracy per city" in result.output
    assert "Milano" in result.output
    assert "/v1/valuations" in result.output and "/docs" in result.output  # served over HTTP
    assert "the same price as `estimo value" in result.output  # the service serves the pipeline
    assert "monitoring replay" in result.output and "first flagged" in result.output
    assert (tmp_path / "monitor" / "dashboard.html").is_file()
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert {"id", "city", "date", "price", "predicted"} <= set(predictions.columns)


def test_backtest_on_a_project_file(tmp_path: Path, canonical_csv: Path) -> None:
    config = project(tmp_path, canonical_csv, area_m2="area_m2")
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["backtest", str(config), "--cutoff", "2023-09-01", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["cutoff"] == "2023-09-01"
    assert metrics["overall"]["n"] > 0
    assert (out / "unvalued.parquet").exists()
    # how many training rows cleaning dropped, and why (rule by rule)
    assert "training rows (" in result.output
    n_dropped = metrics["quality"]["n_dropped"]
    assert f"dropped {n_dropped:,} of" in result.output
    dropped = pd.read_parquet(out / "quality" / "dropped.parquet")
    assert len(dropped) >= n_dropped and dropped["rule"].notna().all()
    # the plain member's weight, chosen on the validation slice, is reported and recorded
    member = metrics["engine"]["validation"]["plain_member"]
    assert 0.0 <= member["weight"] <= 1.0
    assert f"plain LightGBM of weight {member['weight']:.2f}" in " ".join(result.output.split())
    # a clean market: (almost) no price dropped as an outlier, no line about it
    assert metrics["engine"]["validation"]["price_outlier_share"] < 0.001
    assert "dropped as outliers" not in result.output


def test_backtest_says_the_ranges_allow_for_the_prices_dropped_as_outliers(
    tmp_path: Path, market
) -> None:
    data = tmp_path / "faulty.csv"
    market.frame.to_csv(data, index=False)
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["backtest", str(data), "--cutoff", "2023-09-01", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    share = metrics["engine"]["validation"]["price_outlier_share"]
    assert 0.0 < share < 0.05
    said = " ".join(result.output.split())
    assert f"{100 * share:.1f} % of the training prices were dropped as outliers" in said


def test_train_then_evaluate(tmp_path: Path, canonical_csv: Path) -> None:
    model_dir, eval_dir = tmp_path / "model", tmp_path / "eval"
    result = runner.invoke(
        app, ["train", str(canonical_csv), "--until", "2023-09-01", "--out", str(model_dir)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["evaluate", str(canonical_csv), "--model", str(model_dir), "--out", str(eval_dir)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    assert metrics["since"] >= "2023-08-31"
    assert 0 < metrics["overall"]["mdape"] < 0.5
    # training keeps its quality report and the explanation reference with the model
    assert json.loads((model_dir / "quality" / "quality.json").read_text())["summary"]["n_rows"]
    assert (model_dir / "explain_reference.json").exists()
    # evaluation writes the report next to the metrics
    assert "<svg" in (eval_dir / "report.html").read_text()
    assert json.loads((eval_dir / "report.json").read_text())


def test_train_registers_a_version_with_an_alias(tmp_path: Path, canonical_csv: Path) -> None:
    from estimo.registry import Registry

    registry = tmp_path / "registry"
    result = runner.invoke(
        app,
        [
            "train",
            str(canonical_csv),
            "--out",
            str(tmp_path / "m"),
            "--register",
            str(registry),
            "--alias",
            "challenger",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered as v1" in result.output
    assert "challenger: (unset) -> v1" in result.output
    store = Registry(str(registry))
    assert store.resolve("challenger") == store.resolve("v1")
    manifest = store.manifest("v1")
    assert manifest.quality is not None


def test_train_never_takes_the_champion_alias_from_a_version_holding_it(
    tmp_path: Path, canonical_csv: Path
) -> None:
    """A new champion passes the gate: `train --alias champion` sets only the first one."""
    from estimo.registry import Registry

    registry = tmp_path / "registry"
    argv = ["train", str(canonical_csv), "--register", str(registry), "--alias", "champion"]
    first = runner.invoke(app, [*argv, "--out", str(tmp_path / "m1")])
    assert first.exit_code == 0 and "champion: (unset) -> v1" in first.output, first.output
    result = runner.invoke(app, [*argv, "--out", str(tmp_path / "m2")])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "held by v1" in text and "estimo promote" in text
    assert not (tmp_path / "m2").exists()  # refused before training
    assert Registry(str(registry)).resolve("champion") == "v1"


def test_train_with_an_unwritable_registry_fails_before_training_and_writes_nothing(
    tmp_path: Path, canonical_csv: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "m"
    result = runner.invoke(
        app,
        ["train", str(canonical_csv), "--out", str(out), "--register", str(blocker / "reg")],
    )
    assert result.exit_code == 2, result.output
    assert "--register '.../reg' cannot be written" in result.output
    assert "trained on" not in result.output
    assert not out.exists()  # no model folder another command could serve


def test_tune_compares_settings_on_the_validation_slice(
    tmp_path: Path, canonical_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTIMO_ENGINE__N_ESTIMATORS", "60")
    config = project(tmp_path, canonical_csv, area_m2="area_m2")
    out = tmp_path / "tune"
    result = runner.invoke(
        app,
        ["tune", str(config), "--until", "2023-09-01", "--try", "knn_k=5 comps=false"]
        + ["--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "tune.json").read_text())
    assert saved["until"] == "2023-09-01"
    assert [t["settings"] for t in saved["trials"]] == [{}, {"knn_k": 5, "comps": False}]
    first, second = (t["validation"] for t in saved["trials"])
    assert first["from"] < "2023-09-01"  # the slice is before --until: no later row is read
    assert first["comps"]["n"] > 0 and second["comps"]["n"] == 0
    assert first["trees"] <= 60 * 7  # a global model and at most six city models
    assert "project settings" in result.output and "knn_k=5" in result.output


def test_rolling_backtest(tmp_path: Path, canonical_csv: Path) -> None:
    out = tmp_path / "rolling"
    result = runner.invoke(
        app,
        [
            "backtest",
            str(canonical_csv),
            "--rolling",
            "--origins",
            "2",
            "--horizon",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rolling = json.loads((out / "rolling.json").read_text())
    assert len(rolling["cutoffs"]) == 2
    assert (out / "rolling.html").exists()


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["backtest", "missing.csv"], 1, "does not exist"),
        (["backtest", "{csv}", "--cutoff", "1990-01-01"], 1, "no training rows"),
        (["backtest", "{csv}", "--cutoff", "2099-01-01"], 1, "no test rows"),
        (["backtest", "{bad_mapping}"], 2, "'Prize'"),
        (["audit", "{bad_mapping}"], 2, "'Prize'"),
        (["train", "{bad_mapping}"], 2, "'Prize'"),
        (["backtest", "{bad_yaml}"], 2, "data.area_unit"),
        (["backtest", "{empty}"], 1, "empty"),
        (["backtest", "{negative}"], 1, "non-positive prices"),
        (["evaluate", "{csv}", "--model", "nowhere"], 2, "'nowhere' does not exist"),
        (["train", "{csv}", "--until", "1990-01-01"], 1, "no rows dated before"),
        (["tune", "{csv}", "--try", "knn=5"], 2, "knn: Extra inputs are not permitted"),
        (["tune", "{csv}", "--try", "0.1"], 2, "key=value pairs"),
        (["tune", "{csv}", "--try", "knn_k=-1"], 2, "knn_k: Input should be greater than 0"),
    ],
)
def test_bad_input_gives_one_clear_message(
    tmp_path: Path, canonical_csv: Path, args: list[str], code: int, fragment: str
) -> None:
    bad_mapping = tmp_path / "bad.yaml"
    bad_mapping.write_text(f"data:\n  path: {canonical_csv}\n  columns: {{price: Prize}}\n")
    bad_yaml = tmp_path / "bad2.yaml"
    bad_yaml.write_text(f"data:\n  path: {canonical_csv}\n  area_unit: acres\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("price,date,city\n")
    negative = tmp_path / "negative.csv"
    negative.write_text("price,date,city\n-1,2024-01-01,A\n0,2024-02-01,A\n")
    paths = {
        "csv": canonical_csv,
        "bad_mapping": bad_mapping,
        "bad_yaml": bad_yaml,
        "empty": empty,
        "negative": negative,
    }
    argv = [a.format(**paths) for a in args]
    result = runner.invoke(
        app, [*argv, "--out", str(tmp_path / "o")] if args[0] != "evaluate" else argv
    )
    assert result.exit_code == code, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("yaml_text", "env", "code", "fragment"),
    [
        ("  columns: {{date: {{value: 'not a date'}}}}\n", {}, 2, "data.columns.date.value"),
        ("  columns: {{area_m2: {{value: 'big'}}}}\n", {}, 2, "data.columns.area_m2.value"),
        ("  read_options: {{bogus_option: 1}}\n", {}, 2, "data.read_options"),
        ("  path: {csv}\n", {}, 2, "key 'path' appears twice"),
        ("", {"ESTIMO_ENGINE__N_ESTIMATORS": "["}, 2, "ESTIMO_ENGINE__N_ESTIMATORS"),
        ("", {"ESTIMO_MODEL__N_ESTIMATORS": "["}, 2, "ESTIMO_MODEL__N_ESTIMATORS"),
    ],
)
def test_loading_failures_name_the_setting(
    tmp_path: Path, canonical_csv: Path, yaml_text: str, env: dict, code: int, fragment: str
) -> None:
    """Each was an 'unexpected failure' (DateParseError, TypeError, ParserError) or, for the
    repeated key, silently took the last value (issue 17)."""
    project = tmp_path / "estimo.yaml"
    project.write_text(f"data:\n  path: {canonical_csv}\n" + yaml_text.format(csv=canonical_csv))
    result = runner.invoke(app, ["audit", str(project), "--out", str(tmp_path / "o")], env=env)
    assert result.exit_code == code, result.output
    assert fragment in result.output
    assert "unexpected failure" not in result.output


def test_a_latin1_project_file_names_the_file(tmp_path: Path, canonical_csv: Path) -> None:
    project = tmp_path / "estimo.yaml"
    text = f"data:\n  path: {canonical_csv}\n  columns: {{city: {{value: Mérida}}}}\n"
    project.write_bytes(text.encode("latin-1"))
    result = runner.invoke(app, ["audit", str(project), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "estimo.yaml" in result.output and "not UTF-8" in result.output


@pytest.mark.parametrize(("value", "fragment"), [("[", "not valid YAML"), ("-5", "n_estimators")])
def test_env_overrides_apply_to_a_data_file_passed_directly(
    tmp_path: Path, canonical_csv: Path, value: str, fragment: str
) -> None:
    """They were ignored: `ESTIMO_ENGINE__N_ESTIMATORS='[' estimo train x.parquet` exited 0."""
    env = {"ESTIMO_ENGINE__N_ESTIMATORS": value}
    out = tmp_path / "m"
    result = runner.invoke(app, ["train", str(canonical_csv), "--out", str(out)], env=env)
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert not out.exists()


def test_an_env_override_applies_to_a_data_file(canonical_csv: Path, monkeypatch) -> None:
    from estimo.io import load_project

    monkeypatch.setenv("ESTIMO_ENGINE__N_ESTIMATORS", "17")
    assert load_project(str(canonical_csv)).engine.n_estimators == 17


def test_train_alias_without_register_is_refused(tmp_path: Path, canonical_csv: Path) -> None:
    out = tmp_path / "m"
    argv = ["train", str(canonical_csv), "--out", str(out), "--alias", "champion"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "--alias" in result.output and "--register" in result.output
    assert not out.exists()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip()


def test_index_command_writes_the_table_the_chart_and_the_trend_rule(
    tmp_path: Path, canonical_csv: Path
) -> None:
    out = tmp_path / "index"
    result = runner.invoke(app, ["index", str(canonical_csv), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "index.csv")
    assert {"city", "month", "index", "carries_trend"} <= set(table.columns)
    assert (table.groupby("month")["index"].count() > 0).all()
    assert (table.loc[table["month"] == table["month"].max(), "index"] == 1.0).all()
    assert "<svg" in (out / "index.html").read_text()
    text = " ".join(result.output.split())
    assert "Past the data it carries the last 3 months' trend" in text
    flat = table.loc[~table["carries_trend"], "city"].unique()
    assert all(city in text for city in flat)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["train", "{csv}", "--until", "2023-13-01"], "--until"),
        (["backtest", "{csv}", "--cutoff", "soon"], "--cutoff"),
        (["evaluate", "{csv}", "--model", "{folder}", "--since", "2023-02-30"], "--since"),
        (["index", "{csv}", "--until", "yesterday"], "--until"),
        (["tune", "{csv}", "--until", "13/01/2023"], "--until"),
        (["monitor", "--since", "May"], "--since"),
    ],
)
def test_a_date_option_that_is_not_a_day_is_a_usage_error_naming_it(
    tmp_path: Path, canonical_csv: Path, argv: list[str], option: str
) -> None:
    """Each read the whole table first, then failed as bad data naming 'cutoff' (or, for
    `index`, as an unexpected failure)."""
    argv = [a.format(csv=canonical_csv, folder=tmp_path) for a in argv]
    argv += ["--out", str(tmp_path / "o")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert option in result.output and "expected YYYY-MM-DD" in result.output
    assert "loaded" not in result.output and not (tmp_path / "o").exists()


def test_city_names_are_printed_as_written_not_as_markup(tmp_path: Path, clean_market) -> None:
    """'Milano [centro]' printed as 'Milano ' and '[bold]Roma' as a bold 'Roma'."""
    frame = clean_market.frame.copy()
    frame["city"] = frame["city"].replace({"Milano": "Milano [centro]", "Roma": "[bold]Roma"})
    data = tmp_path / "market.csv"
    frame.to_csv(data, index=False)
    backtest = runner.invoke(app, ["backtest", str(data), "--out", str(tmp_path / "b")])
    assert backtest.exit_code == 0, backtest.output
    index = runner.invoke(app, ["index", str(data), "--out", str(tmp_path / "i")])
    assert index.exit_code == 0, index.output
    for output in (backtest.output, index.output):  # a narrow table may wrap a name
        assert "[centro]" in output and "[bold]Roma" in output, output


@pytest.mark.parametrize("command", ["audit", "train", "backtest", "index", "clean"])
@pytest.mark.parametrize("below", [False, True])
def test_an_out_folder_that_is_a_file_is_refused_before_any_work(
    tmp_path: Path, canonical_csv: Path, command: str, below: bool
) -> None:
    """`train --out afile.txt/m` trained for the full run, then failed with a bare OS error."""
    blocker = tmp_path / "afile.txt"
    blocker.write_text("hi")
    out = blocker / "m" if below else blocker
    result = runner.invoke(app, [command, str(canonical_csv), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "cannot be a folder" in result.output and "is a file" in result.output
    assert "loaded" not in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rolling", "--cv", "3"], "not with --cv"),
        (["--rolling", "--cutoff", "2023-03-01"], "not with --cutoff"),
        (["--origins", "2"], "applies to --rolling only"),
        (["--spatial"], "give --cv K with it"),
    ],
)
def test_backtest_options_of_another_mode_are_refused(
    tmp_path: Path, canonical_csv: Path, options: list[str], message: str
) -> None:
    """Each was ignored without a word: the user read another evaluation than asked for."""
    result = runner.invoke(app, ["backtest", str(canonical_csv), *options, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_index_until_before_the_data_says_so(tmp_path: Path, canonical_csv: Path) -> None:
    """It said 'no row has a positive price and a date'."""
    argv = ["index", str(canonical_csv), "--until", "1990-01-01", "--out", str(tmp_path / "i")]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "keeps no row: the data runs from" in " ".join(result.output.split())


def test_a_cross_validated_backtest_is_not_titled_out_of_time(
    tmp_path: Path, canonical_csv: Path
) -> None:
    result = runner.invoke(
        app, ["backtest", str(canonical_csv), "--cv", "2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (
        "cross-validated accuracy" in result.output and "out-of-time accuracy" not in result.output
    )
