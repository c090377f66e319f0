"""The price index's hedonic regression: characteristics as controls, smoothing by left-out
months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.hedonic import (
    SMOOTHING_GRID,
    characteristic_groups,
    characteristics,
    smoothed_curve,
    smoothing_by_left_out_months,
)
from estimo.index import PriceIndex


def _mix_market(seed: int = 0, n: int = 4_000) -> pd.DataFrame:
    """One city, 24 months, a flat price level; in months 9-14 mostly the best homes sell
    (quality 3 of 1-3 is worth +30 %): a mix shift, not a price rise."""
    rng = np.random.default_rng(seed)
    month = rng.integers(0, 24, n)
    boom = (month >= 9) & (month <= 14)
    quality = np.where(boom, rng.choice([1, 2, 3], n, p=[0.1, 0.2, 0.7]), rng.choice([1, 2, 3], n))
    area = rng.uniform(50, 150, n)
    log_price = 8.0 + np.log(area) + 0.13 * (quality - 1) + rng.normal(0, 0.05, n)
    return pd.DataFrame(
        {
            "id": [f"h{i}" for i in range(n)],
            "price": np.exp(log_price),
            "date": pd.Timestamp("2022-01-01") + pd.to_timedelta(month * 31, unit="D"),
            "city": "Town",
            "area_m2": area,
            "quality": quality.astype(float),
            "_internal": rng.normal(size=n),
        }
    )


def _swing(index: PriceIndex, city: str = "Town") -> float:
    curve = index.log_index_[city]
    return float(curve.max() - curve.min())


def test_a_month_in_which_better_homes_sold_is_not_a_price_rise() -> None:
    frame = _mix_market()
    with_mix = PriceIndex(controls="location").fit(frame)
    held = PriceIndex(controls="characteristics").fit(frame)
    assert _swing(with_mix) > 0.08  # the mix reads as an 8 %+ boom without the controls
    assert _swing(held) < 0.02  # the price level was flat


def test_characteristics_leave_out_price_and_date_proxies_and_internal_columns() -> None:
    frame = _mix_market()
    frame["list_price"] = frame["price"] * 0.97
    frame["sold_year_month"] = frame["date"].dt.year * 100 + frame["date"].dt.month
    frame["colour"] = np.where(np.arange(len(frame)) % 2 == 0, "red", None)
    frame["constant"] = 1.0
    log_price = np.log(frame["price"].to_numpy())
    month = frame["date"].dt.month.to_numpy(float) + 12 * frame["date"].dt.year.to_numpy(float)
    matrix, kept = characteristics(characteristic_groups(frame), log_price, month)
    assert kept == ["quality", "colour"]
    assert matrix.shape == (len(frame), 3 + 2)  # three qualities; a colour and missing
    assert np.all(np.asarray(matrix.sum(axis=1)).ravel() == 2)  # one group per column


def test_another_price_of_the_home_is_never_a_characteristic() -> None:
    """A list price too noisy to explain 75 % of the price is still on the price's scale."""
    frame = _mix_market()
    noise = np.random.default_rng(2).lognormal(0, 0.6, len(frame))
    frame["original_price"] = frame["price"] * noise
    assert "original_price" not in characteristic_groups(frame)
    assert "original_price" in characteristic_groups(frame.drop(columns="price"))


def test_numbers_are_cut_into_at_most_ten_bins_and_rare_levels_pooled() -> None:
    n = 1_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "lot": rng.lognormal(6, 1, n),
            "street": [f"s{i % 200}" if i < 900 else "main" for i in range(n)],
        }
    )
    frame.loc[::7, "lot"] = np.nan
    matrix, kept = characteristics(characteristic_groups(frame), rng.normal(size=n), np.zeros(n))
    assert kept == ["lot", "street"]
    lot_width = 11  # ten bins and missing
    assert matrix.shape[1] == lot_width + 2  # "main" (100 rows) and the rest pooled


def test_automatic_smoothing_is_flat_on_noise_and_a_line_on_a_trend() -> None:
    months = np.arange(30)
    noise = np.random.default_rng(3).normal(0, 0.02, 30)
    counts = np.full(30, 80.0)
    assert smoothing_by_left_out_months(counts, noise)[1] >= 1e4
    order, _ = smoothing_by_left_out_months(counts, 0.015 * months + noise / 4)
    assert order == 2


