"""Real-data tests: the example project files on ../shared/data (pytest -m realdata).

They fail, not skip, when the data is missing (see the ``shared_data`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from estimo.cli import app
from estimo.io import load_dataset, load_project

pytestmark = pytest.mark.realdata
REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

EXAMPLES = {
    "poland.yaml": ("2024-04-01", 195_568),
    "king_county.yaml": ("2015-02-01", 21_613),
    "grinnell.yaml": ("2013-01-01", 929),
    "ames.yaml": ("2009-07-01", 2_930),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_project_loads_every_row(shared_data: Path, name: str) -> None:
    loaded = load_dataset(load_project(REPO / "examples" / name))
    assert loaded.report.n_input_rows == EXAMPLES[name][1]
    assert loaded.report.n_dropped == 0
    assert loaded.frame["price"].gt(0).all()
    assert loaded.frame["date"].notna().all()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_backtest_runs_on_each_example(
    shared_data: Path, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTIMO_ENGINE__N_ESTIMATORS", "60")
    monkeypatch.setenv("ESTIMO_ENGINE__LEARNING_RATE", "0.1")
    cutoff = EXAMPLES[name][0]
    result = runner.invoke(
        app, ["backtest", str(REPO / "examples" / name), "--cutoff", cutoff, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["overall"]["n"] > 50
    assert metrics["overall"]["mdape"] < 0.25


def test_wrong_mapping_names_the_missing_columns(shared_data: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "examples" / "king_county.yaml").read_text())
    raw["data"]["path"] = str((REPO / "examples" / raw["data"]["path"]).resolve())
    raw["data"]["columns"]["area_m2"] = "sqft_living_area"
    raw["data"]["columns"]["rooms"] = "beds"
    path = tmp_path / "kc.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["backtest", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2  # a mapping that does not fit the data (README: exit codes)
    assert "'sqft_living_area'" in result.output and "'beds'" in result.output
