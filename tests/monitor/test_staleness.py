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
    table = staleness(_advice(0.0, 3, True), "2020-01-01", "2020-03-15", ["Milano"])
    row = table.iloc[0]
    assert row["age_months"] <= 3 and not bool(row["stale"])
    assert row["expected_pe10_loss"] == 0.0


def test_a_model_older_than_every_measured_age_is_stale_as_unmeasured() -> None:
    """42 months old against a backtest that measured 3 was 'not stale, no retraining'."""
    import pandas as pd

    from estimo.config import MonitorAlerts
    from estimo.monitor.alerts import evaluate_alerts

    table = staleness(_advice(0.0, 3, True), "2020-01-01", "2023-07-01", ["Milano"])
    row = table.iloc[0]
    assert bool(row["stale"]) and row["measured_up_to_months"] == 3
    assert row["expected_pe10_loss"] == 0.0  # nothing measured: no loss invented
    empty = pd.DataFrame()
    alerts = evaluate_alerts(
        month="2023-07",
        accuracy=empty,
        trends=empty,
        market=empty,
        drift=pd.DataFrame(columns=["feature", "psi"]),
        outside=empty,
        stale=table,
        rules=MonitorAlerts(),
    )
    (alert,) = [a for a in alerts if a.rule == "stale"]
    assert "older than any age the rolling backtest measured (3 months)" in alert.message


def test_the_retraining_advice_says_how_to_train_on_its_window() -> None:
    """'retrain ... on 2025-01-01 .. 2027-01-01 (estimo train ... --until ...)': train has
    no option for the window's start; the project file's data.min_date is it."""
    import pandas as pd

    from estimo.monitor.advice import retraining_advice
    from estimo.monitor.alerts import Alert

    stale = Alert("stale", "warning", "Milano", "2023-07", "old", 43.0, 3.0)
    advice = retraining_advice(
        [stale], pd.DataFrame(), pd.DataFrame(), "2023-07", 12, max_bias=0.05
    )
    assert advice["retrain"] and advice["train_from"] == "2022-08-01"
    assert "data.min_date: 2022-08-01" in advice["text"] and "--until 2023-08-01" in advice["text"]
