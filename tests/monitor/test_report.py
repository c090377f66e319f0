"""The monitoring report end to end on a small synthetic store: accuracy, drift, alerts,
files, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import MonitorConfig
from estimo.index import PriceIndex
from estimo.monitor.report import MonitorInputs, build_report, write_report
from estimo.monitor.store import ValuationStore

MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")
runner = CliRunner()


def training_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    city = np.where(rng.random(n) < 0.5, "A", "B")
    area = rng.normal(80, 20, n).clip(25, 200)
    date = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame(
        {
            "id": [f"T{i}" for i in range(n)],
            "city": city,
            "area_m2": area,
            "rooms": rng.integers(1, 6, n).astype(float),
            "lat": 45 + rng.normal(0, 0.02, n),
            "lon": 9 + rng.normal(0, 0.02, n),
            "date": date,
            "price": 3000 * area * rng.lognormal(0, 0.1, n),
        }
    )


def fill(store: ValuationStore, seed: int = 0) -> None:
    """6 months: city A stable, city B's outcomes rise 2 %/month above the valuations, city C
    never seen in training; in the last month the areas served are larger."""
    rng = np.random.default_rng(seed)
    valuations, outcomes = [], []
    i = 0
    for k, month in enumerate(MONTHS):
        for city, n in (("A", 150), ("B", 150), ("C", 40)):
            for _ in range(n):
                area = float(rng.normal(80 if k < 5 else 120, 20))
                price = 3000.0 * area
                served_at = month + pd.Timedelta(days=float(rng.uniform(0, 27)))
                valuations.append(
                    {
                        "request_id": f"r{i}",
                        "served_at": served_at,
                        "property": {
                            "id": f"P{i}",
                            "city": city,
                            "area_m2": area,
                            "rooms": 3,
                            "lat": 45 + rng.normal(0, 0.02),
                            "lon": 9 + rng.normal(0, 0.02),
                        },
                        "answer": {"price": price, "low": price * 0.9, "high": price * 1.1},
                        "model_version": "v2",
                        "tier": "pro",
                    }
                )
                drift = 1.02**k if city == "B" else 1.0
                outcomes.append(
                    {
                        "kind": "appraisal",
                        "request_id": f"r{i}",
                        "appraiser_id": f"X{i % 3}",
                        "price": price * drift * float(np.exp(rng.normal(0, 0.05))),
                        "date": served_at + pd.Timedelta(days=1),
                        "source": "bank",
                    }
                )
                if i % 3 == 0:
                    outcomes.append(
                        {
                            "kind": "sale",
                            "property_id": f"P{i}",
                            "source": "notary",
                            "price": price * drift * float(np.exp(rng.normal(0, 0.06))),
                            "date": served_at + pd.Timedelta(days=2),
                        }
                    )
                i += 1
    store.record_valuations(valuations)
    store.record_outcomes(outcomes)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> ValuationStore:
    path = tmp_path_factory.mktemp("report") / "monitor.db"
    store = ValuationStore.from_url(f"sqlite:///{path}")
    fill(store)
    return store


def inputs() -> MonitorInputs:
    reference = training_rows()
    return MonitorInputs(
        reference=reference,
        model_index=PriceIndex(min_rows=100).fit(reference),
        trained_until=pd.Timestamp("2023-12-31"),
        rolling_advice={"overall": {"retrain_every_months": 3, "pe10_change_per_month": -0.01}},
    )


def test_the_drifting_city_is_flagged_and_the_stable_one_is_not(
    sqlite_store: ValuationStore,
) -> None:
    report = build_report(sqlite_store, MonitorConfig(n_boot=200), inputs=inputs())
    assert report.flagged() == {"B"}
    trends = report.trends.set_index("city")
    assert trends.loc["B", "slope"] == pytest.approx(0.02, abs=0.006)
    assert trends.loc["A", "slope_low"] < 0 < trends.loc["A", "slope_high"]
    assert report.summary["n_valuations"] == 6 * 340
    assert (
        report.summary["n_paired"]
        == report.summary["n_outcomes"]["appraisal"] + report.summary["n_outcomes"]["sale"]
    )
    rules = {(a.rule, a.subject) for a in report.alerts}
    assert ("drift", "B") in rules and ("drift", "A") not in rules
    assert ("outside", "C") in rules  # a city the model never saw
    assert ("feature_drift", "area_m2") in rules  # larger properties in the newest month
    assert ("stale", "A") in rules  # 6 months old, the backtest says 3
    assert report.exit_code == 1
    assert [c["city"] for c in report.advice["cities"] if "drift" in c["reasons"]] == ["B"]


def test_accuracy_rows_hold_the_metrics_of_each_group(sqlite_store: ValuationStore) -> None:
    report = build_report(sqlite_store, MonitorConfig(n_boot=100), until="2024-02-01")
    acc = report.accuracy
    row = acc.loc[
        (acc["kind"] == "appraisal") & (acc["dimension"] == "city") & (acc["group"] == "A")
    ].iloc[0]
    assert (row["month"], row["n"], bool(row["too_small"])) == ("2024-01", 150, False)
    assert 0.02 < row["mdape"] < 0.05 and row["pe10"] > 0.9
    assert row["mdape_low"] <= row["mdape"] <= row["mdape_high"]
    assert 0.9 < row["coverage"] < 0.99  # +-10 % range, 5 % appraisal noise: about 95 %
    small = acc.loc[(acc["kind"] == "sale") & (acc["group"] == "C")].iloc[0]
    assert bool(small["too_small"]) and np.isnan(small["mdape"])  # 14 sales < 30
    versions = acc.loc[acc["dimension"] == "model_version", "group"].unique().tolist()
    assert versions == ["v2"]
    assert "no model given (--model)" in " ".join(report.notes)
    assert set(report.appraiser_model["appraiser_id"]) == {"X0", "X1", "X2", "(all)"}
    # every third property is sold, and appraised by X0 (i % 3 == 0)
    assert report.appraiser_sale["appraiser_id"].tolist() == ["X0", "(all)"]


def test_report_files(sqlite_store: ValuationStore, tmp_path: Path) -> None:
    report = build_report(sqlite_store, MonitorConfig(n_boot=100), inputs=inputs())
    paths = write_report(report, tmp_path)
    alerts = json.loads(paths["alerts"].read_text())
    assert alerts["exit_code"] == 1
    assert {a["rule"] for a in alerts["alerts"]} >= {"drift", "outside", "feature_drift"}
    full = json.loads(paths["json"].read_text())
    assert {"accuracy", "trends", "market", "drift", "outside", "staleness"} <= set(full)
    html = paths["html"].read_text()
    for title in (
        "Alerts",
        "Retraining advice",
        "Error trend per city",
        "Market drift",
        "Feature drift",
        "Volume",
    ):
        assert f"<h2>{title}" in html
    assert html.count("<svg") >= 5


def test_an_empty_period_is_a_clear_error(sqlite_store: ValuationStore) -> None:
    from estimo.errors import DataError

    with pytest.raises(DataError, match="no valuation served between 2030-01-01"):
        build_report(sqlite_store, since="2030-01-01")


def test_report_on_both_databases(store: ValuationStore) -> None:
    fill(store, seed=1)
    report = build_report(store, MonitorConfig(n_boot=100), inputs=inputs())
    assert report.flagged() == {"B"}
    assert ("feature_drift", "area_m2") in {(a.rule, a.subject) for a in report.alerts}
    records = store.records_frame(limit=5)
    assert len(records) == 5 and records["served_at"].is_monotonic_increasing
    assert set(records["record"].iloc[0]) == {"id", "city", "area_m2", "rooms", "lat", "lon"}


def test_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert runner.invoke(app, ["monitor", "db", "upgrade", "--store", url]).exit_code == 0
    store = ValuationStore.from_url(url)
    fill(store)
    reference = tmp_path / "train.csv"
    training_rows().to_csv(reference, index=False)
    sales = tmp_path / "sales.csv"
    pd.DataFrame(
        {"property_id": ["P1", "P2"], "price": [2.5e5, 2.6e5], "date": ["2024-06-20", "2024-06-21"]}
    ).to_csv(sales, index=False)
    first = runner.invoke(app, ["outcomes", "import", str(sales), "--store", url])
    assert first.exit_code == 0, first.output
    assert "2 new" in first.output
    again = runner.invoke(app, ["outcomes", "import", str(sales), "--store", url])
    assert "0 new" in again.output and "2 already stored" in again.output
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["monitor", "--store", url, "--reference", str(reference), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "drift: B: prices are moving away from the model" in result.output
    assert json.loads((out / "alerts.json").read_text())["exit_code"] == 1
    empty = runner.invoke(
        app, ["monitor", "--store", f"sqlite:///{tmp_path / 'e.db'}", "--out", str(out)]
    )
    assert empty.exit_code == 1 and "nothing to monitor" in empty.output


def test_a_project_file_sets_the_store_and_the_mapping(tmp_path: Path) -> None:
    (tmp_path / "estimo.yaml").write_text(
        "data: {path: x.csv}\n"
        "monitor:\n  store_url: sqlite:///db/monitor.db\n"
        "  outcomes: {columns: {property_id: ref, price: value}, kind: appraisal,"
        " source: bank}\n"
    )
    file = tmp_path / "appraisals.parquet"
    pd.DataFrame({"ref": ["P9"], "value": [1e5], "date": ["2024-02-01"]}).to_parquet(file)
    result = runner.invoke(
        app, ["outcomes", "import", str(file), "-c", str(tmp_path / "estimo.yaml")]
    )
    assert result.exit_code == 0, result.output
    stored = ValuationStore.from_url(f"sqlite:///{tmp_path / 'db' / 'monitor.db'}")
    assert stored.outcomes_frame()[["kind", "source", "price"]].values.tolist() == [
        ["appraisal", "bank", 1e5]
    ]
