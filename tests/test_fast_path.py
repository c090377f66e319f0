"""The one-property fast path: what the engine precomputes, and the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.bundle_folder import BundleFolder
from estimo.model.avm import AVM

FAST = {"n_estimators": 30, "learning_rate": 0.15, "min_city_rows": 300, "comps_k": 5}


@pytest.fixture(scope="module")
def engine(clean_market) -> AVM:
    frame = clean_market.frame
    return AVM(**FAST).fit(frame.loc[frame["date"] < "2023-09-01"])


def test_comparables_log_prices_are_the_hedonic_models_exactly(engine) -> None:
    reference = engine.finder_.reference_
    rows = np.arange(0, len(reference), 7)
    comps_at = reference.iloc[rows].reset_index(drop=True).assign(date=pd.Timestamp("2024-02-01"))
    expected = engine.stage_.hedonic_view().predict_log(comps_at)
    assert np.array_equal(engine._comps_log(rows, comps_at), expected)
    assert len(engine.comps_log_) == len(reference)


def test_saved_engine_keeps_the_comparables_log_prices(engine, tmp_path) -> None:
    folder = BundleFolder(str(tmp_path / "engine"))
    engine.to_bundle(folder)
    again = AVM.from_bundle(folder)
    assert np.array_equal(again.comps_log_, engine.comps_log_)
    subjects = engine.finder_.reference_.head(20)
    assert np.array_equal(again.predict(subjects), engine.predict(subjects))
