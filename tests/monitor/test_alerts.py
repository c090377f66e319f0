"""The alert rules not covered by ``test_report``: ``bias``, ``pe10``, ``market`` and the
missing-rate half of ``feature_drift``; thresholds and ``fail_on`` from ``estimo.yaml``;
asking prices in the report (counted and measured apart, never mixed with appraisals or
sales).

The store: 4 cities over 6 months, 200 valuations a city-month, each appraised (5 % noise):

* ``Ok``: valuations right; also an asking price, 8 % above the valuation, for half of them;
* ``Hi``: valuations 12 % above the appraisals (critical bias: the interval's near end is
  more than twice ``max_bias`` = 5 % from 1; PE10 about 35 %, below ``min_pe10`` = 50 %);
* ``Lo``: valuations 7 % below (a warning; PE10 about 70 %, no ``pe10`` alert);
* ``Up``: appraisals rise 3 % a month over valuations and a model index that are flat
  (market drift: +15 % by the sixth month against the model's 0 %; also a drift, a bias
  and a PE10 alert).

``rooms`` is missing in 30 % of the served records (never in training): a missing-rate alert;
``lat`` in 5 % (below ``max_missing_change`` = 10 %): none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import MonitorAlerts, MonitorConfig
from estimo.index import PriceIndex
from estimo.monitor.alerts import evaluate_alerts
from estimo.monitor.report import MonitorInputs, MonitorReport, build_report
from estimo.monitor.store import ValuationStore

MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")
BIAS = {"Ok": 1.0, "Hi": 1.12, "Lo": 0.93, "Up": 1.0}
runner = CliRunner()


def reference_rows(seed: int = 0) -> pd.DataFrame:
    """A year of training rows in the four cities, prices flat."""
    rng = np.random.default_rng(seed)
    n = 4000
    area = rng.normal(80, 20, n).clip(25, 200)
    return pd.DataFrame(
        {
            "id": [f"T{i}" for i in range(n)],
            "city": rng.choice(list(BIAS), n),
            "area_m2": area,
            "rooms": rng.integers(1, 6, n).astype(float),
            "lat": 45 + rng.normal(0, 0.02, n),
            "lon": 9 + rng.normal(0, 0.02, n),
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "price": 3000 * area * rng.lognormal(0, 0.05, n),
        }
    )


def fill(store: ValuationStore, seed: int = 0) -> None:
    """The store of the module docstring."""
    rng = np.random.default_rng(seed)
    valuations, outcomes = [], []
    i = 0
    for k, month in enumerate(MONTHS):
        for city, bias in BIAS.items():
            for _ in range(200):
                area = float(np.clip(rng.normal(80, 20), 25, 200))
                price = 3000.0 * area
                served_at = month + pd.Timedelta(days=float(rng.uniform(0, 27)))
                record = {
                    "id": f"P{i}",
                    "city": city,
                    "area_m2": area,
                    "rooms": None if rng.random() < 0.3 else 3.0,
                    "lat": None if rng.random() < 0.05 else 45 + rng.normal(0, 0.02),
                    "lon": 9 + rng.normal(0, 0.02),
                }
                valuations.append(
                    {
                        "request_id": f"r{i}",
                        "served_at": served_at,
                        "property": record,
                        "answer": {"price": price, "low": price * 0.9, "high": price * 1.1},
                        "model_version": "v1",
                        "tier": "pro",
                    }
                )
                rise = 1.03**k if city == "Up" else 1.0
                outcomes.append(
                    {
                        "kind": "appraisal",
                        "request_id": f"r{i}",
                        "property_id": f"P{i}",
                        "appraiser_id": f"X{i % 3}",
                        "price": price / bias * rise * float(np.exp(rng.normal(0, 0.05))),
                        "date": served_at + pd.Timedelta(days=1),
                        "source": "bank",
                    }
                )
                if city == "Ok" and i % 2 == 0:
                    outcomes.append(
                        {
                            "kind": "asking",
                            "property_id": f"P{i}",
                            "price": price * 1.08 * float(np.exp(rng.normal(0, 0.03))),
                            "date": served_at + pd.Timedelta(days=3),
                            "source": "portal",
                        }
                    )
                i += 1
    store.record_valuations(valuations)
    store.record_outcomes(outcomes)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alerts") / "monitor.db"
    store = ValuationStore.from_url(f"sqlite:///{path}")
    fill(store)
    store.dispose()
    return path


@pytest.fixture(scope="module")
def report(db: Path) -> MonitorReport:
    reference = reference_rows()
    store = ValuationStore.from_url(f"sqlite:///{db}")
    inputs = MonitorInputs(
        reference=reference,
        model_index=PriceIndex(min_rows=100, trend_months=0).fit(reference),
        trained_until=pd.Timestamp("2023-12-31"),
    )
    made = build_report(store, MonitorConfig(n_boot=200), inputs=inputs)
    store.dispose()
    return made


def test_bias_is_critical_beyond_twice_the_threshold_and_a_warning_below(
    report: MonitorReport,
) -> None:
    bias = {a.subject: a for a in report.alerts if a.rule == "bias" and "appraisals" in a.message}
    assert set(bias) == {"Hi", "Lo", "Up"}  # Ok is right against its appraisals
    hi, lo = bias["Hi"], bias["Lo"]
    assert (hi.severity, hi.month, hi.threshold) == ("critical", "2024-06", 0.05)
    assert hi.value == pytest.approx(0.12, abs=0.015) and "above appraisals" in hi.message
    assert (lo.severity, lo.threshold) == ("warning", 0.05)
    assert lo.value == pytest.approx(-0.07, abs=0.015) and "below appraisals" in lo.message
    assert bias["Up"].severity == "critical"  # 15 % below by June
    assert report.exit_code == 1


def test_asking_prices_alone_raise_no_bias_alert(report: MonitorReport) -> None:
    assert not [a for a in report.alerts if a.rule in ("bias", "pe10") and a.subject == "Ok"]


def test_pe10_flags_only_the_cities_whose_whole_interval_is_below_the_threshold(
    report: MonitorReport,
) -> None:
    pe10 = {a.subject: a for a in report.alerts if a.rule == "pe10"}
    assert set(pe10) == {"Hi", "Up"}
    hi = pe10["Hi"]
    assert (hi.severity, hi.threshold) == ("warning", 0.5)
    assert hi.value == pytest.approx(0.35, abs=0.1)
    acc = report.accuracy.set_index(["kind", "dimension", "group", "month"])
    assert acc.loc[("appraisal", "city", "Hi", "2024-06"), "pe10_high"] < 0.5
    assert acc.loc[("appraisal", "city", "Lo", "2024-06"), "pe10_high"] >= 0.5


def test_market_flags_the_city_whose_prices_moved_away_from_the_model_index(
    report: MonitorReport,
) -> None:
    market = {a.subject: a for a in report.alerts if a.rule == "market"}
    assert set(market) == {"Up"}
    up = market["Up"]
    assert up.value == pytest.approx(0.15, abs=0.03) and up.threshold == 0.05
    assert up.month == "2024-06" and "the model assumes" in up.message
    gaps = report.market.loc[report.market["month"] == "2024-06"].set_index("city")["gap"]
    assert (gaps.drop("Up").abs() < 0.05).all()


def test_a_changed_missing_rate_is_a_feature_drift_alert(report: MonitorReport) -> None:
    missing = [a for a in report.alerts if a.rule == "feature_drift" and "missing" in a.message]
    assert [a.subject for a in missing] == ["rooms"]
    assert missing[0].value == pytest.approx(0.3, abs=0.03)
    assert missing[0].threshold == 0.10
    assert "missing rate of 'rooms' went from 0.0% to" in missing[0].message
    lat = report.drift.set_index("column").loc["lat", "missing_change"]
    assert 0.02 < lat < 0.10  # a change below max_missing_change: no alert


def test_asking_prices_are_counted_and_measured_apart(report: MonitorReport) -> None:
    summary = report.summary
    assert summary["n_outcomes"]["asking"] == 6 * 100
    assert summary["n_outcomes"]["appraisal"] == 6 * 4 * 200
    acc = report.accuracy
    asking = acc.loc[(acc["kind"] == "asking") & (acc["dimension"] == "city")]
    assert set(asking["group"]) == {"Ok"} and (asking["n"] == 100).all()
    assert asking["median_ratio"].between(0.90, 0.95).all()  # asking 8 % above the valuation
    appraisal = acc.loc[
        (acc["kind"] == "appraisal") & (acc["dimension"] == "city") & (acc["group"] == "Ok")
    ]
    assert appraisal["median_ratio"].between(0.98, 1.02).all()  # not mixed with the askings
    # error trends, market drift and appraiser agreement use appraisals and sales only
    assert set(report.trends["city"]) == set(BIAS)
    assert report.market.loc[report.market["city"] == "Ok", "n"].max() == 200
    assert "(all)" in set(report.appraiser_model["appraiser_id"])


def test_evaluate_alerts_uses_the_thresholds_given() -> None:
    accuracy = pd.DataFrame(
        {
            "kind": ["sale"],
            "dimension": ["city"],
            "group": ["Roma"],
            "month": ["2024-05"],
            "n": [80],
            "too_small": [False],
            "median_ratio": [0.92],
            "median_ratio_low": [0.90],
            "median_ratio_high": [0.94],
            "pe10": [0.6],
            "pe10_high": [0.7],
        }
    )
    empty = pd.DataFrame()
    drift = pd.DataFrame(
        {
            "column": ["rooms"],
            "missing_reference": [0.0],
            "missing_current": [0.2],
            "psi": [0.01],
            "missing_change": [0.2],
        }
    )
    market = pd.DataFrame(
        {"city": ["Roma"], "month": ["2024-05"], "n": [50], "observed": [0.08], "model": [0.0]}
    ).assign(gap=[0.08])

    def rules(**kw: float) -> list[tuple[str, str]]:
        found = evaluate_alerts(
            month="2024-05",
            accuracy=accuracy,
            trends=pd.DataFrame(columns=["latest_month"]),
            market=market,
            drift=drift,
            outside=empty,
            stale=empty,
            rules=MonitorAlerts(**kw),
        )
        return sorted((a.rule, a.severity) for a in found)

    defaults = [
        ("bias", "warning"),
        ("feature_drift", "warning"),
        ("market", "warning"),
    ]
    assert rules() == defaults
    assert rules(max_bias=0.02) == sorted([("bias", "critical"), *defaults[1:]])
    loose = rules(max_bias=0.2, max_missing_change=0.5, max_index_gap=0.1, min_pe10=0.8)
    assert loose == [("pe10", "warning")]  # 0.7 at the interval's top < 0.8


def _yaml(tmp_path: Path, db: Path, alerts: str) -> Path:
    path = tmp_path / "estimo.yaml"
    path.write_text(
        f"data: {{path: x.csv}}\nmonitor:\n  store_url: sqlite:///{db}\n  n_boot: 50\n"
        f"  alerts:\n{alerts}"
    )
    return path


def test_thresholds_and_fail_on_come_from_the_project_file(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def run(alerts: str) -> tuple[int, dict]:
        config = _yaml(tmp_path, db, alerts)
        result = runner.invoke(app, ["monitor", "-c", str(config), "--out", str(out)])
        assert result.exit_code in (0, 1), result.output
        words = " ".join(result.output.split())
        assert "4,800 appraisals, 0 sales, 600 asking prices" in words
        assert re.search(r"asking prices\s*│\s*Ok\s*│\s*100", words)  # the newest month
        written = json.loads((out / "alerts.json").read_text())
        assert written["exit_code"] == result.exit_code
        return result.exit_code, written

    code, written = run("    fail_on: warning\n")
    assert code == 1
    assert {(a["rule"], a["subject"], a["severity"]) for a in written["alerts"]} >= {
        ("bias", "Hi", "critical"),
        ("bias", "Lo", "warning"),
    }
    # at max_bias 8 % and max_drift 20 % only warnings are left: fail_on critical gives 0
    code, written = run("    fail_on: critical\n    max_bias: 0.08\n    max_drift: 0.2\n")
    severities = {(a["rule"], a["subject"]): a["severity"] for a in written["alerts"]}
    assert severities[("bias", "Hi")] == "warning" and ("bias", "Lo") not in severities
    assert ("drift", "Up") not in severities
    assert "critical" not in severities.values() and code == 0
    code, _ = run("    fail_on: warning\n    max_bias: 0.08\n    max_drift: 0.2\n")
    assert code == 1  # the same warnings fail at fail_on warning
    # looser thresholds silence the rules
    code, written = run("    max_bias: 0.5\n    min_pe10: 0.1\n    max_drift: 0.5\n")
    assert code == 0 and written["alerts"] == []
    bad = _yaml(tmp_path, db, "    fail_on: sometimes\n")
    result = runner.invoke(app, ["monitor", "-c", str(bad), "--out", str(out)])
    assert result.exit_code != 0 and "fail_on" in result.output


def test_market_reads_each_city_s_newest_month_with_enough_outcomes() -> None:
    """Outcomes come after their valuations: a partly filled newest month (5 outcomes)
    must not hide a city 15 % away from the model's index in the month before."""
    market = pd.DataFrame(
        {
            "city": ["Roma", "Roma", "Roma", "Milano"],
            "month": ["2024-05", "2024-06", "2024-07", "2024-06"],
            "n": [200, 200, 5, 200],
            "observed": [0.10, 0.15, 0.40, 0.07],
            "model": [0.0, 0.0, 0.0, 0.0],
        }
    ).assign(gap=lambda m: m["observed"] - m["model"])
    empty = pd.DataFrame()
    found = evaluate_alerts(
        month="2024-07",
        accuracy=empty,
        trends=pd.DataFrame(columns=["latest_month"]),
        market=market,
        drift=pd.DataFrame(columns=["column", "psi", "missing_change"]),
        outside=empty,
        stale=empty,
        rules=MonitorAlerts(max_index_gap=0.05),
    )
    alerts = {a.subject: a for a in found if a.rule == "market"}
    assert set(alerts) == {"Roma", "Milano"}
    assert (alerts["Roma"].month, alerts["Roma"].severity) == ("2024-06", "critical")
    assert alerts["Roma"].value == pytest.approx(0.15)  # not the 5-outcome July
    assert (alerts["Milano"].month, alerts["Milano"].severity) == ("2024-06", "warning")
