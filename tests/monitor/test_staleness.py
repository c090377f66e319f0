"""Staleness: the rolling backtest's decay, never extrapolated past the ages it measured."""

from __future__ import annotations

from estimo.monitor.staleness import staleness


def _advice(slope: float, every: int, beyond: bool) -> dict:
    ages = {1: 0.60, 2: 0.60 + slope, 3: 0.60 + 2 * slope}
    city = {
        "pe10_by_age": ages,
        "pe10_change_per_month": slope,
        "retrain_every_months": every,
        "beyond_horizon": beyond,
    }
    return {"overall": city, "by_city": {}}


def test_an_old_model_loses_at_most_what_the_backtest_measured() -> None:
    table = staleness(_advice(-0.02, 2, False), "2020-01-01", "2023-07-01", ["Milano"])
    row = table.iloc[0]
    assert row["age_months"] == 42 and bool(row["stale"])
    assert row["expected_pe10_loss"] == 0.04  # 2 months of decay measured, not 41 (-82 %)


def test_no_decay_within_the_horizon_is_not_called_stale() -> None:
    table = staleness(_advice(0.0, 3, True), "2020-01-01", "2023-07-01", ["Milano"])
    row = table.iloc[0]
    assert not bool(row["stale"]) and row["expected_pe10_loss"] == 0.0
