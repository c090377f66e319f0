"""The error trend per city: robust slope, honest interval, month-level shocks pooled."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from estimo.monitor.trend import error_trends

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]


def pairs_of(
    rng: np.random.Generator,
    slopes: dict[str, float],
    per_month: int = 250,
    spread: float = 0.09,
    shock: float = 0.0,
    wrong_share: float = 0.0,
) -> pd.DataFrame:
    """Outcomes against a flat valuation of 100: each city's log error rises ``slope`` a
    month, every month shifts all cities by a shared shock (sd ``shock``), and a share of
    outcomes is wildly wrong (x10)."""
    shocks = rng.normal(0, shock, len(MONTHS)) if shock else np.zeros(len(MONTHS))
    frames = []
    for city, slope in slopes.items():
        step = np.repeat(np.arange(len(MONTHS)), per_month)
        log_error = slope * step + shocks[step] + rng.normal(0, spread, len(step))
        wrong = rng.random(len(step)) < wrong_share
        log_error = np.where(wrong, log_error + np.log(10.0), log_error)
        frames.append(
            pd.DataFrame(
                {
                    "city": city,
                    "month": np.repeat(MONTHS, per_month),
                    "predicted": 100.0,
                    "actual": 100.0 * np.exp(log_error),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_drifting_city_is_found_and_its_drift_accumulated() -> None:
    trends = error_trends(pairs_of(np.random.default_rng(1), {"Roma": 0.01, "Bari": 0.0}))
    trends = trends.set_index("city")
    assert trends.loc["Roma", "slope"] == pytest.approx(0.01, abs=0.004)
    assert trends.loc["Roma", "slope_low"] > 0
    assert trends.loc["Roma", "served_months"] == 5
    assert trends.loc["Roma", "drift"] == pytest.approx(5 * trends.loc["Roma", "slope"])
    assert abs(trends.loc["Bari", "slope"]) < 0.006  # three standard errors
    assert trends.loc["Roma", "n"] == 5 * 250 and trends.loc["Roma", "n_months"] == 5


def test_wildly_wrong_outcomes_do_not_move_the_slope() -> None:
    """5 % of outcomes x10 (a digit too many), all in the newest month: a least-squares
    line would read a 20 %/month rise; the robust line still reads the 1 %."""
    rng = np.random.default_rng(2)
    pairs = pairs_of(rng, {"Roma": 0.01})
    newest = np.flatnonzero(pairs["month"].to_numpy() == MONTHS[-1])
    wrong = rng.choice(newest, size=int(0.05 * len(pairs)), replace=False)
    pairs.loc[wrong, "actual"] *= 10.0
    slope = float(error_trends(pairs)["slope"].iloc[0])
    assert slope == pytest.approx(0.01, abs=0.005)


def test_the_interval_covers_the_true_slope_as_often_as_it_says() -> None:
    """90 % intervals of stable cities (no shock): 0 inside about 90 % of the time."""
    rng = np.random.default_rng(3)
    covered = []
    for _ in range(60):
        trends = error_trends(pairs_of(rng, {c: 0.0 for c in "ABCDE"}, per_month=60))
        covered += ((trends["slope_low"] < 0) & (trends["slope_high"] > 0)).tolist()
    assert 0.85 <= np.mean(covered) <= 0.95


def test_shocks_every_city_shares_widen_the_interval() -> None:
    """Months that move every city together (sd 3 %) are not a trend of any one city:
    pooled over the cities, their variance widens each city's interval enough that a
    stable city is rarely read as trending; without it, most seeds would flag one."""
    rng = np.random.default_rng(4)
    trending, widths, calm_widths = 0, [], []
    for _ in range(20):
        shaken = error_trends(pairs_of(rng, {c: 0.0 for c in "ABCDEF"}, shock=0.03))
        trending += int(((shaken["slope_low"] > 0) | (shaken["slope_high"] < 0)).sum())
        widths.append(float((shaken["slope_high"] - shaken["slope_low"]).mean()))
        calm = error_trends(pairs_of(rng, {c: 0.0 for c in "ABCDEF"}))
        calm_widths.append(float((calm["slope_high"] - calm["slope_low"]).mean()))
    # 120 city-intervals at 90 %: about 12 would miss by chance even when calibrated
    assert trending <= 30
    assert np.median(widths) > 2 * np.median(calm_widths)


def test_cities_without_enough_months_get_no_line() -> None:
    pairs = pairs_of(np.random.default_rng(5), {"Roma": 0.0, "Bari": 0.0})
    few = pairs.loc[(pairs["city"] == "Roma") | (pairs.index % 250 < 10)]  # Bari: 10 a month
    trends = error_trends(few, min_group_size=30)
    assert trends["city"].tolist() == ["Roma"]
    assert error_trends(few.iloc[0:0]).empty


def test_outcomes_without_a_usable_ratio_are_left_out_quietly() -> None:
    """A zero price, a missing valuation or an infinite one gives no log ratio: those
    outcomes are left out, without a numpy warning, and the rest still make the line."""
    pairs = pairs_of(np.random.default_rng(6), {"Roma": 0.01})
    pairs.loc[::50, "actual"] = 0.0
    pairs.loc[1::50, "predicted"] = np.nan
    pairs.loc[2::50, "predicted"] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trends = error_trends(pairs)
    assert trends["n"].iloc[0] == len(pairs) - 3 * len(pairs) // 50
    assert trends["slope"].iloc[0] == pytest.approx(0.01, abs=0.004)
