"""The promotion gate on recent live outcomes: `estimo promote --live`, the `live_outcomes`
check and the decision's `live` record."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import GateConfig
from estimo.model.bundle import save_model
from estimo.model.valuation import ValuationModel
from estimo.monitor.store import ValuationStore
from estimo.promote import promote
from estimo.registry import Registry
from estimo.synth import SyntheticMarket

runner = CliRunner()
OLD_END, NEW_END = pd.Timestamp("2022-10-01"), pd.Timestamp("2023-10-01")
RECORD = ["id", "city", "lat", "lon", "area_m2", "rooms", "bathrooms", "floor", "year_built"]


def _model_dir(root: Path, frame: pd.DataFrame, end: pd.Timestamp, name: str) -> str:
    train = frame.loc[frame["date"] < end]
    model = ValuationModel(n_estimators=40, learning_rate=0.15, n_jobs=1).fit(train)
    window = {"from": f"{train['date'].min():%Y-%m-%d}", "to": f"{train['date'].max():%Y-%m-%d}"}
    return save_model(model, str(root / name), extra={"training_window": window})


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, clean_market: SyntheticMarket) -> dict:
    """Two models (old and new window) and a store of the valuations served after both
    windows, each with its sale as the live outcome."""
    root = tmp_path_factory.mktemp("gate-live")
    frame = clean_market.frame
    data = root / "market.parquet"
    frame.to_parquet(data, index=False)
    live = frame.loc[frame["date"] >= NEW_END].reset_index(drop=True)
    url = f"sqlite:///{root / 'monitor.db'}"
    store = ValuationStore.from_url(url)
    served = [
        {
            "request_id": f"r{i}",
            "served_at": row["date"],
            "property": {k: row[k] for k in RECORD if k in row and pd.notna(row[k])},
            "answer": {"price": float(row["price"])},
        }
        for i, row in live.iterrows()
    ]
    store.record_valuations(served)
    store.record_outcomes(
        {
            "kind": "sale",
            "request_id": f"r{i}",
            "price": float(row["price"]),
            "date": row["date"],
            "source": "notary",
        }
        for i, row in live.iterrows()
    )
    store.dispose()
    return {
        "data": data,
        "url": url,
        "n_live": len(live),
        "old": _model_dir(root, frame, OLD_END, "old"),
        "new": _model_dir(root, frame, NEW_END, "new"),
    }


def _registry(root: Path, setup: dict, order: tuple[str, str]) -> Registry:
    for name in order:
        result = runner.invoke(app, ["models", "register", setup[name], "-r", str(root / "reg")])
        assert result.exit_code == 0, result.output
    return Registry(str(root / "reg"))


def test_promote_live_records_both_models_on_the_same_outcomes(setup: dict, tmp_path) -> None:
    registry = _registry(tmp_path, setup, ("old", "new"))
    frame = pd.read_parquet(setup["data"])
    assert promote(registry, "v1", frame).outcome == "promoted"
    rules = GateConfig(live_min_rows=50, n_boot=200)
    decision = promote(
        registry, "v2", frame, rules=rules, live_store=setup["url"], live_since="2023-10-01"
    )
    live = decision.live
    assert live is not None and live["n"] == setup["n_live"] >= 50
    assert live["since"] == "2023-10-01" and live["kinds"] == ["sale", "appraisal"]
    assert (
        set(live["champion"]) == set(live["candidate"]) == {"mdape", "pe10", "cod", "median_ratio"}
    )
    check = {c.name: c for c in decision.checks}["live_outcomes"]
    assert check.status == ("fail" if live["verdict"] == "candidate worse" else "pass")
    assert check.value == live["differences"]["pe10"]["candidate_minus_champion"]
    stored = json.loads(Path(decision.record_json).read_text())
    assert stored["live"]["n"] == live["n"]
    markdown = Path(decision.record_markdown).read_text()
    assert f"## On live outcomes ({live['n']} sale and appraisal outcomes" in markdown


def test_a_candidate_clearly_worse_live_is_rejected(setup: dict, tmp_path) -> None:
    """The older model as the candidate against the newer champion, on newer outcomes."""
    registry = _registry(tmp_path, setup, ("new", "old"))
    frame = pd.read_parquet(setup["data"])
    promote(registry, "v1", frame)
    rules = GateConfig(live_min_rows=50, n_boot=200, max_pe10_drop=1.0, max_city_pe10_drop=1.0)
    decision = promote(
        registry, "v2", frame, rules=rules, live_store=setup["url"], live_since="2023-10-01"
    )
    assert decision.live["verdict"] == "candidate worse"
    assert decision.outcome == "rejected" and "live_outcomes" in decision.failed
    relaxed = GateConfig(**{**rules.model_dump(), "live_must_not_lose": False})
    decision = promote(
        registry, "v2", frame, rules=relaxed, live_store=setup["url"], live_since="2023-10-01"
    )
    assert {c.name: c.status for c in decision.checks}["live_outcomes"] == "pass"


def test_too_few_live_outcomes_skip_the_check(setup: dict, tmp_path) -> None:
    registry = _registry(tmp_path, setup, ("old", "new"))
    frame = pd.read_parquet(setup["data"])
    promote(registry, "v1", frame)
    decision = promote(registry, "v2", frame, live_store=setup["url"], live_since="2030-01-01")
    check = {c.name: c for c in decision.checks}["live_outcomes"]
    assert check.status == "skip" and "only 0 live outcomes" in check.message
    assert decision.live["verdict"] == "too few outcomes"


def test_estimo_promote_live(setup: dict, tmp_path) -> None:
    reg = tmp_path / "registry"
    for name in ("old", "new"):
        assert (
            runner.invoke(app, ["models", "register", setup[name], "-r", str(reg)]).exit_code == 0
        )
    base = ["promote", "--data", str(setup["data"]), "-r", str(reg)]
    assert runner.invoke(app, [*base[:1], "v1", *base[1:]]).exit_code == 0
    usage = runner.invoke(app, [base[0], "v2", *base[1:], "--live-since", "2023-10-01"])
    assert usage.exit_code == 2 and "need --live" in usage.output
    result = runner.invoke(
        app,
        [
            base[0],
            "v2",
            *base[1:],
            "--live",
            "--live-store",
            setup["url"],
            "--live-since",
            "2023-10-01",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    assert f"on {setup['n_live']} live outcomes:" in result.output
    assert "live_outcomes" in result.output
    record = json.loads(next((reg / "decisions").glob("*v2*.json")).read_text())
    assert record["live"]["n"] == setup["n_live"]
