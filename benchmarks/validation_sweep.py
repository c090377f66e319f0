"""Compare engine settings on the validation slice, never on the test rows.

Each trial is the project's ``engine:`` settings with some of them overridden (a JSON
object per trial; the first trial is always the settings as they are). A trial trains on
the rows before the benchmark's cut-off only, and :meth:`estimo.model.avm.AVM.validate`
scores it on the new properties of the last ``validation_months`` months before the
cut-off: the model alone, and the valuation (model blended with comparables), as MdAPE /
PE10. ``trees`` is the number of trees of the validation pass's sub-models (what an exact
explanation walks through). The test rows after the cut-off are not read.

Run from the repository root (``../shared/data`` present)::

    python benchmarks/validation_sweep.py examples/poland.yaml \\
        '{"huber_delta": 0.07}' '{"huber_delta": 0.3}'
    python benchmarks/validation_sweep.py examples/poland.yaml --average-seeds 3

``--average-seeds K`` also scores the average of the model alone over the seeds 0..K-1
(an ensemble of K engines that differ only in their column sampling).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.evaluate.metrics import compute_metrics
from estimo.io import load_project, read_table, to_canonical
from estimo.model.avm import AVM
from estimo.split import out_of_time_split


def percent(report: dict) -> str:
    """``"6.27 / 67.6"``: MdAPE / PE10 in percent."""
    return f"{100 * report['mdape']:.2f} / {100 * report['pe10']:.1f}"


def ape_report(actual_log: np.ndarray, predicted_log: np.ndarray) -> dict[str, float]:
    """MdAPE and PE10 of log predictions (the project's metrics)."""
    metrics = compute_metrics(np.exp(actual_log), np.exp(predicted_log))
    return {"mdape": metrics["mdape"], "pe10": metrics["pe10"]}


def average_of_seeds(settings: dict, train: pd.DataFrame, seeds: int) -> None:
    """Model-alone accuracy of each seed and of the running average over the seeds."""
    predictions = []
    for seed in range(seeds):
        avm = AVM(**{**settings, "seed": seed})
        avm.validate(train)
        rows = avm.validation_rows_
        actual = np.log(rows["price"].to_numpy(float))
        predictions.append(avm.validation_stage_.predict_log(rows))
        print(
            f"seed {seed}: model {percent(ape_report(actual, predictions[-1]))}; "
            f"average of {len(predictions)}: "
            f"{percent(ape_report(actual, np.mean(predictions, axis=0)))}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("project", help="project file (estimo.yaml) with a backtest cut-off")
    parser.add_argument("trials", nargs="*", help="JSON objects of engine settings to override")
    parser.add_argument("--average-seeds", type=int, default=0, metavar="K")
    args = parser.parse_args()
    config = load_project(Path(args.project))
    loaded = to_canonical(read_table(config.resolved_data_path()), config.data)
    split = out_of_time_split(loaded.frame, config.backtest.cutoff)
    train = split.train.reset_index(drop=True)
    settings = {**config.engine.model_dump(), "currency": loaded.currency}
    print(f"{args.project}: {len(train):,} training rows before {config.backtest.cutoff}")
    for overrides in [{}, *(json.loads(text) for text in args.trials)]:
        started = time.perf_counter()
        report = AVM(**{**settings, **overrides}).validate(train)
        print(
            f"{json.dumps(overrides) or '{}'}: blend {percent(report['blend'])}, model "
            f"{percent(report['model'])}, comps {percent(report['comps'])}, "
            f"trees {report['trees']} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    if args.average_seeds:
        average_of_seeds(settings, train, args.average_seeds)


if __name__ == "__main__":
    main()
