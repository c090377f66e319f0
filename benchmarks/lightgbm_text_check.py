"""What the structural check of LightGBM text models costs against LightGBM's own parse.

Trains Poland-size boosters (the engine's sub-models as in the Poland-size latency run: 7
boosters, 2,212 trees of up to 63 leaves in all) on the Poland sale listings, then times, per
booster text and in total: LightGBM's parse (``lgb.Booster(model_str=...)``), the cheap check
every load runs (:func:`estimo.bundle_folder.lightgbm_problem` with ``deep=False``) and the
structural check (``deep=True``) that folders without checksums run before LightGBM parses.

Usage::

    python benchmarks/lightgbm_text_check.py [--data ../shared/data/poland_apartments_sale.parquet]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from estimo.bundle_folder import lightgbm_problem

log = logging.getLogger("lightgbm_text_check")
TREES = (316,) * 7  # 2,212 trees, as the Poland-size engine's 7 sub-models


def poland_boosters(path: Path, rows: int = 20_000) -> list[str]:
    """Booster texts trained on ``rows`` Poland listings each (63 leaves, numeric columns)."""
    frame = pd.read_parquet(path)
    numeric = frame.select_dtypes("number").drop(columns=["price"], errors="ignore")
    target = np.log(frame["price"].to_numpy(float))
    texts = []
    for i, trees in enumerate(TREES):
        rng = np.random.default_rng(i)
        pick = rng.choice(len(frame), size=min(rows, len(frame)), replace=False)
        data = lgb.Dataset(numeric.iloc[pick], target[pick], free_raw_data=False)
        params = {"objective": "huber", "num_leaves": 63, "learning_rate": 0.05, "verbose": -1}
        params["seed"] = i
        texts.append(lgb.train(params, data, num_boost_round=trees).model_to_string())
    return texts


def best_of(func, repeats: int = 7) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/data/poland_apartments_sale.parquet")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    texts = poland_boosters(Path(args.data))
    size = sum(len(t) for t in texts) / 2**20
    trees = sum(t.count("\nTree=") for t in texts)
    parse = sum(best_of(lambda t=t: lgb.Booster(model_str=t)) for t in texts)
    cheap = sum(best_of(lambda t=t: lightgbm_problem(t, deep=False)) for t in texts)
    deep = sum(best_of(lambda t=t: lightgbm_problem(t, deep=True)) for t in texts)
    assert all(lightgbm_problem(t) is None for t in texts)
    log.info("%d boosters, %d trees, %.1f MiB of text", len(texts), trees, size)
    log.info("| step | ms (sum of medians of 7) | share of LightGBM's parse |")
    log.info("|---|---:|---:|")
    log.info("| LightGBM parse (baseline) | %.1f | 100 %% |", parse * 1e3)
    log.info("| cheap check (every load) | %.2f | %.1f %% |", cheap * 1e3, 100 * cheap / parse)
    log.info("| structural check (no checksums) | %.1f | %.0f %% |", deep * 1e3, 100 * deep / parse)


if __name__ == "__main__":
    main()
