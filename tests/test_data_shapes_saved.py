"""Pipelines trained on tables that lack whole kinds of field are saved, loaded and serve.

A market without coordinates (no location regions, no location features) or without any
category field (no property type, no condition: the comparables have no category codes)
trains like any other; its saved folder must load and value a property, with the same
numbers as before saving.
"""

from __future__ import annotations

import pytest

from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline, load_pipeline

FAST = {"n_estimators": 25, "learning_rate": 0.2, "min_city_rows": 300, "comps_k": 5}

WITHOUT = {
    "coordinates": ["lat", "lon"],
    "categories": ["property_type", "condition", "has_elevator", "has_terrace", "neighbourhood"],
    "both": [
        "lat",
        "lon",
        "property_type",
        "condition",
        "has_elevator",
        "has_terrace",
        "neighbourhood",
    ],
}


@pytest.mark.parametrize("missing", list(WITHOUT))
def test_a_pipeline_without_a_kind_of_field_loads_and_values(
    clean_market, tmp_path, missing
) -> None:
    columns = WITHOUT[missing]
    frame = clean_market.frame.drop(columns=columns)
    train = frame.loc[frame["date"] < "2023-09-01"]
    pipeline = ValuationPipeline(engine=AVM(**FAST)).fit(train)
    record = {"city": "Milano", "area_m2": 80.0, "rooms": 3.0, "date": "2023-06-01"}
    before = pipeline.value_one(record, explain=True)

    loaded = load_pipeline(pipeline.save(str(tmp_path / "model")))
    after = loaded.value_one(record, explain=True)

    assert after.price == pytest.approx(before.price, rel=1e-9)
    assert (after.low, after.high) == pytest.approx((before.low, before.high), rel=1e-9)
    assert after.low < after.price < after.high
    assert len(after.comparables) > 0
    if "lat" in columns:  # nowhere to place the home: said, not guessed
        assert all(c.distance_m is None for c in after.comparables)
