"""Ranges, confidence words and explanations that can be trusted (issue 18).

Out of time on the synthetic market (and on a sample of Poland with ``--poland N``): the
engine's adaptive ranges (normalised conformal on the learned difficulty scale) against the
fixed per-city ranges it also computes (``fixed_*`` columns: the baseline, same run, same
rows), then the confidence words' realised accuracy, then a checker over the explanations of
at least 1,000 test properties:

- coverage of the 80 % and 90 % ranges overall, per decile of the predicted spread (the
  adaptive range's relative width) and for the "odd" homes (top 5 % by difficulty, or flagged
  out of distribution);
- PE10 (share within 10 % of the price) and share of valuations per confidence word;
- explanations where the blend sentence contradicts the comparables' similarity, where the
  most similar comparable is left out while a less similar one is kept, or where a reason in
  money is made only of facts the owner did not give;
- the same properties as the service values them (raw records through the input contract):
  their coverage and "low" share must be the backtest's (a date after the data priced once);
- the share of valuations carrying each kind of warning (a warning on nearly every valuation
  tells the owner nothing; the "not very similar" one is calibrated per market).

    python benchmarks/trust.py [--rows 20000] [--explain 1200] [--poland 50000]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ESTIMO_SHARED_DATA", ROOT.parent / "shared" / "data"))
log = logging.getLogger("benchmarks.trust")

#: reason keys whose amount comes from facts of the property (not location, time, comps)
_FACT_REASONS_SKIP = {"location", "other", "comparables", "time", "market"}


def _coverage(frame: pd.DataFrame, target: pd.Series, low: str, high: str) -> float:
    inside = (target >= frame[low]) & (target <= frame[high])
    return float(100 * inside.mean())


def coverage_table(pred: pd.DataFrame) -> pd.DataFrame:
    """80/90 % coverage of the adaptive and fixed ranges overall, by spread decile, odd."""
    target = pred["price_target"] if "price_target" in pred else pred["price"]
    spread = (pred["high"] - pred["low"]) / pred["predicted"]
    decile = pd.qcut(spread.rank(method="first"), 10, labels=False)
    odd_cut = pred["difficulty"].quantile(0.95)
    odd = (pred["difficulty"] >= odd_cut) | pred["ood"].fillna("").astype(str).ne("")
    groups: list[tuple[str, pd.Series]] = [("overall", pd.Series(True, index=pred.index))]
    groups += [(f"spread decile {d + 1}", decile == d) for d in range(10)]
    groups.append(("odd homes (top 5 % difficulty or OOD)", odd))
    rows = []
    for name, mask in groups:
        part, t = pred.loc[mask], target.loc[mask]
        rows.append(
            {
                "group": name,
                "n": int(mask.sum()),
                "adaptive 80": _coverage(part, t, "low", "high"),
                "adaptive 90": _coverage(part, t, "low_90", "high_90"),
                "fixed 80": _coverage(part, t, "fixed_low_80", "fixed_high_80"),
                "fixed 90": _coverage(part, t, "fixed_low_90", "fixed_high_90"),
            }
        )
    return pd.DataFrame(rows)


def confidence_table(pred: pd.DataFrame) -> pd.DataFrame:
    """PE10 and share of valuations per confidence word."""
    target = pred["price_target"] if "price_target" in pred else pred["price"]
    within = (pred["predicted"] / target - 1).abs() <= 0.10
    rows = []
    for level in ("high", "medium", "low"):
        mask = pred["confidence"] == level
        rows.append(
            {
                "confidence": level,
                "share %": float(100 * mask.mean()),
                "PE10 %": float(100 * within[mask].mean()) if mask.any() else math.nan,
            }
        )
    return pd.DataFrame(rows)


def check_explanations(valuations: list[Any], records: list[dict[str, Any]]) -> dict[str, int]:
    """Count the three kinds of untrue explanation (see the module docstring)."""
    from estimo.explain.labels import Labeler
    from estimo.explain.text import SOMEWHAT, blend_sentence

    en = Labeler("en").locale
    counts = {
        "explanations": 0,
        "blend contradicts similarity": 0,
        "most similar comparable left out": 0,
        "money reason of unknown facts only": 0,
        "money reasons checked": 0,
    }
    for valuation, record in zip(valuations, records, strict=True):
        if isinstance(valuation, Exception):
            continue
        counts["explanations"] += 1
        comps = list(valuation.comparables)
        sentence = blend_sentence(valuation, en)
        if comps:
            similarity = float(np.mean([c.similarity for c in comps]))
            says_similar = "very similar to yours" in sentence and "not very" not in sentence
            says_dissimilar = "not very similar" in sentence
            if (says_similar and similarity < SOMEWHAT) or (
                says_dissimilar and similarity >= SOMEWHAT
            ):
                counts["blend contradicts similarity"] += 1
            best = max(comps, key=lambda c: c.similarity)
            if not best.used and any(c.used for c in comps):
                counts["most similar comparable left out"] += 1
        given = {k for k, v in record.items() if v is not None and v == v}
        for reason in valuation.reasons:
            if reason.get("key") in _FACT_REASONS_SKIP or not round(reason.get("amount", 0)):
                continue
            facts = [f for f in reason.get("features", []) if not f.endswith("_missing")]
            if not facts:
                continue
            counts["money reasons checked"] += 1
            if not any(f in given for f in facts):
                counts["money reason of unknown facts only"] += 1
    return counts


def warning_shares(valuations: list[Any]) -> pd.Series:
    """Share (%) of the valuations carrying each kind of warning (numbers and quoted words
    masked, so that "only 1 comparable within 2 km" and "only 2 ..." count together)."""
    valued = [v for v in valuations if not isinstance(v, Exception)]
    kinds: dict[str, int] = {}
    for valuation in valued:
        seen = {re.sub(r"\(.*\)|'[^']*'|\"[^\"]*\"|[\d.,]+", "#", w) for w in valuation.warnings}
        for kind in seen:
            kinds[kind] = kinds.get(kind, 0) + 1
    shares = pd.Series(kinds, dtype=float).sort_values(ascending=False)
    return (100 * shares / max(len(valued), 1)).round(1)


def served_table(
    pred: pd.DataFrame, records: list[dict[str, Any]], valuations: list[Any]
) -> pd.DataFrame:
    """The same test properties as the backtest values them and as the service does (raw
    records through the input contract, ``value_many``): 80/90 % coverage and the share
    called "low" confidence. The two must agree: a date after the data is priced once."""
    table = pred.drop_duplicates("id", keep=False).set_index(pred["id"].astype(str))
    target = table["price_target"] if "price_target" in table else table["price"]
    served = {
        str(r["id"]): v
        for r, v in zip(records, valuations, strict=True)
        if not isinstance(v, Exception) and str(r["id"]) in table.index
    }
    ids = list(served)
    paths = {
        "backtest": (
            table.loc[ids, ["low", "high", "low_90", "high_90"]].to_numpy(float),
            table.loc[ids, "confidence"].astype(str).tolist(),
        ),
        "served": (
            np.array([[v.low, v.high, *v.ranges["90"]] for v in served.values()], dtype=float),
            [str(v.confidence) for v in served.values()],
        ),
    }
    t = target.loc[ids].to_numpy(float)
    rows = []
    for name, (bounds, words) in paths.items():
        rows.append(
            {
                "path": name,
                "n": len(ids),
                "80 %": float(100 * np.mean((t >= bounds[:, 0]) & (t <= bounds[:, 1]))),
                "90 %": float(100 * np.mean((t >= bounds[:, 2]) & (t <= bounds[:, 3]))),
                "low confidence %": float(100 * np.mean([w == "low" for w in words])),
            }
        )
    return pd.DataFrame(rows)


def run(frame: pd.DataFrame, cutoff: str, n_explain: int, label: str, **engine: Any) -> None:
    """Backtest, coverage, confidence and the explanation checker on one market."""
    from estimo.config import QualityConfig
    from estimo.evaluate.backtest import run_backtest

    start = time.perf_counter()
    result = run_backtest(frame, cutoff, model_params=engine, quality=QualityConfig())
    pred = result.predictions
    log.info("%s: backtest %.0f s, %d test rows", label, time.perf_counter() - start, len(pred))
    print(f"\n## {label}: {len(pred):,} out-of-time test properties (cut-off {cutoff})\n")
    adaptive = getattr(result.model.engine_, "adaptive_", None)
    print(f"power on the difficulty scale (sigma ** power): {getattr(adaptive, 'power_', 1.0)}")
    print(coverage_table(pred).round(1).to_string(index=False))
    print()
    print(confidence_table(pred).round(1).to_string(index=False))
    test = result.split.test.drop(columns=["price"]).head(n_explain)
    records = [
        {k: (str(v) if k == "date" else v) for k, v in r.items() if v is not None and v == v}
        for r in test.to_dict("records")
    ]
    start = time.perf_counter()
    valuations = result.model.value_many(records, explain=True)
    seconds = time.perf_counter() - start
    print("\nthe same properties as backtested and as served (input contract, value_many):")
    print(served_table(pred, records, valuations).round(1).to_string(index=False))
    print(f"\nexplanation checker ({seconds:.0f} s):")
    for name, count in check_explanations(valuations, records).items():
        print(f"  {name}: {count:,}")
    engine_ = result.model.engine_
    limit = engine_.warning_thresholds_.min_similarity
    print(f"\nwarnings, % of the explained valuations (dissimilar below {limit:.3f}):")
    print(warning_shares(valuations).head(12).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic market size")
    parser.add_argument("--explain", type=int, default=1_200, help="explanations checked")
    parser.add_argument("--poland", type=int, default=0, help="Poland sample (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from estimo.synth import generate_market

    market = generate_market(args.rows, seed=5).frame
    run(market, "2023-09-01", args.explain, f"synthetic market ({args.rows:,} rows, seed 5)")
    if args.poland:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from markets import SETS, load_set

        _, _, frame = load_set(SETS["poland"], args.poland)
        run(frame, SETS["poland"].cutoff, args.explain, f"Poland ({len(frame):,}-row sample)")


if __name__ == "__main__":
    main()
