from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.errors import DataError, NotFittedError
from estimo.index import GLOBAL, PriceIndex, _broadcast_months, month_number


@pytest.fixture(scope="module")
def fitted(clean_market) -> PriceIndex:
    return PriceIndex().fit(clean_market.frame)


@pytest.mark.parametrize("city", ["Milano", "Roma", "Madrid"])
def test_index_follows_the_true_market_trend(clean_market, fitted, city) -> None:
    truth = clean_market.index.loc[clean_market.index["city"] == city, "index"].to_numpy(float)
    first, last = clean_market.start, clean_market.end.to_period("M").to_timestamp()
    learned = fitted.log_factor([city], [first], last)[0]
    assert learned == pytest.approx(np.log(truth[-1] / truth[0]), abs=0.04)


def test_factor_is_one_within_a_month_and_multiplicative(fitted) -> None:
    same = fitted.factor(["Roma"], ["2023-03-01"], pd.Timestamp("2023-03-28"))
    assert same[0] == pytest.approx(1.0)
    a = fitted.log_factor(["Roma"], ["2022-02-01"], pd.Timestamp("2022-09-01"))
    b = fitted.log_factor(["Roma"], ["2022-09-01"], pd.Timestamp("2023-06-01"))
    c = fitted.log_factor(["Roma"], ["2022-02-01"], pd.Timestamp("2023-06-01"))
    assert a[0] + b[0] == pytest.approx(c[0])


def test_unknown_city_uses_the_global_index(fitted) -> None:
    unknown = fitted.log_factor(["Atlantis"], ["2022-01-01"], pd.Timestamp("2023-12-01"))
    pooled = fitted.log_factor([GLOBAL], ["2022-01-01"], pd.Timestamp("2023-12-01"))
    assert unknown[0] == pytest.approx(pooled[0])


def _linear_index(damping: float) -> PriceIndex:
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    table = pd.concat(
        [
            pd.DataFrame(
                {"city": c, "month": months, "log_index": 0.01 * np.arange(-11, 1), "n_rows": 100}
            )
            for c in ("X", GLOBAL)
        ]
    )
    table["index"] = np.exp(table["log_index"])
    params = {**PriceIndex().get_params(), "damping": damping, "trend_months": 3}
    return PriceIndex.from_table(table, params)


@pytest.mark.parametrize(
    ("damping", "months_ahead", "expected"),
    [
        (0.0, 3, 0.0),  # flat after the data
        (1.0, 3, 0.03),  # the last trend carried on undamped
        (0.5, 1, 0.005),
        (0.5, 2, 0.0075),
        (1.0, 40, 0.12),  # capped at max_extrapolation_months
    ],
)
def test_extrapolation_rule(damping, months_ahead, expected) -> None:
    index = _linear_index(damping)
    later = pd.Timestamp("2023-12-01") + pd.DateOffset(months=months_ahead)
    assert index.log_factor(["X"], ["2023-12-15"], later)[0] == pytest.approx(expected)


def test_before_the_data_the_index_is_flat() -> None:
    index = _linear_index(0.8)
    assert index.log_factor(["X"], ["2020-01-01"], pd.Timestamp("2023-01-01"))[0] == 0.0


def test_table_round_trip(fitted) -> None:
    again = PriceIndex.from_table(fitted.table(), fitted.get_params())
    cities = ["Milano", "Torino", "nowhere"]
    dates = ["2022-01-01", "2022-07-01", "2023-02-01"]
    target = pd.Timestamp("2024-03-01")
    np.testing.assert_allclose(
        again.log_factor(cities, dates, target), fitted.log_factor(cities, dates, target)
    )


def test_small_cities_fall_back_to_the_global_index(clean_market) -> None:
    index = PriceIndex(min_rows=10_000).fit(clean_market.frame)
    assert index.cities_ == ()


def test_errors_are_clear() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        PriceIndex().factor(["A"], ["2024-01-01"], pd.Timestamp("2024-02-01"))
    with pytest.raises(DataError, match="'city' is missing"):
        PriceIndex().fit(pd.DataFrame({"price": [1.0], "date": [pd.Timestamp("2024-01-01")]}))


def test_month_number_handles_missing_dates() -> None:
    out = month_number([pd.Timestamp("2024-01-05"), pd.NaT])
    assert out[0] == 2024 * 12 and np.isnan(out[1])


def test_the_trend_is_carried_only_where_it_forecast_the_index_s_own_past() -> None:
    index = PriceIndex(trend_months=3, damping=0.8)
    steady = 0.01 * np.arange(-23, 1)  # a market rising 1 % a month
    seasonal = 0.03 * np.sin(np.arange(24) * 2 * np.pi / 12)  # ups and downs, no trend
    assert index._trend_forecasts_better(steady)
    assert not index._trend_forecasts_better(seasonal - seasonal[-1])
    assert index._trend_forecasts_better(np.zeros(2))  # too short to tell: the rule holds


def test_a_city_without_a_carried_trend_stays_flat_past_the_data() -> None:
    index = _linear_index(1.0)
    later = pd.Timestamp("2024-03-01")
    assert index.log_factor(["X"], ["2023-12-15"], later)[0] == pytest.approx(0.03)
    index.carry_["X"] = False
    assert index.log_factor(["X"], ["2023-12-15"], later)[0] == 0.0
    assert index.log_factor(["elsewhere"], ["2023-12-15"], later)[0] == pytest.approx(0.03)
    assert not index.carries_trend("X") and index.carries_trend("elsewhere")
    # the choice is saved with the table and read back
    again = PriceIndex.from_table(index.table(), index.get_params())
    assert again.carry_ == {"X": False, GLOBAL: True}


def test_a_fitted_index_checks_the_trend_of_each_city(clean_market) -> None:
    checked = PriceIndex().fit(clean_market.frame)
    assert set(checked.carry_) == set(checked.log_index_)
    unchecked = PriceIndex(trend_check=False).fit(clean_market.frame)
    assert all(unchecked.carry_.values())
    table = checked.table()
    assert table.groupby("city")["carries_trend"].first().to_dict() == checked.carry_


@given(
    st.datetimes(
        min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    ),
    st.sampled_from([None, "UTC", "Europe/Rome", "America/New_York"]),
)
def test_one_date_for_every_row_is_read_as_month_number_reads_it(moment, zone) -> None:
    stamp = pd.Timestamp(moment) if zone is None else pd.Timestamp(moment).tz_localize(zone)
    expected = np.repeat(month_number([stamp]), 3)
    assert _broadcast_months(stamp, 3).tolist() == expected.tolist()
    assert _broadcast_months(str(stamp.date()), 2).tolist() == expected[:2].tolist()


def test_log_factor_takes_one_date_or_one_per_row() -> None:
    from estimo.synth import generate_market

    index = PriceIndex().fit(generate_market(2_000, seed=4, faults=False).frame)
    cities = ["Roma", "Milano", "Atlantis"]
    dates = pd.to_datetime(["2022-03-05", "2023-07-20", "2023-01-01"])
    one = index.log_factor(cities, pd.Timestamp("2023-06-15"), dates)
    each = index.log_factor(cities, [pd.Timestamp("2023-06-15")] * 3, dates)
    assert one.tolist() == each.tolist() and one[1] != 0
    with pytest.raises(DataError, match="got 2 dates for 3 cities"):
        index.log_factor(cities, pd.Timestamp("2023-06-15"), dates[:2])
