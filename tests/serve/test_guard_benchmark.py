"""benchmarks/extraction.py at a tiny size: its main path runs, its output has the shape
RESULTS.md quotes, and the detector acts on the grid attacker."""

from __future__ import annotations

import doctest
import importlib.util
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "extraction.py"
TINY = [
    "--rows", "4000", "--budgets", "100", "300", "--fresh", "300", "--clients", "20",
    "--trees", "30", "--surrogate-trees", "40", "--days", "1", "2", "--shifts", "0.05",
]  # fmt: skip
ATTACKERS = ["realistic", "random", "grid"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("extraction_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result(bench) -> dict:
    return bench.run(bench.parse_args(TINY))


def _share(value: float) -> bool:
    return 0.0 <= value <= 1.0


def test_the_benchmark_s_doctests_pass(bench) -> None:
    failed, attempted = doctest.testmod(bench)
    assert attempted >= 3 and failed == 0


def test_honest_clients_are_replayed(result: dict) -> None:
    (honest,) = result["honest"].values()
    assert honest["clients"] == 20 and 0 <= honest["flagged"] <= 20
    assert len(honest["events"]) == honest["flagged"]


def test_costs_of_each_public_shaping(result: dict) -> None:
    costs = result["costs"]
    assert list(costs) == ["fixed 5000", "public", "shift 5%"]
    for cost in costs.values():
        assert 0 <= cost["median"] <= cost["p95"] <= cost["max"]
    assert costs["public"]["max"] <= 0.01 + 1e-9  # half of the 2 % step at most
    assert 0.04 <= costs["shift 5%"]["median"] <= 0.06  # the shift plus the rounding


def test_the_detector_acts_on_the_grid_attacker(result: dict) -> None:
    assert set(result["detection"]) == set(ATTACKERS)
    grid = result["detection"]["grid"]
    assert grid["at"] is not None and grid["at"] <= 100
    assert grid["action"].split()[0] in {"throttle", "captcha", "block"}
    grid_curve = [row for row in result["curves"] if row["attacker"] == "grid"]
    assert all(row["public, until detected"] is None for row in grid_curve)  # < 50 answers


def test_curves_and_the_limits_curve_have_every_row(result: dict) -> None:
    assert _share(result["baseline"])
    curves = result["curves"]
    assert [(r["attacker"], r["queries"]) for r in curves] == [
        (kind, budget) for kind in ATTACKERS for budget in (100, 300)
    ]
    tiers = ["internal", "fixed 5000", "public", "shift 5%"]
    for row in curves:
        assert all(_share(row[tier]) for tier in tiers), row
        assert row["days/key"] == math.ceil(row["queries"] / result["daily_limit"])
    assert result["daily_limit"] == 300  # the default public limit
    limits = result["limits"]
    assert [(r["attacker"], r["days"], r["queries"]) for r in limits] == [
        (kind, days, 300 * days) for kind in ATTACKERS for days in (1, 2)
    ]
    assert all(_share(r["public"]) for r in limits)
    # one day of one key is the 300-query budget's public answers: the same surrogate
    one_day = {r["attacker"]: r["public"] for r in limits if r["days"] == 1}
    at_300 = {r["attacker"]: r["public"] for r in curves if r["queries"] == 300}
    assert one_day == at_300


def test_the_report_prints_both_tables(bench, result: dict, capsys) -> None:
    bench.report(result)
    out = capsys.readouterr().out
    assert "grid: detector acts at query" in out
    assert "with limits: agreement with the public answers one key gets through" in out
    assert "< 50" in out and "nan" not in out
