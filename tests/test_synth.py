"""Tests of the synthetic market generator."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from estimo.schema import CANONICAL_COLUMNS, CATEGORY_FIELDS, NUMERIC_FIELDS, REQUIRED_FIELDS
from estimo.synth import EXTRA_COLUMNS, FAULT_KINDS, FaultRates, generate_market

N = 4_000


@pytest.fixture(scope="module")
def market():
    return generate_market(N, seed=7)


@pytest.fixture(scope="module")
def clean_market():
    return generate_market(N, seed=7, faults=False)


def test_same_seed_gives_identical_frames(market):
    again = generate_market(N, seed=7)
    pd.testing.assert_frame_equal(market.frame, again.frame)
    pd.testing.assert_frame_equal(market.truth, again.truth)
    pd.testing.assert_frame_equal(market.index, again.index)


def test_different_seed_gives_different_frames(market):
    other = generate_market(N, seed=8)
    assert not market.frame["price"].head(100).equals(other.frame["price"].head(100))
    assert not np.allclose(market.index["index"], other.index["index"])


def test_columns_and_dtypes(market):
    frame = market.frame
    assert list(frame.columns) == list(CANONICAL_COLUMNS) + list(EXTRA_COLUMNS)
    assert frame.index.equals(market.truth.index)
    assert frame["date"].dtype == "datetime64[ns]"
    for col in NUMERIC_FIELDS:
        assert frame[col].dtype == "float64", col
    for col in CATEGORY_FIELDS:
        values = frame[col].dropna()
        assert values.map(type).eq(str).all(), col


@pytest.mark.parametrize(
    "column", [*REQUIRED_FIELDS, "id", "price_kind", "country", "property_type"]
)
def test_required_columns_are_filled(market, column):
    assert market.frame[column].notna().all()


def test_rows_and_values_are_plausible(clean_market):
    frame, truth = clean_market.frame, clean_market.truth
    assert frame["area_m2"].between(25, 250).all()
    assert (frame["price"] > 0).all()
    assert frame["id"].str.fullmatch(r"P\d{6}").all()
    assert frame["date"].between(clean_market.start, clean_market.end).all()
    assert truth["month"].eq(frame["date"].dt.to_period("M").dt.to_timestamp()).all()
    assert set(frame["price_kind"]) == {"asking", "sale"}
    assert frame.groupby("city")["country"].nunique().eq(1).all()
    assert frame["description"].notna().mean() == pytest.approx(0.5, abs=0.05)
    assert frame["description"].dropna().str.contains("-room").all()
    prefix = frame["neighbourhood"].str.split("-").str[0]
    assert prefix.eq(frame["city"]).all()
    corr = frame["rooms"].corr(frame["area_m2"])
    assert corr > 0.7


def test_cities_table(market):
    cities = market.cities
    assert len(cities) >= 5
    assert cities["country"].nunique() == 2
    assert cities.groupby("country")["currency"].nunique().eq(1).all()
    shares = market.frame["city"].value_counts(normalize=True)
    assert shares.min() < 0.06  # one small city exercises fallbacks
    assert set(shares.index) == set(cities["city"])


def test_index_drift_sign_matches_configuration(market):
    index = market.index
    assert index.groupby("city")["index"].first().eq(1.0).all()
    for row in market.cities.itertuples():
        series = index[index["city"] == row.city]
        t = np.arange(len(series)) / 12.0
        slope = np.polyfit(t, np.log(series["index"].to_numpy()), 1)[0]
        if row.annual_drift == 0:
            assert abs(slope) < 0.015, row.city
        else:
            assert np.sign(slope) == np.sign(row.annual_drift), row.city
            assert slope == pytest.approx(np.log1p(row.annual_drift), abs=0.015)


def test_true_value_follows_index(clean_market):
    frame, truth = clean_market.frame, clean_market.truth
    repeat = truth[truth["relisting"]].iloc[0]
    rows = truth[truth["property_key"] == repeat["property_key"]]
    city = frame.loc[rows.index[0], "city"]
    idx = clean_market.index[clean_market.index["city"] == city].set_index("month")["index"]
    ratio = rows["true_value"] / idx.loc[rows["month"]].to_numpy()
    assert np.allclose(ratio, ratio.iloc[0])


def test_asking_above_sale_and_markup_varies_by_segment(clean_market):
    frame, truth = clean_market.frame, clean_market.truth
    assert (truth["true_asking_price"] > truth["true_sale_price"]).mean() > 0.9
    markup = truth["true_markup"]
    assert markup[~truth["relisting"]].between(1.02, 1.13).all()
    assert markup[truth["relisting"]].between(0.8, 1.13).all()
    by_type = markup.groupby(frame["property_type"]).mean()
    assert by_type["house"] > by_type["flat"] + 0.01
    by_city = markup.groupby(frame["city"]).mean()
    assert by_city.max() - by_city.min() > 0.015
    asking = frame["price_kind"] == "asking"
    assert np.allclose(
        frame.loc[asking, "price"], truth.loc[asking, "true_asking_price"], rtol=0, atol=500
    )
    sale = ~asking
    assert np.allclose(
        frame.loc[sale, "price"], truth.loc[sale, "true_sale_price"], rtol=0, atol=50
    )


@pytest.mark.parametrize("sale_share", [0.0, 0.2, 0.5])
def test_sale_share_is_respected(sale_share):
    market = generate_market(1_500, seed=1, sale_share=sale_share, faults=False)
    observed = (market.frame["price_kind"] == "sale").mean()
    assert observed == pytest.approx(sale_share, abs=0.01)


def test_relistings_share_attributes_and_move_with_index(clean_market):
    frame, truth = clean_market.frame, clean_market.truth
    counts = frame["id"].value_counts()
    assert (counts > 1).mean() == pytest.approx(0.25, abs=0.05)
    assert truth["relisting"].sum() == len(frame) - frame["id"].nunique()
    repeated = frame[frame["id"].isin(counts[counts > 1].index)]
    attributes = ["area_m2", "rooms", "year_built", "lat", "lon", "property_type"]
    assert repeated.groupby("id")[attributes].nunique().eq(1).all().all()
    first_dates = frame.groupby("id")["date"].transform("min")
    assert (frame.loc[truth["relisting"], "date"] > first_dates[truth["relisting"]]).all()
    assert truth.loc[truth["relisting"], "price_cut"].mean() > 0.2
    assert not truth.loc[~truth["relisting"], "price_cut"].any()


def test_no_relistings_when_share_is_zero():
    market = generate_market(1_000, seed=2, relist_share=0.0, faults=False)
    assert market.frame["id"].is_unique
    assert not market.truth["relisting"].any()


def test_faults_false_gives_clean_data(clean_market):
    frame, truth = clean_market.frame, clean_market.truth
    flags = truth[[f"fault_{k}" for k in FAULT_KINDS]]
    assert not flags.any().any()
    assert not truth["faulty"].any()
    features = [c for c in frame.columns if c != "description"]
    assert frame[features].notna().all().all()
    assert not frame.duplicated().any()
    for col in ("price", "lat", "lon", "area_m2", "year_built"):
        pd.testing.assert_series_equal(frame[col], truth[f"clean_{col}"], check_names=False)


def test_clean_rows_do_not_depend_on_faults(market, clean_market):
    keys = ["id", "date"]
    faulty = market.frame[~market.truth["faulty"]]
    merged = faulty.merge(clean_market.frame, on=keys, suffixes=("", "_clean"))
    assert len(merged) == len(faulty)
    for col in ("price", "area_m2", "lat", "city", "condition"):
        assert merged[col].equals(merged[f"{col}_clean"].rename(col)), col


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_is_present(market, kind):
    rate = getattr(FaultRates(), kind)
    flags = market.truth[f"fault_{kind}"]
    assert flags.any()
    binomial_sd = np.sqrt(rate * (1 - rate) / len(flags))
    assert flags.mean() == pytest.approx(rate, abs=4.5 * binomial_sd)


def _rows(market, kind):
    mask = market.truth[f"fault_{kind}"]
    return market.frame[mask], market.truth[mask]


def test_missing_random_shows_nans(market):
    frame, truth = _rows(market, "missing_random")
    cols = ["rooms", "bathrooms", "floor", "condition", "area_m2", "has_elevator"]
    assert frame[cols].isna().any(axis=1).mean() > 0.5
    assert truth["clean_rooms"].notna().all()
    assert market.frame.loc[~market.truth["fault_missing_random"], "rooms"].notna().all()


def test_missing_dependent_hits_old_buildings_more(market):
    frame, truth = market.frame, market.truth
    flagged = truth["fault_missing_dependent"]
    assert frame.loc[flagged, "year_built"].isna().all()
    assert truth.loc[flagged, "clean_year_built"].notna().all()
    old = truth["clean_year_built"] < 1950
    recent = truth["clean_year_built"] >= 1990
    assert flagged[old].mean() > 3 * flagged[recent].mean()


def test_swapped_coords_are_swapped(market):
    frame, truth = _rows(market, "swapped_coords")
    assert len(frame) > 0
    assert np.array_equal(frame["lat"], truth["clean_lon"])
    assert np.array_equal(frame["lon"], truth["clean_lat"])


def test_centroid_coords_stack_on_city_centre(market):
    frame, _ = _rows(market, "centroid_coords")
    centres = market.cities.set_index("city")
    assert np.array_equal(frame["lat"], centres.loc[frame["city"], "centre_lat"])
    assert np.array_equal(frame["lon"], centres.loc[frame["city"], "centre_lon"])
    assert frame.groupby(["lat", "lon"]).size().max() > 10


def test_zero_coords_are_zero(market):
    frame, truth = _rows(market, "zero_coords")
    assert len(frame) > 0
    assert (frame["lat"] == 0).all() and (frame["lon"] == 0).all()
    assert (truth["clean_lat"] > 30).all()


def test_area_x10_is_ten_times_clean(market):
    frame, truth = _rows(market, "area_x10")
    assert np.allclose(frame["area_m2"], truth["clean_area_m2"] * 10)
    assert (frame["area_m2"] >= 250).all()


def test_year_zero_is_zero(market):
    frame, truth = _rows(market, "year_zero")
    assert (frame["year_built"] == 0).all()
    assert (truth["clean_year_built"] > 1800).all()


def test_duplicates_copy_an_original_row(market):
    frame, truth = market.frame, market.truth
    copies = np.flatnonzero(truth["fault_duplicate"])
    originals = truth["duplicate_of"].to_numpy()[copies]
    assert (originals >= 0).all()
    assert not truth["fault_duplicate"].to_numpy()[originals].any()
    left = frame.iloc[copies].reset_index(drop=True)
    right = frame.iloc[originals].reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)
    assert frame.duplicated().sum() == len(copies)


def test_label_noise_scales_price(market):
    frame, truth = _rows(market, "label_noise")
    ratio = frame["price"] / truth["clean_price"]
    assert np.allclose(ratio, truth["label_noise_factor"])
    assert ratio.round(3).isin([0.1, 0.5, 2.0, 10.0]).all()
    assert set(ratio.round(3)) >= {0.5, 2.0}


def test_custom_fault_rates_are_used():
    rates = FaultRates(**{kind: 0.0 for kind in FAULT_KINDS} | {"zero_coords": 0.2})
    market = generate_market(1_000, seed=3, fault_rates=rates)
    assert market.truth["fault_zero_coords"].mean() == pytest.approx(0.2, abs=0.04)
    others = [f"fault_{k}" for k in FAULT_KINDS if k != "zero_coords"]
    assert not market.truth[others].any().any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_properties": 0}, "n_properties"),
        ({"months": 0}, "months"),
        ({"sale_share": 1.5}, "sale_share"),
        ({"relist_share": -0.1}, "relist_share"),
        ({"start": "not a date"}, "start"),
    ],
)
def test_bad_parameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_market(**({"n_properties": 10} | kwargs))


def test_bad_fault_rate_is_rejected():
    with pytest.raises(ValueError, match="'label_noise'"):
        FaultRates(label_noise=2.0)


def test_start_mid_month_and_single_month():
    market = generate_market(200, seed=0, start="2023-05-17", months=1)
    assert market.start == pd.Timestamp("2023-05-01")
    assert market.end == pd.Timestamp("2023-05-31")
    assert market.frame["date"].between(market.start, market.end).all()
    assert not market.truth["relisting"].any()


def test_default_market_is_fast():
    began = time.perf_counter()
    market = generate_market()
    elapsed = time.perf_counter() - began
    assert elapsed < 3.0
    assert len(market.frame) > 12_000
