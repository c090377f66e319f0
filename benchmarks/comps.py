"""Comparables benchmark: comparables value alone vs model alone vs blend, same test rows.

For each data set the out-of-time split of the foundation is used (synthetic market cut-off
2023-07-01, King County 2015-02-01). Nothing is tuned on the test rows:

1. validation: the training rows are split again out of time (the last ~25 % of training
   rows, new property ids only); a model, a price index and a comparables finder fitted on
   the earlier rows value the validation rows; :class:`BlendWeights` is fitted there;
2. test: model, index and finder are refitted on all training rows and value the test rows;
   the learned blend weights are applied.

The model is the foundation's ``ValuationModel`` (the engine's AVM will replace it); the
time adjustment uses ``estimo.index.PriceIndex``. Also measured: the time to find the
comparables of 1,000 subjects among ~100,000 reference rows on the synthetic market.

Run from the repository root (King County needs ``../shared/data``)::

    python benchmarks/comps.py                   # synthetic and King County
    python benchmarks/comps.py --sets synthetic
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.evaluate.metrics import compute_metrics
from estimo.index import PriceIndex
from estimo.io import load_project, read_table, to_canonical
from estimo.model.blend import BlendWeights
from estimo.model.comps import ComparablesFinder
from estimo.model.valuation import ValuationModel
from estimo.split import default_cutoff, out_of_time_split
from estimo.synth import generate_market

ROOT = Path(__file__).resolve().parents[1]
CUTOFFS = {"synthetic": "2023-07-01", "kc": "2015-02-01"}
COLUMNS = ["n", "mdape", "pe5", "pe10", "pe20", "over20", "cod", "median_ratio"]


def load(key: str) -> pd.DataFrame:
    if key == "synthetic":
        return generate_market(12_000, seed=0, faults=False).frame
    config = load_project(ROOT / "examples/king_county.yaml")
    return to_canonical(read_table(config.resolved_data_path()), config.data).frame


def value_rows(train: pd.DataFrame, rows: pd.DataFrame, trees: int) -> dict:
    """Fit model, index and finder on ``train``; model and comparables values of ``rows``."""
    model = ValuationModel(n_estimators=trees).fit(train)
    index = PriceIndex().fit(train)
    finder = ComparablesFinder().fit(train)
    model_log = model.predict_log(rows)
    start = time.perf_counter()
    result = finder.value(rows, model, index, subject_log=model_log)
    seconds = time.perf_counter() - start
    return {"model_log": model_log, "summary": result.summary, "seconds": seconds}


def run_set(key: str, trees: int) -> None:
    split = out_of_time_split(load(key), CUTOFFS[key])
    inner = out_of_time_split(split.train, default_cutoff(split.train, 0.25))
    print(f"\n== {key}: {split.describe()}")
    print(f"   validation: {inner.describe()}")

    val = value_rows(inner.train, inner.test, trees)
    blend = BlendWeights().fit(
        val["summary"],
        val["model_log"],
        val["summary"]["comps_log_price"],
        np.log(inner.test["price"].to_numpy(float)),
    )
    test = value_rows(split.train, split.test, trees)
    summary = test["summary"]
    comps_log = summary["comps_log_price"].to_numpy()
    final_log, weight = blend.blend(test["model_log"], comps_log, summary)
    has = np.isfinite(comps_log)
    actual = split.test["price"].to_numpy(float)

    rows = {
        "model alone": compute_metrics(actual, np.exp(test["model_log"])),
        "comps alone (model if none)": compute_metrics(
            actual, np.exp(np.where(has, comps_log, test["model_log"]))
        ),
        "blend (learned weights)": compute_metrics(actual, np.exp(final_log)),
    }
    logs = {
        "model alone": test["model_log"],
        "comps alone (model if none)": np.where(has, comps_log, test["model_log"]),
        "blend (learned weights)": final_log,
    }
    for name, values in logs.items():
        rows[name]["mean_abs_log"] = float(np.mean(np.abs(values - np.log(actual))))
    table = pd.DataFrame(rows).T[[*COLUMNS, "mean_abs_log"]]
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(
        f"   comps found for {has.mean():.1%} of test rows; comps alone on those rows: "
        f"MdAPE {compute_metrics(actual[has], np.exp(comps_log[has]))['mdape']:.4f}; "
        f"median distance {np.nanmedian(summary['median_distance_m']):.0f} m; "
        f"mean blend weight {weight.mean():.3f} (validation: {blend.n_fit_} rows, mean |log "
        f"error| model {blend.mae_model_:.4f} -> blend {blend.mae_blend_:.4f}); "
        f"comparables of {len(split.test)} rows valued in {test['seconds']:.2f} s"
    )
    print(f"   blend parameters: {blend.to_dict()}")


def search_speed() -> None:
    frame = generate_market(80_000, seed=4, faults=False).frame
    finder = ComparablesFinder()
    start = time.perf_counter()
    finder.fit(frame)
    fit_seconds = time.perf_counter() - start
    subjects = frame.sample(1_000, random_state=0)
    start = time.perf_counter()
    matches = finder.kneighbors(subjects)
    seconds = time.perf_counter() - start
    print(
        f"\n== speed: fit on {len(frame)} rows {fit_seconds:.2f} s; comparables of "
        f"{len(subjects)} subjects ({len(matches)} matches) {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(CUTOFFS), choices=list(CUTOFFS))
    parser.add_argument("--trees", type=int, default=2000, help="trees of the model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for key in args.sets:
        run_set(key, args.trees)
    search_speed()


if __name__ == "__main__":
    main()
