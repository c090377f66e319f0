"""How close a price index fitted on a few hundred sales comes to the full data's index.

For each shared set, the global monthly index fitted on every row with the homes'
characteristics held fixed (the product's default) stands for the market's true curve.
Random samples of a few hundred rows (``--samples`` seeds) are then fitted with

* ``location``: the location cells and log area only (``index_controls: location``, the
  baseline: the index before the characteristics),
* ``characteristics``: the product's default (smoothing 50),
* ``characteristics, smoothing 200``: the same, smoothed four times harder,

and each sample's curve is compared with the full data's over the sample's months (both
centred, so that only the shape counts): the root mean square gap in log points, averaged
over the samples. A test set of a hundred sales cannot tell these apart (its MdAPE moves by
more than the indexes differ); this asks the question of the index itself.

Run from the repository root, with ``../shared/data`` present::

    nice python benchmarks/index_small_samples.py
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

from estimo.index import GLOBAL, PriceIndex
from estimo.io import load_project, read_table, to_canonical

CASES = (
    ("examples/king_county.yaml", 500),
    ("examples/king_county.yaml", 2000),
    ("examples/ames.yaml", 500),
    ("examples/grinnell.yaml", 400),
)
VARIANTS = {
    "location (baseline)": {"controls": "location"},
    "characteristics": {"controls": "characteristics"},
    "characteristics, smoothing 200": {"controls": "characteristics", "smoothing": 200.0},
}


def canonical(project: str) -> pd.DataFrame:
    """The project's data as the product loads it."""
    config = load_project(project)
    return to_canonical(read_table(config.resolved_data_path()), config.data).frame


def global_curve(frame: pd.DataFrame, **settings: object) -> pd.Series:
    """The global log index of ``frame`` by month number."""
    index = PriceIndex(min_rows=10**9, **settings).fit(frame)  # type: ignore[arg-type]
    return pd.Series(index.log_index_[GLOBAL], index=index.months_)


def shape_gap(curve: pd.Series, truth: pd.Series) -> float:
    """Root mean square gap between two centred curves over ``curve``'s months."""
    reference = truth.reindex(curve.index)
    gap = (curve - curve.mean()) - (reference - reference.mean())
    return float(np.sqrt(np.nanmean(gap.to_numpy() ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12, help="random samples per case")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    header = " | ".join(VARIANTS)
    print(f"| set | rows | full curve's range | {header} |")
    print("|---|---:|---:|" + "---:|" * len(VARIANTS))
    for project, rows in CASES:
        started = time.perf_counter()
        full = canonical(project)
        truth = global_curve(full)
        gaps: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for seed in range(args.samples):
            sample = full.sample(min(rows, len(full)), random_state=seed)
            for name, settings in VARIANTS.items():
                gaps[name].append(shape_gap(global_curve(sample, **settings), truth))
        cells = " | ".join(f"{np.mean(values):.4f}" for values in gaps.values())
        name = project.removeprefix("examples/").removesuffix(".yaml")
        span = truth.max() - truth.min()
        seconds = time.perf_counter() - started
        print(f"| {name} | {rows} | {span:.3f} | {cells} |  ({seconds:.0f} s)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