def test_too_few_months_keep_the_fixed_smoothing() -> None:
    assert smoothing_by_left_out_months(np.array([10.0, 0.0, 12.0]), np.zeros(3)) == (1, 50.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-0.3, 0.3), min_size=4, max_size=30),
    st.sampled_from([1, 2]),
    st.sampled_from(SMOOTHING_GRID),
)
def test_a_smoothed_curve_ends_at_zero_and_tends_to_a_level_or_a_line(means, order, penalty):
    means = np.asarray(means)
    counts = np.full(len(means), 20.0)
    curve = smoothed_curve(counts, means, order, penalty)
    assert curve[-1] == pytest.approx(0.0, abs=1e-12)
    stiff = smoothed_curve(counts, means, order, 1e12)
    assert np.abs(np.diff(stiff, n=order)).max() < 1e-6  # flat (order 1) or a line (2)


def test_an_automatic_index_records_its_choice_and_round_trips(clean_market) -> None:
    index = PriceIndex(smoothing="auto").fit(clean_market.frame)
    order, penalty = index.smoothing_of("Roma")
    assert order in (1, 2) and penalty in SMOOTHING_GRID
    table = index.table()
    again = PriceIndex.from_table(table, index.get_params())
    assert again.smoothing_of("Roma") == (order, penalty)
    assert again.smoothing_of("Atlantis") == index.smoothing_of("(global)")
    np.testing.assert_allclose(
        again.log_factor(["Roma"], ["2022-03-01"], pd.Timestamp("2023-09-01")),
        index.log_factor(["Roma"], ["2022-03-01"], pd.Timestamp("2023-09-01")),
    )


def test_unknown_controls_are_refused_by_name(clean_market) -> None:
    with pytest.raises(ValueError, match="controls is 'everything'"):
        PriceIndex(controls="everything").fit(clean_market.frame)


def test_columns_of_any_type_are_grouped_without_error() -> None:
    """Nullable integers, booleans, dates, lists and all-missing columns: each is grouped
    (or left out when it tells no homes apart), never an error."""
    n = 400
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "garages": pd.array(rng.integers(0, 3, n), dtype="Int64"),
            "pool": rng.uniform(size=n) < 0.3,
            "listed": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 5, n), "D"),
            "tags": [["a", "b"] if i % 2 else ["c"] for i in range(n)],
            "empty": np.full(n, np.nan),
            "style": pd.Categorical(rng.choice(["modern", "old"], n)),
        }
    )
    frame.loc[::9, "garages"] = pd.NA
    groups = characteristic_groups(frame)
    assert set(groups) == {"garages", "pool", "listed", "tags", "style"}
    assert len(np.unique(groups["garages"])) == 4  # 0, 1, 2 and missing
    matrix, kept = characteristics(groups, rng.normal(size=n), np.zeros(n))
    assert matrix.shape[0] == n and kept == list(groups)


def test_at_most_the_most_telling_columns_are_kept(monkeypatch) -> None:
    import estimo.hedonic as hedonic

    n = 600
    rng = np.random.default_rng(6)
    signals = {f"c{i}": rng.integers(0, 4, n) for i in range(6)}
    log_price = sum((i + 1) * 0.05 * v for i, v in enumerate(signals.values()))
    log_price = log_price + rng.normal(0, 0.3, n)
    groups = characteristic_groups(pd.DataFrame(signals))
    monkeypatch.setattr(hedonic, "MAX_CHARACTERISTICS", 2)
    _, kept = characteristics(groups, log_price, np.zeros(n))
    assert kept == ["c4", "c5"]  # the two with the largest effects, in the data's order


def test_a_large_city_is_fitted_on_a_fixed_sample(monkeypatch) -> None:
    import estimo.index as index_module

    frame = _mix_market(n=3_000)
    full = PriceIndex().fit(frame)
    monkeypatch.setattr(index_module, "MAX_ROWS", 1_500)
    sampled = PriceIndex().fit(frame)
    again = PriceIndex().fit(frame)
    np.testing.assert_array_equal(sampled.log_index_["Town"], again.log_index_["Town"])
    assert np.abs(sampled.log_index_["Town"] - full.log_index_["Town"]).max() < 0.03
    assert sampled.n_rows_["Town"] == full.n_rows_["Town"] == 3_000
