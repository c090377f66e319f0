"""Outcomes pair with the valuations served before them, a date-only outcome included."""

from __future__ import annotations

import pandas as pd

from estimo.monitor.matching import match_outcomes


def _valuation(served_at: str) -> dict:
    return {
        "request_id": "r1",
        "served_at": pd.Timestamp(served_at),
        "city": "Milano",
        "property_type": "flat",
        "model_version": "v1",
        "sub_model": "global",
        "property_id": "P1",
        "price": 300_000.0,
        "low": 270_000.0,
        "high": 330_000.0,
    }


def _outcome(date: str) -> dict:
    return {
        "kind": "appraisal",
        "price": 310_000.0,
        "date": pd.Timestamp(date),
        "appraiser_id": "a1",
        "source": "bank",
        "property_id": "P1",
        "request_id": None,
    }


def test_an_appraisal_dated_the_day_of_the_valuation_pairs_with_it() -> None:
    """Served at 15:20 on 3 May, appraised "3 May": the appraisal judges that valuation
    (before, its date read as midnight, before the valuation, and it stayed unpaired)."""
    valuations = pd.DataFrame([_valuation("2024-05-03 15:20")])
    pairs, unpaired = match_outcomes(valuations, pd.DataFrame([_outcome("2024-05-03")]))
    assert unpaired == 0 and pairs["request_id"].tolist() == ["r1"]
    pairs, unpaired = match_outcomes(valuations, pd.DataFrame([_outcome("2024-05-02")]))
    assert unpaired == 1 and pairs.empty  # the day before: nothing served yet to judge
