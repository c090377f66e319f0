"""Mostly-missing fields: imputed (the most common known value) or left missing, same run.

A field that is not critical and is missing on more than ``clean.max_impute_missing_share``
of the training rows (half, by default) is left missing instead of imputed. This script
measures what that costs or gains in accuracy on the shared sets where the rule applies (on
the shared data: Poland's ``condition``, missing on 75 % of sale and 73 % of rent listings),
against imputing every field (``max_impute_missing_share: 1.0``, the behaviour before the
rule), with ``benchmarks/markets.py``'s out-of-time split and scoring.

Run from the repository root, with ``../shared/data`` present::

    nice python benchmarks/imputation.py                          # Poland sale, full size
    nice python benchmarks/imputation.py --sets poland poland_rent --max-rows 60000
"""

from __future__ import annotations

import argparse
import time

from estimo.quality.rules.completeness import left_missing
from markets import SETS, load_set, run_dated

SETTINGS = {"impute every field (1.0)": 1.0, "leave mostly-missing fields (0.5)": 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["poland"], choices=sorted(SETS))
    parser.add_argument("--max-rows", type=int, default=None, help="subsample large sets")
    args = parser.parse_args()
    for key in args.sets:
        spec = SETS[key]
        if spec.cutoff is None:
            raise SystemExit(f"set {key!r} has no date; expected a set split out of time")
        config, raw, frame = load_set(spec, args.max_rows)
        fields = left_missing(frame.isna().mean(), config.quality)
        print(f"{key}: {len(frame):,} rows; fields left missing by the rule: {fields}")
        for label, share in SETTINGS.items():
            config.quality.clean.max_impute_missing_share = share
            started = time.perf_counter()
            scores = run_dated(spec, config, raw, frame)["estimo"]
            print(
                f"  {label:<36} MdAPE {scores['mdape']:.2%}  PE10 {scores['pe10']:.2%}  "
                f"80/90 % ranges {scores['cov80']:.1%} / {scores['cov90']:.1%}  "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
