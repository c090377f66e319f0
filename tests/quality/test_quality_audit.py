"""Audit rules: detection on the synthetic market, table-driven rule cases, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimo.config import QualityConfig
from estimo.quality import audit
from estimo.quality.rules.drift import psi
from estimo.quality.rules.location import learn_regions, locate
from estimo.synth import SyntheticMarket


@pytest.fixture(scope="module")
def report(market: SyntheticMarket):
    return audit(market.frame)


def _flags(report, test) -> np.ndarray:
    cols = [c for c in report.flags.columns if test(c)]
    return report.flags[cols].any(axis=1).to_numpy()


@pytest.mark.parametrize(
    ("fault", "detector", "min_precision", "min_recall"),
    [
        ("swapped_coords", lambda c: c == "location.swapped", 0.95, 0.95),
        ("zero_coords", lambda c: c == "location.zero", 0.95, 0.95),
        ("centroid_coords", lambda c: c == "location.stacked", 0.8, 0.8),
        ("area_x10", lambda c: c.startswith("validity.") and c.endswith(":area_m2"), 0.8, 0.9),
        (
            "year_zero",
            lambda c: c.startswith("validity.") and c.endswith(":year_built"),
            0.95,
            0.95,
        ),
        ("duplicate", lambda c: c in ("duplicates.exact", "duplicates.near"), 0.9, 0.95),
        ("label_noise", lambda c: c.startswith("consistency."), 0.7, 0.7),
    ],
)
def test_detection_against_truth(report, market, fault, detector, min_precision, min_recall):
    detected = _flags(report, detector)
    actual = market.truth[f"fault_{fault}"].to_numpy()
    tp = (detected & actual).sum()
    assert tp / max(detected.sum(), 1) >= min_precision
    assert tp / max(actual.sum(), 1) >= min_recall


def test_clean_market_has_few_errors(clean_market):
    rep = audit(clean_market.frame)
    assert rep.rows_with("error").mean() < 0.01


def test_report_json_and_html(report, tmp_path):
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    first = data["findings"][0]
    assert {"rule", "column", "severity", "count", "share", "example_ids"} <= set(first)
    page = paths["html"].read_text()
    assert page.count("<svg") >= 3 and "<script" not in page and "src=" not in page


def _city(n: int, lat: float, lon: float, name: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"{name}{i}" for i in range(n)],
            "city": name,
            "lat": lat + rng.normal(0, 0.03, n),
            "lon": lon + rng.normal(0, 0.04, n),
        }
    )


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((9.19, 45.46), "swapped"),
        ((0.0, 0.0), "zero"),
        ((41.90, 12.49), "other_city"),
        ((47.0, 9.19), "outside_region"),
        ((45.47, 9.20), None),
    ],
)
def test_location_rules(point, expected):
    frame = pd.concat([_city(300, 45.46, 9.19, "Milano", 0), _city(300, 41.90, 12.49, "Roma", 1)])
    frame = frame.reset_index(drop=True)
    frame.loc[0, ["lat", "lon"]] = point
    rules = QualityConfig().location
    masks = locate(frame, learn_regions(frame, rules), rules)
    hits = [kind for kind, mask in masks.items() if mask[0]]
    assert hits == ([expected] if expected else [])


def test_stacked_points_need_many_ids():
    frame = _city(400, 45.46, 9.19, "Milano", 0)
    frame.loc[:9, ["lat", "lon"]] = [45.4642, 9.19]  # 10 ids on one point: 2.5 % of the city
    frame.loc[10:11, ["lat", "lon"]] = [45.47, 9.2]  # 2 flats in one building: fine
    rules = QualityConfig().location
    stacked = locate(frame, learn_regions(frame, rules), rules)["stacked"]
    assert stacked[:10].all() and not stacked[10:].any()


@pytest.mark.parametrize(
    ("column", "value", "flag"),
    [
        ("year_built", 2090.0, "validity.future:year_built"),
        ("year_built", 0.0, "validity.range:year_built"),
        ("area_m2", -5.0, "validity.range:area_m2"),
        ("rooms", 120.0, "validity.range:rooms"),
        ("floor", 9.0, "validity.floor_above_building:floor"),
        ("price", -1.0, "validity.range:price"),
    ],
)
def test_validity_rules(column, value, flag):
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "price": [100.0, 120.0],
            "date": pd.to_datetime(["2024-01-01"] * 2),
            "city": "X",
            "area_m2": [50.0, 60.0],
            "rooms": [2.0, 3.0],
            "floor": [1.0, 2.0],
            "floors_in_building": [4.0, 4.0],
            "year_built": [1990.0, 2000.0],
        }
    )
    frame.loc[0, column] = value
    rep = audit(frame)
    assert rep.flags[flag].tolist() == [True, False]


def test_same_date_same_price_is_not_a_duplicate():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "price": [500_000.0] * 3,
            "date": pd.to_datetime(["2015-01-05"] * 3),
            "city": "King County",
            "lat": [47.5, 47.6, 47.7],
            "lon": [-122.2, -122.3, -122.1],
            "area_m2": [150.0, 180.0, 200.0],
            "rooms": [3.0, 3.0, 4.0],
        }
    )
    rep = audit(frame)
    assert not rep.flagged("duplicates.exact").any() and not rep.flagged("duplicates.near").any()


def test_near_duplicate_and_relisting():
    base = {"city": "X", "lat": 45.0, "lon": 9.0, "area_m2": 70.0, "rooms": 3.0, "price": 1e5}
    frame = pd.DataFrame(
        [
            {**base, "id": "a", "date": pd.Timestamp("2024-01-01")},
            {**base, "id": "b", "date": pd.Timestamp("2024-01-20"), "area_m2": 70.4},
            {**base, "id": "a", "date": pd.Timestamp("2024-06-01"), "price": 95_000.0},
        ]
    )
    rep = audit(frame)
    assert rep.flags["duplicates.near"].tolist() == [False, True, False]
    assert rep.flags["duplicates.relisting"].tolist() == [False, False, True]
    assert rep.tables["relisting_history"]["id"].tolist() == ["a"]


def test_a_near_duplicate_is_kept_for_training_unless_the_project_drops_it():
    from estimo.quality.clean import CleaningPolicy

    base = {"city": "X", "lat": 45.0, "lon": 9.0, "area_m2": 70.0, "rooms": 3.0, "price": 1e5}
    frame = pd.DataFrame(
        [
            {**base, "id": "a", "date": pd.Timestamp("2024-01-01")},
            {**base, "id": "b", "date": pd.Timestamp("2024-01-20"), "price": 98_000.0},
        ]
    )
    kept = CleaningPolicy().fit_transform(frame)
    assert kept.frame["id"].tolist() == ["a", "b"] and len(kept.dropped) == 0
    (finding,) = [f for f in audit(frame).findings if f.rule == "duplicates.near"]
    assert finding.action.startswith("kept")
    config = QualityConfig.model_validate({"clean": {"drop_near_duplicates": True}})
    dropped = CleaningPolicy(config).fit_transform(frame)
    assert dropped.frame["id"].tolist() == ["a"]
    assert dropped.dropped["rule"].tolist() == ["duplicates.near"]
    (finding,) = [f for f in audit(frame, config).findings if f.rule == "duplicates.near"]
    assert finding.action.startswith("row dropped")


def test_drift_against_reference(market):
    old = market.frame.head(1500)
    new = old.assign(price=market.frame["price"] * 1.3)
    new.loc[new.index[::3], "rooms"] = np.nan
    rep = audit(new, reference=old)
    rules = {f.rule for f in rep.findings}
    assert {"drift.price_level", "drift.missing_rate"} <= rules
    assert "drift.price_level" not in {f.rule for f in audit(old, reference=old).findings}


def test_psi_is_zero_for_identical_samples():
    values = np.random.default_rng(0).normal(size=1000)
    assert psi(values, values) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("frame", "expected_rule"),
    [
        (pd.DataFrame(columns=["id", "price", "city"]), "completeness.empty"),
        (pd.DataFrame({"price": [1.0], "city": ["X"]}), "completeness.absent_critical"),
        (
            pd.DataFrame({"price": [1.0, 2.0], "city": ["X", "X"], "rooms": [None, None]}),
            "completeness.all_missing",
        ),
        (
            pd.DataFrame({"price": [1.0, 2.0], "city": "X", "area_m2": ["big", "50"]}),
            "validity.non_numeric",
        ),
    ],
)
def test_bad_input_is_reported_not_raised(frame, expected_rule):
    rep = audit(frame)
    assert expected_rule in {f.rule for f in rep.findings}
    rep.to_dict()


def test_single_city_and_unknown_kinds(market):
    one_city = market.frame[market.frame["city"] == "Torino"]
    rep = audit(one_city)
    assert not rep.flagged("location.other_city").any()


_numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "id": st.one_of(st.none(), st.text(max_size=3)),
                "price": _numbers,
                "city": st.one_of(st.none(), st.sampled_from(["A", "B", ""])),
                "lat": _numbers,
                "lon": _numbers,
                "area_m2": st.one_of(_numbers, st.text(max_size=3)),
                "rooms": _numbers,
                "year_built": _numbers,
                "price_kind": st.sampled_from(["asking", "sale", None]),
                "date": st.one_of(st.none(), st.datetimes().map(pd.Timestamp)),
            }
        ),
        max_size=25,
    )
)
def test_audit_never_crashes(rows):
    frame = pd.DataFrame(rows)
    rep = audit(frame)
    assert rep.n_rows == len(frame)
    assert len(rep.flags) == len(frame)
    json.dumps(rep.to_dict(), allow_nan=False, default=str)


@pytest.mark.parametrize("lat", [45.46, 140737488355329.0, -1e300])
def test_the_report_maps_one_point_or_absurd_coordinates_without_a_warning(tmp_path, lat):
    """One located row, or a latitude so large that padding its map changes nothing, used to
    divide 0 by 0 while drawing the city's map (a RuntimeWarning, an error in the CLI's
    tests; found by the fuzz suite)."""
    from estimo.quality.html import _share_of

    frame = pd.DataFrame(
        {
            "id": ["a"],
            "price": [300_000.0],
            "city": ["Milano"],
            "date": pd.to_datetime(["2024-01-15"]),
            "lat": [lat],
            "lon": [9.19],
            "area_m2": [80.0],
        }
    )
    report = audit(frame, QualityConfig())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = report.write(tmp_path)
    assert "<svg" in paths["html"].read_text()
    assert _share_of(5.0, 0.0, 10.0) == 0.5 and _share_of(20.0, 0.0, 10.0) == 1.0
    assert _share_of(1.0, 3.0, 3.0) == 0.5 and _share_of(float("nan"), 0.0, 1.0) == 0.5


def test_rows_without_a_date_are_audited_and_cleaned_not_a_crash():
    """The hedonic price check reads the quarter of each date: a listing without one is of
    no quarter (it crashed on pandas 3, where the text of a missing period is missing)."""
    from estimo.quality.prepare import prepare_training_data
    from estimo.quality.rules.hedonic import hedonic_z
    from estimo.synth import generate_market

    frame = generate_market(1_500, seed=3, faults=False).frame
    frame.loc[frame.index[:20], "date"] = None
    z = hedonic_z(frame, np.zeros(len(frame), dtype=bool))
    assert np.isfinite(z[:20]).all() and np.isfinite(z).mean() > 0.99
    dated = hedonic_z(frame.iloc[20:], np.zeros(len(frame) - 20, dtype=bool))
    assert np.corrcoef(z[20:], dated)[0, 1] > 0.99  # the others scored as without them
    prepared = prepare_training_data(frame, QualityConfig())
    assert prepared.frame["date"].isna().sum() == 20
