"""The evaluation report: segments, untrusted list, reference model, JSON + HTML."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from estimo.config import EvaluationConfig
from estimo.errors import DataError
from estimo.evaluate.report import (
    add_segment_columns,
    build_evaluation_report,
    evaluation_report,
)
from estimo.evaluate.segments import ALL_LABEL


def scored_rows(n: int = 600, seed: int = 0, bad_city: str = "b") -> pd.DataFrame:
    """Cities a (good), b (bad: ±25 % errors) and c (tiny); ranges of ±12 %."""
    rng = np.random.default_rng(seed)
    city = np.array(["a", bad_city] * (n // 2), dtype=object)
    city[:10] = "c"
    price = rng.uniform(1e5, 6e5, n)
    noise = np.where(city == bad_city, 0.25, 0.05)
    predicted = price * np.exp(rng.normal(0, noise))
    return pd.DataFrame(
        {
            "id": [f"P{i}" for i in range(n)],
            "city": city,
            "date": pd.Timestamp("2024-03-01"),
            "price": price,
            "predicted": predicted,
            "low": predicted * 0.88,
            "high": predicted * 1.12,
            "lat": 45.0 + rng.normal(0, 0.03, n),
            "lon": 9.0 + rng.normal(0, 0.03, n),
            "area_m2": rng.uniform(30, 250, n),
            "year_built": rng.integers(1900, 2024, n).astype(float),
            "property_type": rng.choice(["flat", "house"], n),
        }
    )


@pytest.fixture(scope="module")
def report():
    return build_evaluation_report(scored_rows(), settings=EvaluationConfig(min_group_size=30))


def test_overall_metrics_and_segments_present(report):
    assert report.overall["n"] == 600
    assert 0 < report.overall["pe10"] < 1 and "coverage" in report.overall
    assert set(report.segments) == {
        "city",
        "location",
        "property_type",
        "price_quintile",
        "size_band",
        "age_band",
    }
    assert report.ratio_study["cod"]["passed"] in (True, False)


def test_small_groups_are_too_small_not_judged(report):
    city = report.segments["city"].set_index("city")
    assert bool(city.loc["c", "too_small"]) and np.isnan(city.loc["c", "pe10"])
    assert "c" not in set(report.untrusted["group"])


def test_bad_city_is_listed_with_size_and_reason(report):
    untrusted = report.untrusted
    row = untrusted.loc[(untrusted["segment"] == "city") & (untrusted["group"] == "b")].iloc[0]
    assert row["n"] == 300 - 5 and row["pe10"] < 0.5
    assert "PE10" in row["reasons"] and "coverage" in row["reasons"]
    assert "a" not in set(untrusted.loc[untrusted["segment"] == "city", "group"])


@pytest.mark.parametrize(
    ("settings", "expect_city_b"),
    [
        (EvaluationConfig(min_pe10=0.1, max_coverage_shortfall=0.9), False),
        (EvaluationConfig(min_pe10=0.1, max_coverage_shortfall=0.05), True),
        (EvaluationConfig(min_pe10=0.6, max_coverage_shortfall=0.9), True),
        (EvaluationConfig(min_group_size=1000), False),
    ],
)
def test_thresholds_and_min_group_size_are_configurable(settings, expect_city_b):
    report = build_evaluation_report(scored_rows(), settings=settings)
    listed = set(report.untrusted.loc[report.untrusted["segment"] == "city", "group"])
    assert ("b" in listed) is expect_city_b


@pytest.mark.parametrize(
    ("column", "value", "label"),
    [
        ("area_m2", 45.0, "< 50 m²"),
        ("area_m2", 50.0, "50-80 m²"),
        ("area_m2", 250.0, "≥ 200 m²"),
        ("area_m2", np.nan, None),
        ("year_built", 2020.0, "< 10 years"),
        ("year_built", 1950.0, "60-100 years"),
        ("year_built", 0.0, None),
    ],
)
def test_band_labels(column, value, label):
    rows = pd.DataFrame(
        {
            "price": [1e5],
            "date": [pd.Timestamp("2024-01-01")],
            "year_built": [2000.0],
            "area_m2": [70.0],
        }
    ).assign(**{column: [value]})
    out = add_segment_columns(rows)
    band = out["size_band" if column == "area_m2" else "age_band"].iloc[0]
    assert band == label if label is not None else pd.isna(band)


def test_bands_are_shown_in_natural_order(report):
    labels = [v for v in report.segments["size_band"]["size_band"] if v != ALL_LABEL]
    assert labels[0] == "< 50 m²" and labels[-1] in ("≥ 200 m²", "(missing)")


def test_location_uses_neighbourhood_else_grid_cells():
    rows = scored_rows(100)
    cells = add_segment_columns(rows)["location"]
    assert cells.str.contains("cell").all()
    named = add_segment_columns(rows.assign(neighbourhood="Centro"))["location"]
    assert set(named) == {"a / Centro", "b / Centro", "c / Centro"}


def test_write_creates_strict_json_and_self_contained_html(report, tmp_path):
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["overall"]["n"] == 600 and data["untrusted"]
    html = paths["html"].read_text()
    assert html.count("<svg") >= 8  # 6 segment charts, histogram, map panels
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"(src|href)=\"https?:", html)
    assert "Where not to trust the model" in html


def test_reference_metrics_beside_the_model():
    rows = scored_rows()
    reference = rows["price"] * 1.3
    report = build_evaluation_report(rows, reference=reference)
    assert report.reference["overall"]["pe10"] == 0.0
    assert "reference_pe10" in report.segments["city"]


def test_evaluation_report_fits_the_reference_on_train(clean_market):
    frame = clean_market.frame
    train, test = frame[frame["date"] < "2023-07-01"], frame[frame["date"] >= "2023-07-01"]
    rows = test[["id", "city", "date", "price"]].assign(predicted=test["price"] * 1.02)
    report = evaluation_report(rows, test, train=train)
    assert report.reference["overall"]["n"] == len(rows)
    assert 0.2 < report.reference["overall"]["pe10"] < 1
    assert "location" in report.segments and "age_band" in report.segments


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.drop(columns="predicted"), "'predicted'"),
        (lambda r: r.assign(predicted=-1.0), "non-positive"),
        (lambda r: r.iloc[:0], "no scored rows"),
    ],
)
def test_bad_predictions_raise_clear_errors(change, message):
    with pytest.raises(DataError, match=message):
        build_evaluation_report(change(scored_rows(60)))


def test_reference_of_wrong_length_is_rejected():
    with pytest.raises(DataError, match="one per scored row"):
        build_evaluation_report(scored_rows(60), reference=[1.0, 2.0])


def test_missing_segment_sources_are_noted_not_fatal():
    rows = scored_rows(100)[["id", "city", "date", "price", "predicted"]]
    report = build_evaluation_report(rows)
    assert set(report.segments) == {"city", "price_quintile"}
    assert any("location" in note for note in report.notes)


def test_the_report_scores_against_price_target_when_present() -> None:
    """Predictions of a calibrated model are scored against the sale-equivalent target,
    exactly as the backtest scores them (not against the observed asking price)."""
    rows = scored_rows()
    rows["price_target"] = rows["price"] * 0.95
    report = build_evaluation_report(rows)
    expected = build_evaluation_report(rows.assign(price=rows["price_target"]))
    assert report.overall["pe10"] == pytest.approx(expected.overall["pe10"])
    assert report.overall["pe10"] != pytest.approx(
        build_evaluation_report(rows.drop(columns="price_target")).overall["pe10"]
    )
    assert any("price_target" in note for note in report.notes)
    assert report.rows["price_observed"].tolist() == rows["price"].tolist()
