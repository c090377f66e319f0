"""Ranges past the data: the horizon read from the market's index against a fixed year.

A valuation dated after the training data gets a range whose variance grows with the
months since; it doubles over ``horizon_months``. The engine reads that horizon from the
market (:func:`estimo.model.intervals.horizon_months`: how fast the price index's forecasts
of its own past went wrong, against the calibration residuals' spread); before, it was a
fixed 12 months. For each dated set of ``benchmarks/markets.py`` the product's backtest is
fitted once, and the same test rows get their 80 % and 90 % ranges from the same fitted
engine with the horizon it read and with the fixed 12 months (the baseline, same run);
coverage is printed overall and by months past the cut-off. Run from the repository root
(``../shared/data`` present)::

    OMP_WAIT_POLICY=PASSIVE nice python benchmarks/horizon.py --sets synthetic ames kc
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from estimo.evaluate.backtest import run_backtest
from estimo.model.intervals import DEFAULT_HORIZON_MONTHS
from estimo.split import out_of_time_split
from latency import load_average_line  # this folder is on the path when run as a script
from markets import SETS, load_set

BANDS = ((0, 2), (3, 5), (6, 8), (9, 12))
"""Months past the cut-off grouped for the coverage table."""


def coverage(pipeline, rows: pd.DataFrame, target: np.ndarray, level: float) -> np.ndarray:
    """Whether each row's ``target`` price lies in its range at nominal ``level``."""
    low, high = pipeline.predict_interval(rows, level=level)
    return (target >= low) & (target <= high)


def compare(label: str, frame: pd.DataFrame, cutoff: str, params: dict, quality) -> None:
    """Backtest ``frame`` from ``cutoff`` once; print the coverage of the same test rows'
    ranges with the horizon the engine read and with the fixed year, by months past."""
    result = run_backtest(frame, cutoff, model_params=params, quality=quality)
    test = out_of_time_split(frame, cutoff).test.reset_index(drop=True)
    table = result.predictions.set_index("id").reindex(test["id"])
    # the truth the backtest scores against (the synthetic market's true sale price)
    column = "price_target" if "price_target" in table else "price"
    target = table[column].to_numpy(float)
    pipeline, adaptive = result.model, result.model.engine_.adaptive_
    facts = result.metrics["engine"]["validation"]["ranges_past_data"]
    months = ((test["date"] - pd.Timestamp(cutoff)).dt.days // 30.44).to_numpy()
    read = adaptive.horizon_months
    covered = {}
    for name, horizon in (("read", read), ("fixed", DEFAULT_HORIZON_MONTHS)):
        adaptive.horizon_months = horizon
        covered[name] = {level: coverage(pipeline, test, target, level) for level in (0.8, 0.9)}
    adaptive.horizon_months = read
    print(
        f"{label}: {len(test):,} test rows; horizon read {read:.1f} months (index drift "
        f"{100 * facts['index_drift_sd_per_month']:.2f} % a month from "
        f"{facts['index_forecast_origins']} forecast origins) against {DEFAULT_HORIZON_MONTHS:g}"
    )
    print(f"  {'months past':<12}{'rows':>6}{'read 80/90 %':>16}{'fixed 80/90 %':>16}")
    bands = [(lo, hi, (months >= lo) & (months <= hi)) for lo, hi in BANDS]
    for lo, hi, rows in [*bands, (0, int(months.max()), np.ones(len(test), dtype=bool))]:
        if not rows.any():
            continue
        label = "all" if rows.all() else f"{lo}-{hi}"
        cells = [
            f"{100 * covered[n][0.8][rows].mean():.1f} / {100 * covered[n][0.9][rows].mean():.1f}"
            for n in ("read", "fixed")
        ]
        print(f"  {label:<12}{rows.sum():>6}{cells[0]:>16}{cells[1]:>16}", flush=True)


def run(key: str, max_rows: int | None) -> None:
    """:func:`compare` on a dated set of ``benchmarks/markets.py``, or on the synthetic
    market of ``benchmarks/trust.py`` (``synthetic``: 20,000 properties, seed 5)."""
    if key == "synthetic":
        from estimo.config import QualityConfig
        from estimo.synth import generate_market

        frame = generate_market(20_000, seed=5).frame
        compare("synthetic", frame, "2023-09-01", {}, QualityConfig())
        return
    spec = SETS[key]
    if spec.cutoff is None:
        raise SystemExit(f"set {key!r} has no date: nothing is valued past the data")
    config, _, frame = load_set(spec, max_rows)
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    compare(key, frame, spec.cutoff, params, config.quality)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="+", default=["synthetic", "ames", "kc", "poland", "poland_rent"]
    )
    parser.add_argument("--max-rows", type=int, default=None, help="subsample large sets")
    args = parser.parse_args()
    before = os.getloadavg()
    for key in args.sets:
        run(key, args.max_rows)
    print(load_average_line(before, os.getloadavg()))


if __name__ == "__main__":
    main()
