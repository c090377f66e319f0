"""The promotion gate end to end on a small synthetic market, through the command line.

A champion trained on an older window; a clean candidate trained on a newer window (better);
and a faulty candidate trained on the same newer window of data with 5 % of prices x10, 5 %
of coordinates at (0, 0) and 5 % duplicated rows, registered both ways (``estimo train
--register`` and ``estimo models register --data``). With the gate's default rules the clean
one is promoted and the faulty one rejected, naming the faults, however it was registered.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.registry import Registry
from estimo.synth import generate_market

runner = CliRunner()
OLD_UNTIL, NEW_UNTIL = "2022-10-01", "2023-09-01"
# seed 3 (before text features and the kept-missing rows) now gives the newer model a real,
# significant loss in Roma (-13.7 points, CI -23 to -4 on 139 rows): the gate rightly rejects it
SEED = int(os.environ.get("GATE_SEED", "4"))
LABELS = (
    "explain:\n  labels: {area_m2_missing: area unknown, year_built_missing: year unknown, "
    "condition_missing: condition unknown, rooms_missing: rooms unknown, "
    "floor_missing: floor unknown, bathrooms_missing: bathrooms unknown}\n"
)


def _faulty(frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """5 % of prices x10, 5 % of coordinates at (0, 0), 5 % of rows duplicated."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    n = len(out)
    out.loc[rng.choice(out.index, n // 20, replace=False), "price"] *= 10
    out.loc[rng.choice(out.index, n // 20, replace=False), ["lat", "lon"]] = 0.0
    copies = out.loc[rng.choice(out.index, n // 20, replace=False)]
    return pd.concat([out, copies], ignore_index=True)


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("lifecycle")
    market = generate_market(3_500, seed=SEED).frame  # the usual faults of the demo market
    paths = {}
    for name, frame in (("market", market), ("faulty", _faulty(market))):
        frame.to_parquet(root / f"{name}.parquet", index=False)
        project = root / f"{name}.yaml"
        project.write_text(
            f"data:\n  path: {name}.parquet\n  price_kind: price_kind\n"
            "engine: {n_estimators: 50, learning_rate: 0.15, min_city_rows: 800}\n"
            f"registry: {{url: registry}}\n{LABELS}"
        )
        paths[name] = str(project)
    reg = str(root / "registry")
    out = {"root": root, "registry": reg, **paths}
    steps = [
        ("train", paths["market"], "--until", OLD_UNTIL, "--out", str(root / "old")),
        ("train", paths["market"], "--until", NEW_UNTIL, "--out", str(root / "new")),
        ("train", paths["faulty"], "--until", NEW_UNTIL, "--out", str(root / "bad")),
    ]
    for step in steps:
        result = runner.invoke(app, [*step, "--register", reg])
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["models", "register", str(root / "bad"), "-r", reg, "--data", paths["faulty"]]
    )
    assert result.exit_code == 0, result.output
    _invoke("models", "alias", "champion", "v1", "-r", reg)
    out["promote"] = {
        v: runner.invoke(app, ["promote", v, "--data", paths["market"], "-r", reg])
        for v in ("v3", "v4", "v2")
    }
    return out


def _decision(registry: str, candidate: str) -> dict:
    [path] = [p for p in Path(registry, "decisions").glob(f"*-{candidate}-champion.json")]
    return json.loads(path.read_text())


def test_the_clean_newer_model_is_promoted(lifecycle: dict) -> None:
    result = lifecycle["promote"]["v2"]
    assert result.exit_code == 0, result.output
    decision = _decision(lifecycle["registry"], "v2")
    assert decision["outcome"] == "promoted"
    assert decision["comparison"]["overall"]["pe10"]["diff"] > 0
    cod = next(c for c in decision["checks"] if c["name"] == "cod")
    assert "trimmed" in cod["message"] and "untrimmed" in cod["message"]
    assert Registry(lifecycle["registry"]).aliases.get("champion") == "v2"


@pytest.mark.parametrize("candidate", ["v3", "v4"])  # train --register / models register --data
def test_the_faulty_model_is_rejected_naming_the_faults(lifecycle: dict, candidate: str) -> None:
    result = lifecycle["promote"][candidate]
    assert result.exit_code == 1, result.output
    decision = _decision(lifecycle["registry"], candidate)
    assert decision["outcome"] == "rejected"
    assert "data_quality" in decision["failed"]
    quality = next(c for c in decision["checks"] if c["name"] == "data_quality")["message"]
    for fault in ("x10", "(0, 0)", "duplicate"):
        assert fault in quality, quality


def test_both_registrations_record_the_same_findings(lifecycle: dict) -> None:
    registry = Registry(lifecycle["registry"])
    rules = {v: {f["rule"] for f in registry.manifest(v).quality["findings"]} for v in ("v3", "v4")}
    assert "consistency.price_scale" in rules["v3"]
    assert rules["v3"] == rules["v4"]


def test_train_register_records_test_metrics(lifecycle: dict) -> None:
    manifest = Registry(lifecycle["registry"]).manifest("v2")
    assert manifest.test is not None and manifest.test.kind == "test"
    assert manifest.test.overall["n"] > 100
    assert 0.3 < manifest.test.overall["pe10"] < 1
    assert manifest.test.target.startswith("sale-equivalent price")
    assert str(manifest.test.data.date_from) >= NEW_UNTIL


def test_promote_and_compare_score_the_same_rows(lifecycle: dict) -> None:
    root = lifecycle["root"]
    out = root / "compare"
    output = _invoke(
        "compare",
        str(root / "old"),
        str(root / "new"),
        "--data",
        lifecycle["market"],
        "--out",
        str(out),
        "--n-boot",
        "200",
    )
    comparison = json.loads((out / "comparison.json").read_text())
    gate = _decision(lifecycle["registry"], "v2")["comparison"]
    assert comparison["n"] == gate["n_rows"], output
    assert comparison["overall"]["pe10"]["diff"] == pytest.approx(gate["overall"]["pe10"]["diff"])


def test_models_show_names_the_engine_and_its_features(lifecycle: dict) -> None:
    output = _invoke("models", "show", "v2", "-p", lifecycle["market"])
    flat = " ".join(output.replace("│", " ").split())  # the table wraps long cells
    assert "valuation pipeline (cleaning policy + valuation engine (AVM)" in flat
    manifest = Registry(lifecycle["registry"]).manifest("v2")
    assert len(manifest.features) > 10
    assert f"{len(manifest.features)} features" in flat
