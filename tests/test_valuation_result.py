"""Valuation result: validation, confidence, warnings and JSON output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.model.blend import blend_log
from estimo.model.comps import ComparablesFinder
from estimo.model.valuation_result import (
    Comparable,
    Valuation,
    WarningThresholds,
    build_warnings,
    confidence_from_fsd,
)


def comparable(distance_m: float | None = 500.0, **changes) -> Comparable:
    values = {
        "id": "C1",
        "price": 200_000.0,
        "date": pd.Timestamp("2024-01-10"),
        "adjusted_price": 210_000.0,
        "time_factor": 1.02,
        "distance_m": distance_m,
        "similarity": 0.5,
        "age_months": 4.0,
        "adjustments": {"time": 4_000.0, "area_m2": 6_000.0, "other": 0.0},
        "attributes": {"area_m2": 70.0},
    }
    values.update(changes)
    return Comparable(**values)


def valuation(**changes) -> Valuation:
    values = {
        "price": 300_000.0,
        "low": 270_000.0,
        "high": 335_000.0,
        "fsd": 0.09,
        "valuation_date": "2024-05-01",
        "model_price": 295_000.0,
        "comps_price": 310_000.0,
        "blend_weight": 0.3,
        "sub_model": "city:Milano",
        "comparables": [comparable()],
        "warnings": ["only 1 comparable within 2 km"],
    }
    values.update(changes)
    return Valuation(**values)


@pytest.mark.parametrize(
    ("fsd", "label", "score"),
    [
        (0.05, "high", 0.95),
        (0.10, "high", 0.90),
        (0.15, "medium", 0.85),
        (0.35, "low", 0.65),
        (1.5, "low", 0.0),
        (float("nan"), "low", 0.0),
    ],
)
def test_confidence_from_fsd(fsd: float, label: str, score: float) -> None:
    assert confidence_from_fsd(fsd) == (label, pytest.approx(score))


def test_to_dict_is_strict_json() -> None:
    data = valuation(comps_price=None, blend_weight=0.0).to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["valuation_date"] == "2024-05-01"
    assert back["confidence"] == "high"
    assert back["comps_price"] is None
    assert back["comparables"][0]["date"] == "2024-01-10"
    assert back["comparables"][0]["adjustments"]["area_m2"] == 6_000.0
    assert back["sub_model"] == "city:Milano"


def test_valuation_is_frozen_and_holds_tuples() -> None:
    result = valuation()
    assert isinstance(result.comparables, tuple) and isinstance(result.warnings, tuple)
    with pytest.raises(AttributeError):
        result.price = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"low": 310_000.0}, "low <= price"),
        ({"price": -1.0}, "price"),
        ({"blend_weight": 1.2}, "blend_weight"),
        ({"confidence": "excellent"}, "confidence"),
        ({"comps_price": 0.0}, "comps_price"),
    ],
)
def test_invalid_valuations_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        valuation(**changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"price": 0.0}, "price"), ({"similarity": 0.0}, "similarity"), ({"time_factor": -1}, "time")],
)
def test_invalid_comparables_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        comparable(**changes)


@pytest.mark.parametrize(
    ("quality", "distances", "imputed", "expected"),
    [
        ({"n_comps": 8, "dispersion": 0.03, "mean_similarity": 0.4}, [300.0] * 8, [], []),
        ({"n_comps": 2}, [500.0, 1500.0], [], ["only 2 comparables within 2 km"]),
        ({"n_comps": 3}, [2500.0, 3000.0, 4000.0], [], ["no comparables within 2 km"]),
        ({"n_comps": 0}, [], [], ["no comparable properties found nearby"]),
        (
            {"n_comps": 0, "nearest_m": 12_000.0},
            [],
            [],
            [
                "property outside the area seen in training (nearest known property 12.0 km away)",
                "no comparable properties found nearby",
            ],
        ),
        ({"n_comps": 4, "dispersion": 0.3}, [100.0] * 4, [], ["comparables disagree"]),
        ({"n_comps": 4, "mean_similarity": 0.05}, [100.0] * 4, [], ["not very similar"]),
        ({"n_comps": 4}, [100.0] * 4, ["year_built"], ["feature 'year_built' was imputed"]),
        ({"n_comps": 4, "has_location": False}, [None] * 4, [], ["no coordinates"]),
    ],
)
def test_build_warnings(quality: dict, distances: list, imputed: list, expected: list) -> None:
    comps = [comparable(distance_m=d) for d in distances]
    found = build_warnings(quality, comps, imputed)
    assert len(found) == len(expected)
    for sentence, fragment in zip(found, expected, strict=True):
        assert fragment in sentence


def test_warning_thresholds_are_configurable() -> None:
    comps = [comparable(distance_m=900.0) for _ in range(3)]
    assert build_warnings({"n_comps": 3}, comps) == []
    strict = WarningThresholds(near_km=0.5, min_near=3)
    assert build_warnings({"n_comps": 3}, comps, thresholds=strict) == [
        "no comparables within 0.5 km"
    ]


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
    st.floats(0.01, 0.99),
)
def test_calibrated_similarity_threshold_is_the_quantile_capped(
    values: list[float], quantile: float
) -> None:
    limits = WarningThresholds.calibrated(values, quantile)
    expected = min(0.2, float(np.quantile(values, quantile)))
    assert limits.min_similarity == pytest.approx(expected, abs=1e-12)
    assert limits.max_dispersion == WarningThresholds().max_dispersion
    assert WarningThresholds.from_dict(limits.to_dict()) == limits


def test_calibrated_thresholds_ignore_missing_similarities() -> None:
    assert WarningThresholds.calibrated([np.nan, np.inf]) == WarningThresholds()
    assert WarningThresholds.calibrated([np.nan, 0.05]).min_similarity == 0.05
    with pytest.raises(ValueError, match="quantile is 1.5; expected a number in"):
        WarningThresholds.calibrated([0.1], 1.5)


def test_thresholds_from_an_older_bundle_or_a_wrong_key() -> None:
    assert WarningThresholds.from_dict(None) == WarningThresholds()
    assert WarningThresholds.from_dict({"min_similarity": 0.05}).min_similarity == 0.05
    with pytest.raises(ValueError, match=r"unknown keys \['similarity'\]"):
        WarningThresholds.from_dict({"similarity": 0.05})


def test_valuation_from_comparables_result() -> None:
    """End to end: comparables -> blend -> Valuation -> JSON."""
    rng = np.random.default_rng(4)
    n = 40
    reference = pd.DataFrame(
        {
            "id": [f"R{i}" for i in range(n)],
            "price": rng.uniform(1e5, 3e5, n),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "city": "Town",
            "lat": 45 + rng.normal(0, 0.01, n),
            "lon": 9 + rng.normal(0, 0.01, n),
            "area_m2": rng.uniform(40, 120, n),
        }
    )

    class AreaModel:
        def predict_log(self, frame: pd.DataFrame) -> np.ndarray:
            return 8.0 + np.log(frame["area_m2"].to_numpy(float))

    subject = reference.iloc[[0]].assign(id="S")
    result = (
        ComparablesFinder(n_comps=5)
        .fit(reference)
        .value(subject, AreaModel(), valuation_date="2024-05-01", explain=True)
    )
    summary = result.summary.iloc[0]
    model_log = float(AreaModel().predict_log(subject)[0])
    final = float(blend_log([model_log], [summary["comps_log_price"]], [0.4])[0])
    comps = result.for_subject(0)
    built = Valuation(
        price=float(np.exp(final)),
        low=float(np.exp(final - 0.1)),
        high=float(np.exp(final + 0.1)),
        fsd=0.08,
        valuation_date=pd.Timestamp("2024-05-01"),
        model_price=float(np.exp(model_log)),
        comps_price=float(summary["comps_price"]),
        blend_weight=0.4,
        comparables=comps,
        warnings=build_warnings(summary.to_dict(), comps),
        subject_id="S",
    )
    data = json.loads(json.dumps(built.to_dict(), allow_nan=False))
    assert len(data["comparables"]) == 5
    assert data["comparables"][0]["similarity"] >= data["comparables"][-1]["similarity"]
    for item in data["comparables"]:
        total = sum(item["adjustments"].values())
        assert total == pytest.approx(item["adjusted_price"] - item["price"], rel=1e-6)
