"""``estimo monitor --model``: the served model's price index and training end, read from
the folders ``estimo train`` writes (pipeline), engine folders (today's nested
``model.json`` and the older flat one) and registry versions; market drift and staleness
from them, end to end on the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.monitor.test_report import fill, training_rows
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import MonitorConfig, QualityConfig
from estimo.errors import DataError
from estimo.model.avm import AVM
from estimo.model.bundle import save_model
from estimo.monitor.report import build_report, load_inputs
from estimo.monitor.store import ValuationStore
from estimo.pipeline import ValuationPipeline

runner = CliRunner()
SMALL = {"n_estimators": 15, "min_city_rows": 300, "n_jobs": 1, "comps": False}
ROLLING = {"advice": {"overall": {"retrain_every_months": 3, "pe10_change_per_month": -0.01}}}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A pipeline folder (as `estimo train` writes), an engine folder, the same engine in the
    old flat layout, a registry holding the pipeline as champion, a filled store and a
    rolling backtest's rolling.json."""
    root = tmp_path_factory.mktemp("monitor-model")
    rows = training_rows()
    pipeline = ValuationPipeline(engine=AVM(**SMALL), quality=QualityConfig()).fit(rows)
    pipeline.save(str(root / "model"))
    save_model(pipeline.engine_, str(root / "engine"))
    flat = root / "flat"
    shutil.copytree(root / "engine", flat)
    meta = json.loads((flat / "model.json").read_text())
    stage = meta["stage"]
    meta["index_params"] = stage.pop("index")["params"]
    meta["location"] = stage.pop("location")
    meta["segmented"] = stage.pop("segmented")
    meta.pop("checksums")
    (flat / "checksums.json").unlink()
    (flat / "model.json").write_text(json.dumps(meta))
    from estimo.registry import register_model

    register_model(str(root / "registry"), pipeline, train_frame=rows, alias="champion")
    store_url = f"sqlite:///{root / 'monitor.db'}"
    fill(ValuationStore.from_url(store_url))
    (root / "rolling").mkdir()
    (root / "rolling" / "rolling.json").write_text(json.dumps(ROLLING))
    rows.to_csv(root / "train.csv", index=False)
    return {
        "root": root,
        "pipeline": root / "model",
        "engine": root / "engine",
        "flat": flat,
        "registry": root / "registry",
        "store": Path(store_url[len("sqlite:///") :]),
        "rolling": root / "rolling",
        "train": root / "train.csv",
    }


@pytest.mark.parametrize("kind", ["pipeline", "engine", "flat"])
def test_every_model_folder_gives_the_index_and_the_training_end(
    folders: dict[str, Path], kind: str
) -> None:
    inputs = load_inputs(folders[kind], rolling_json=folders["rolling"])
    assert inputs.model_index is not None and set(inputs.model_index.cities_) >= {"A", "B"}
    assert inputs.trained_until == pd.Timestamp(training_rows()["date"].max())
    assert inputs.rolling_advice == ROLLING["advice"]
    store = ValuationStore.from_url(f"sqlite:///{folders['store']}")
    report = build_report(store, MonitorConfig(n_boot=50), inputs=inputs)
    store.dispose()
    assert {"A", "B"} <= set(report.market["city"])
    market = report.market.loc[report.market["month"] == "2024-06"].set_index("city")
    # city B's outcomes rise 2 %/month over a model whose index is about flat
    assert market.loc["B", "gap"] > market.loc["A", "gap"] + 0.05
    assert set(report.stale["city"]) == {"A", "B", "C"} and report.stale["stale"].all()
    assert not any("market drift" in note for note in report.notes)


def test_a_folder_without_a_model_is_refused_with_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds neither pipeline.json nor model.json"):
        load_inputs(tmp_path)
    with pytest.raises(DataError, match=r"is not a folder; expected a model folder"):
        load_inputs(tmp_path / "missing")


def _monitor(folders: dict[str, Path], out: Path, *model: str) -> tuple[int, str, dict]:
    result = runner.invoke(
        app,
        [
            "monitor",
            "--store",
            f"sqlite:///{folders['store']}",
            *model,
            "--rolling",
            str(folders["rolling"]),
            "--reference",
            str(folders["train"]),
            "--out",
            str(out),
        ],
    )
    path = out / "monitor.json"
    report = json.loads(path.read_text()) if path.is_file() else {}
    path.unlink(missing_ok=True)
    return result.exit_code, result.output, report


def _assert_market_and_staleness(output: str, report: dict, out: Path) -> None:
    assert "no market drift" not in output and "staleness needs" not in output
    market = pd.DataFrame(report["market"])
    assert {"A", "B"} <= set(market["city"]) and np.isfinite(market["gap"]).all()
    stale = pd.DataFrame(report["staleness"])
    assert stale.set_index("city").loc["A", "age_months"] == 6  # 2023-12 .. 2024-06
    assert stale["stale"].all()
    assert "stale: A: the model is 6 months old" in output
    html = (out / "dashboard.html").read_text()
    assert "<h2>Market drift" in html


def test_the_command_takes_the_pipeline_folder_of_estimo_train(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    code, output, report = _monitor(folders, tmp_path, "--model", str(folders["pipeline"]))
    assert code == 1, output
    _assert_market_and_staleness(output, report, tmp_path)


def test_the_command_takes_a_registry_version_or_alias(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    registry = ["--registry", str(folders["registry"])]
    for ref in ([], ["--model", "champion"], ["--model", "v1"]):
        code, output, report = _monitor(folders, tmp_path, *registry, *ref)
        assert code == 1, output
        _assert_market_and_staleness(output, report, tmp_path)
    code, output, _ = _monitor(folders, tmp_path, *registry, "--model", "v9")
    assert code == 1 and "no version or alias 'v9'" in output


def test_a_folder_that_is_no_model_is_a_clear_error(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    code, output, _ = _monitor(folders, tmp_path / "out", "--model", str(folders["rolling"]))
    assert code == 1
    assert "holds neither pipeline.json nor model.json" in output
