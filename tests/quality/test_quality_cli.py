"""`estimo audit` and `estimo clean` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.synth import SyntheticMarket

runner = CliRunner()


@pytest.fixture(scope="module")
def messy_parquet(tmp_path_factory, market: SyntheticMarket) -> Path:
    path = tmp_path_factory.mktemp("data") / "market.parquet"
    market.frame.head(1500).to_parquet(path, index=False)
    return path


def test_audit_writes_report(messy_parquet, tmp_path, canonical_csv):
    result = runner.invoke(
        app,
        ["audit", str(messy_parquet), "--out", str(tmp_path), "--reference", str(canonical_csv)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "quality.json").read_text())
    assert report["summary"]["findings"]["error"] > 0
    assert "drift_columns" in report["tables"]
    assert (tmp_path / "quality.html").stat().st_size > 10_000


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("error", 1), ("bogus", 2)])
def test_audit_fail_on(messy_parquet, tmp_path, fail_on, code):
    result = runner.invoke(
        app, ["audit", str(messy_parquet), "-o", str(tmp_path), "--fail-on", fail_on]
    )
    assert result.exit_code == code, result.output


def test_clean_counts_add_up(messy_parquet, tmp_path):
    result = runner.invoke(app, ["clean", str(messy_parquet), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cleaned = pd.read_parquet(tmp_path / "cleaned.parquet")
    dropped = pd.read_parquet(tmp_path / "dropped.parquet")
    changes = pd.read_parquet(tmp_path / "changes.parquet")
    assert len(cleaned) + len(dropped) == len(pd.read_parquet(messy_parquet))
    assert set(changes.columns) == {"row", "id", "column", "old_value", "new_value", "rule", "span"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("price,date,city\nabc,2024-01-01,X\n", "no value is numeric"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["audit", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
