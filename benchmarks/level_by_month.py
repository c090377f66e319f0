"""Where an out-of-time backtest loses: the price level of each test month, Estimo and plain.

For a dated shared set (``benchmarks/markets.py``'s sets and split), the median
log(price / valuation) of each test month for Estimo (``estimo backtest`` with the example
project file) and for the data README's plain LightGBM on the same rows, and the MdAPE each
would have with its own monthly level removed (an oracle, only to size how much of the
error is the market's level past the training data rather than the homes' relative values).

Run from the repository root, with ``../shared/data`` present::

    nice python benchmarks/level_by_month.py --sets kc ames
"""

from __future__ import annotations

import argparse
import logging
import os

import numpy as np
import pandas as pd

from estimo.evaluate.backtest import run_backtest
from estimo.split import out_of_time_split
from markets import SETS, load_set, plain_predict


def mdape(log_ratio: pd.Series) -> float:
    """Median absolute percentage error of valuations whose log(price / valuation) is given."""
    return float(np.median(np.abs(np.expm1(-log_ratio.to_numpy(float)))))


def level_table(key: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per test month: rows, each model's median log ratio and MdAPE; and the overall
    MdAPE of each model as it is and with each month's own level removed."""
    spec = SETS[key]
    config, raw, frame = load_set(spec, None)
    frame = frame.assign(_row=np.arange(len(frame)))
    split = out_of_time_split(frame, spec.cutoff)
    target = config.data.columns["price"].column
    drop = [*spec.identifiers, *([config.data.operation.column] if config.data.operation else [])]
    plain = plain_predict(raw.iloc[split.train["_row"]], raw.iloc[split.test["_row"]], target, drop)
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    result = run_backtest(
        frame.drop(columns="_row"), spec.cutoff, model_params=params, quality=config.quality
    )
    estimo = result.predictions.set_index("id").reindex(split.test["id"])["predicted"]
    actual = split.test["price"].to_numpy(float)
    ratios = pd.DataFrame(
        {
            "month": pd.to_datetime(split.test["date"]).dt.to_period("M").astype(str).to_numpy(),
            "estimo": np.log(actual / estimo.to_numpy(float)),
            "plain": np.log(actual / plain),
        }
    )
    by_month = ratios.groupby("month").agg(
        rows=("estimo", "size"),
        estimo_level=("estimo", "median"),
        plain_level=("plain", "median"),
        estimo_mdape=("estimo", mdape),
        plain_mdape=("plain", mdape),
    )
    overall = {}
    for model in ("estimo", "plain"):
        own_level = ratios.groupby("month")[model].transform("median")
        overall[f"{model} MdAPE"] = mdape(ratios[model])
        overall[f"{model} MdAPE, each month's level removed"] = mdape(ratios[model] - own_level)
    return by_month, overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dated = [k for k, s in SETS.items() if s.cutoff is not None]
    parser.add_argument("--sets", nargs="+", default=["kc"], choices=dated)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for key in args.sets:
        by_month, overall = level_table(key)
        print(f"== {key}: median log(price / valuation) per test month (> 0: under-valued)")
        print(by_month.round(4).to_string())
        for name, value in overall.items():
            print(f"{name}: {100 * value:.2f} %")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
