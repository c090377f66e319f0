"""Which bootstrap interval of a metric difference covers the truth: percentile, BC or basic?

A diagnostic beside ``benchmarks/compare.py`` (same scenarios, same small models): per seed,
the paired bootstrap of :func:`estimo.evaluate.paired.paired_bootstrap` on a 500-row test
sample gives three 95 % intervals of the difference B − A from the same resamples:

- ``percentile``: the 2.5 % and 97.5 % quantiles of the resampled differences (what
  ``estimo compare`` reports);
- ``BC``: bias-corrected percentile (Efron), the quantiles moved by the resamples' median
  bias;
- ``basic``: the percentile interval reflected around the estimate.

The truth is the difference on the rest of the new properties (about 4,500), whose own
sampling error (``truth se``, bootstrapped) is printed too. ``sd(est - truth)`` against
``bootstrap se`` tells whether the bootstrap gets the spread of the estimate right.

Run from the repository root::

    python benchmarks/compare_intervals.py --seeds 40
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from estimo.evaluate.paired import paired_bootstrap

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import METRICS, trained_pair

LEVEL = 0.95


def intervals(estimate: float, diffs: np.ndarray) -> dict[str, tuple[float, float]]:
    """Percentile, bias-corrected and basic intervals from resampled differences."""
    alpha = (1 - LEVEL) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    below = np.mean(diffs < estimate) + 0.5 * np.mean(diffs == estimate)
    z0 = norm.ppf(np.clip(below, 1e-6, 1 - 1e-6))
    bc_low, bc_high = np.quantile(diffs, norm.cdf(2 * z0 + norm.ppf([alpha, 1 - alpha])))
    return {
        "percentile": (low, high),
        "BC": (bc_low, bc_high),
        "basic": (2 * estimate - high, 2 * estimate - low),
    }


def one_seed(kind: str, seed: int, n_boot: int) -> list[dict]:
    """Estimates, truths and the three intervals of every metric for one seed."""
    pair = trained_pair(kind, seed)
    a, b, sample, rest = pair.a, pair.b, pair.sample, pair.rest

    def boot(rows: pd.DataFrame, n: int) -> tuple[dict, dict]:
        actual = rows["price"].to_numpy(float)
        return paired_bootstrap(
            actual, [a.predict(rows), b.predict(rows)], METRICS, n_boot=n, seed=seed
        )

    (est, reps), (true_est, true_reps) = boot(sample, n_boot), boot(rest, 300)
    out = []
    for m in METRICS:
        diffs = reps[m][:, 1] - reps[m][:, 0]
        row = {
            "kind": kind,
            "seed": seed,
            "metric": m,
            "est": est[m][1] - est[m][0],
            "truth": true_est[m][1] - true_est[m][0],
            "truth_se": float(np.std(true_reps[m][:, 1] - true_reps[m][:, 0])),
            "boot_se": float(np.std(diffs)),
        }
        for method, (low, high) in intervals(row["est"], diffs).items():
            row[method] = bool(low <= row["truth"] <= high)
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--n-boot", type=int, default=2000)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [
        row
        for kind in ("window", "feature")
        for seed in range(args.seeds)
        for row in one_seed(kind, seed, args.n_boot)
    ]
    table = pd.DataFrame(rows)
    for (kind, metric), part in table.groupby(["kind", "metric"], sort=False):
        error = part["est"] - part["truth"]
        print(
            f"{kind:7s} {metric:6s} coverage: percentile {part['percentile'].mean():.0%}, "
            f"BC {part['BC'].mean():.0%}, basic {part['basic'].mean():.0%}; "
            f"sd(est - truth) {100 * error.std():.3f} pts, bootstrap se "
            f"{100 * part['boot_se'].mean():.3f}, truth se {100 * part['truth_se'].mean():.3f}"
        )
    print(f"{len(table) // len(METRICS)} runs in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
