"""Exact tree contributions: LightGBM's ``pred_contrib`` against ``estimo.model.treeshap``.

Trains a realistic LightGBM model (100,000 rows, 25 numeric features with missing values
plus 2 categorical ones, 1,200 trees, 63 leaves, depth 8), then times in the same run, on
a pandas frame with ``category`` columns as the callers pass it (conversion included):

* ``lightgbm``: ``booster.predict(frame, pred_contrib=True)``;
* ``treeshap``: :func:`estimo.model.treeshap.tree_contributions` (the cached
  :class:`~estimo.model.treeshap.TreeShap`: for a batch the tables and
  :data:`~estimo.model.treeshap.THREADS` threads, for one row quadrature on one thread);
* ``treeshap 1 thread``: the same with batches on one thread too.

in one batch of 300 rows and one row at a time (30 rows), in ms per row, wall time and CPU
time of all threads (``time.process_time``), best of ``--repeat`` (the methods take turns,
so they meet the same machine load); plus the one-off build time and memory of the tables,
the largest difference from LightGBM, and the numba start-up cost in fresh processes with
a cold and a warm on-disk cache.

Run from the repository root (about two minutes on 2 cores)::

    python benchmarks/treeshap.py
    python benchmarks/treeshap.py --rows 20000 --trees 300     # quicker
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd

from estimo.model import treeshap
from estimo.model.treeshap import TreeShap, tree_contributions

_STARTUP = """
import time
t = time.perf_counter()
import numpy as np, lightgbm as lgb
from estimo.model.treeshap import tree_contributions
X = np.random.default_rng(0).normal(size=(200, 3))
booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), 5)
start = time.perf_counter()
tree_contributions(booster, X[:1])
print(time.perf_counter() - start)
"""


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A frame of 25 numeric features (5 % missing) and 2 categorical ones, and a target
    with interactions and effects spread over many features (so paths mix features)."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 25))
    numeric[rng.random(numeric.shape) < 0.05] = np.nan
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(25)])
    district = rng.integers(0, 120, rows)
    kind = rng.integers(0, 6, rows)
    frame["district"] = pd.Categorical.from_codes(district, [f"d{i:03d}" for i in range(120)])
    kinds = ["flat", "house", "loft", "studio", "villa", "other"]
    frame["kind"] = pd.Categorical.from_codes(kind, kinds)
    x = np.nan_to_num(numeric)
    y = (
        x[:, 0]
        + np.sin(3 * x[:, 1])
        + x[:, 2] * x[:, 3]
        + 0.5 * np.abs(x[:, 4])
        + 0.3 * np.tanh(x[:, 5:15]).sum(axis=1)
        + 0.1 * (x[:, 15:] ** 2).sum(axis=1)
        + rng.normal(size=120)[district] * 0.5
        + np.array([0, 0.3, 0.1, -0.2, 0.8, 0])[kind]
        + rng.normal(size=rows) * 0.3
    )
    return frame, y


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall time and CPU time (all threads of the process) of one call, in seconds."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


def startup_seconds() -> tuple[float, float]:
    """First ``tree_contributions`` call of a fresh process (numba import, kernels, a small
    model's tables): with an empty on-disk cache (compiles), then with the cache it left."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "NUMBA_CACHE_DIR": folder}
        runs = [
            float(subprocess.run(
                [sys.executable, "-c", _STARTUP], env=env, check=True, capture_output=True,
                text=True,
            ).stdout)
            for _ in range(2)
        ]  # fmt: skip
    return runs[0], runs[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="training rows")
    parser.add_argument("--trees", type=int, default=1_200)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frame, y = make_data(args.rows)
    start = time.perf_counter()
    params = {"objective": "regression", "num_leaves": 63, "max_depth": 8, "verbose": -1}
    params |= {"learning_rate": 0.03, "min_data_in_leaf": 20, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(frame, y), num_boost_round=args.trees)
    train_s = time.perf_counter() - start
    test, _ = make_data(args.batch + args.singles, seed=1)
    batch = test.iloc[: args.batch]
    singles = [test.iloc[[args.batch + i]] for i in range(args.singles)]

    tree_contributions(booster, test.iloc[:2])  # kernels ready (numba import, cache)
    start = time.perf_counter()
    explainer = TreeShap.from_booster(booster)
    build_s = time.perf_counter() - start
    single_thread = TreeShap.from_booster(booster)
    single_thread.threads = 1

    expected = booster.predict(test, pred_contrib=True)
    diff = max(
        np.abs(tree_contributions(booster, batch) - expected[: args.batch]).max(),
        max(
            np.abs(tree_contributions(booster, row) - expected[args.batch + i]).max()
            for i, row in enumerate(singles)
        ),
        np.abs(single_thread.contributions(batch) - expected[: args.batch]).max(),
    )
    methods: dict[str, Callable[[pd.DataFrame], object]] = {
        "lightgbm": lambda rows: booster.predict(rows, pred_contrib=True),
        "treeshap": lambda rows: tree_contributions(booster, rows),
        "treeshap 1 thread": single_thread.contributions,
    }
    modes = {"batch": [batch], "single": singles}
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(args.repeat):  # methods take turns, so they meet the same machine load
        for mode, calls in modes.items():
            for name, method in methods.items():
                time.sleep(0.2)  # LightGBM's idle OpenMP threads stop spinning (CPU time)
                wall, cpu = timed(lambda method=method, calls=calls: [method(c) for c in calls])
                old = best.get((mode, name), (np.inf, np.inf))
                best[mode, name] = (min(old[0], wall), min(old[1], cpu))
    results = [
        {"method": name, "mode": mode, "n": sum(len(c) for c in modes[mode]),
         "ms_per_row": 1000 * wall / sum(len(c) for c in modes[mode]),
         "cpu_ms_per_row": 1000 * cpu / sum(len(c) for c in modes[mode])}
        for (mode, name), (wall, cpu) in best.items()
    ]  # fmt: skip
    table = pd.DataFrame(results)
    lightgbm = table[table["method"] == "lightgbm"].set_index("mode")["ms_per_row"]
    table["speed_up"] = lightgbm.loc[table["mode"]].to_numpy() / table["ms_per_row"]
    cold, warm = startup_seconds()

    print(
        f"model: {args.rows:,} training rows ({train_s:.0f} s), {explainer.n_trees} trees, "
        f"{explainer.n_leaves:,} leaves, {booster.num_feature()} features, "
        f"most distinct features on a path {explainer.max_path_features}; "
        f"batches on {treeshap.THREADS} threads; best of {args.repeat}"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"build (once per model): {build_s:.2f} s; tables {explainer.table_nbytes / 2**20:.1f} "
        f"MiB ({explainer.table_nbytes / 2**20 / explainer.n_trees * 1000:.1f} MiB per 1,000 "
        f"trees), everything prepared {explainer.nbytes / 2**20:.1f} MiB"
    )
    print(f"largest difference from pred_contrib: {diff:.2e}")
    print(
        f"first call in a fresh process: {cold:.2f} s with an empty numba cache (compiles), "
        f"{warm:.2f} s with a warm one"
    )


if __name__ == "__main__":
    main()
