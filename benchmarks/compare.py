"""Do the confidence intervals of `estimo compare` cover the true difference?

For each seed, a synthetic market is generated and two models are trained that differ only
in their training window (``window``: A on an older year, B on the newest year) or in one
feature (``feature``: A without ``year_built``, B with it). The new properties listed after
both training windows are split at random: a small *test sample* (what a user has) on which
:func:`estimo.evaluate.compare.compare_models` computes its paired-bootstrap interval of the
difference B − A, and the large rest (the *truth* sample) on which the same difference is
measured directly. The interval should cover the truth in about 95 % of the seeds.

Run from the repository root::

    python benchmarks/compare.py --seeds 20
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimo.evaluate.compare import compare_models
from estimo.evaluate.metrics import compute_metrics
from estimo.model.valuation import ValuationModel
from estimo.split import out_of_time_split
from estimo.synth import generate_market

SMALL_MODEL = {"n_estimators": 50, "learning_rate": 0.15, "num_leaves": 15, "n_jobs": 1}
CUTOFF = "2023-07-01"
METRICS = ("mdape", "pe10", "cod")


@dataclass(frozen=True)
class Pair:
    """Models A and B of one scenario and seed, their training rows, and the new
    properties split into a small test ``sample`` and the large ``rest`` (the truth)."""

    a: ValuationModel
    b: ValuationModel
    train_a: pd.DataFrame
    train_b: pd.DataFrame
    sample: pd.DataFrame
    rest: pd.DataFrame


def trained_pair(kind: str, seed: int, *, n_properties: int = 20_000, n_test: int = 500) -> Pair:
    """Train A and B for one scenario (``window`` or ``feature``) and seed."""
    market = generate_market(n_properties, seed=seed, faults=False)
    split = out_of_time_split(market.frame, CUTOFF)
    train = split.train
    if kind == "window":
        train_a = train.loc[(train["date"] >= "2022-07-01") & (train["date"] < "2023-01-01")]
        train_b = train.loc[train["date"] >= "2023-01-01"]
    elif kind == "feature":
        recent = train.loc[train["date"] >= "2022-10-01"]
        train_a, train_b = recent.drop(columns=["year_built"]), recent
    else:
        raise ValueError(f"kind {kind!r}; expected 'window' or 'feature'")
    a = ValuationModel(**SMALL_MODEL).fit(train_a)
    b = ValuationModel(**SMALL_MODEL).fit(train_b)
    pool = split.test.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return Pair(a, b, train_a, train_b, pool.iloc[:n_test], pool.iloc[n_test:])


def scenario(
    kind: str, seed: int, *, n_properties: int = 20_000, n_test: int = 500, n_boot: int = 500
) -> dict[str, Any]:
    """Train A and B for one scenario and seed; CI on a small sample vs truth on the rest."""
    pair = trained_pair(kind, seed, n_properties=n_properties, n_test=n_test)
    a, b, rest = pair.a, pair.b, pair.rest
    result = compare_models(
        a,
        b,
        pair.sample,
        n_boot=n_boot,
        seed=seed,
        train=(pair.train_a, pair.train_b),
        ablation=False,
    )
    true_a = compute_metrics(rest["price"], a.predict(rest))
    true_b = compute_metrics(rest["price"], b.predict(rest))
    out: dict[str, Any] = {"kind": kind, "seed": seed, "n_test": result.n, "n_truth": len(rest)}
    for m in METRICS:
        d = result.overall[m]
        truth = true_b[m] - true_a[m]
        out.update(
            {
                f"{m}_est": d.diff,
                f"{m}_low": d.low,
                f"{m}_high": d.high,
                f"{m}_truth": truth,
                f"{m}_covered": bool(d.low <= truth <= d.high),
            }
        )
    out["verdict"] = result.verdict
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--n-properties", type=int, default=20_000)
    parser.add_argument("--csv", help="write the per-seed rows to this CSV file")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [
        scenario(kind, seed, n_properties=args.n_properties, n_test=args.n_test)
        for kind in ("window", "feature")
        for seed in range(args.seeds)
    ]
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    pd.set_option("display.width", 200)
    for kind, part in table.groupby("kind", sort=False):
        print(f"\n== {kind}: {len(part)} seeds, test sample {args.n_test} rows")
        for m in METRICS:
            width = (part[f"{m}_high"] - part[f"{m}_low"]).mean()
            same_sign = np.mean(np.sign(part[f"{m}_est"]) == np.sign(part[f"{m}_truth"]))
            print(
                f"  {m:6s} coverage {part[f'{m}_covered'].mean():.0%}  "
                f"mean true diff {100 * part[f'{m}_truth'].mean():+.2f} pts  "
                f"mean CI width {100 * width:.2f} pts  "
                f"estimate has the true sign {same_sign:.0%}"
            )
        print("  e.g.:", part["verdict"].iloc[0])
    print(f"\n{len(table)} runs in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
