"""Real data: Grinnell calibration and the Poland audit (run with ``pytest -m realdata``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimo.evaluate.metrics import mdape
from estimo.io import load_dataset, load_project
from estimo.quality import audit
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CleaningPolicy

pytestmark = pytest.mark.realdata
REPO = Path(__file__).resolve().parents[2]


def test_grinnell_calibration_beats_raw_list_price(shared_data):
    raw = pd.read_parquet(shared_data / "grinnell_houses.parquet")
    frame = pd.DataFrame(
        {
            "id": raw.index.astype(str),
            "price": raw["SalePrice"].astype(float),
            "price_kind": "sale",
            "date": pd.to_datetime(
                {"year": raw["YearSold"], "month": raw["MonthSold"], "day": raw["DaySold"]}
            ),
            "ListPrice": raw["ListPrice"].astype(float),
        }
    )
    frame = frame[(frame["price"] > 0) & (frame["ListPrice"] > 0)].reset_index(drop=True)
    fold = np.random.default_rng(0).integers(0, 5, len(frame))
    calibrated = np.empty(len(frame))
    for k in range(5):
        cal = LabelCalibrator(segment_columns=[], time_unit="year", asking_price_column="ListPrice")
        cal.fit(frame[fold != k])
        test = frame[fold == k]
        calibrated[fold == k] = cal.calibrated_prices(test, asking=test["ListPrice"]).to_numpy()
    raw_error = mdape(frame["price"], frame["ListPrice"])
    assert mdape(frame["price"], calibrated) < 0.8 * raw_error


def test_poland_audit_and_clean_counts(shared_data):
    config = load_project(REPO / "examples" / "poland.yaml")
    config.data.path = str(shared_data / "poland_apartments_sale.parquet")
    frame = load_dataset(config).frame
    started = time.process_time()
    report = audit(frame, config.quality)
    assert time.process_time() - started < 60  # CPU seconds; the CLI target is 30 s wall
    assert report.n_rows == len(frame) > 190_000
    assert report.flagged("duplicates.relisting").sum() > 40_000
    result = CleaningPolicy(config.quality).fit_transform(frame)
    assert len(result.frame) + len(result.dropped) == len(frame)
    assert set(result.changes["row"]).isdisjoint(set(result.dropped["row"]))
