"""The engine's plain member: the weight chosen on the validation slice against fixed weights.

For a dated shared dataset of :mod:`markets` (same rows, same cut-off, the example project
file's settings, changed by ``--engine key=value`` to try one), the backtest is run once
with the weight the engine chooses on its validation slice
(:func:`estimo.model.plain_member.choose_weight`) and once per fixed weight of
``--weights`` (0: the engine's own model alone, 1: the plain member alone), printing the
test MdAPE and PE10 of each and what the validation slice saw. It tells whether the weight
chosen on the validation months holds on the test months, and how far the engine's own
model is from the plain one out of time.

Run from the repository root (``../shared/data`` present; about a minute per set)::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/plain_weight.py --set ames
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import estimo.model.plain_member as plain_member
from estimo.evaluate.backtest import run_backtest
from estimo.split import out_of_time_split
from latency import load_average_line  # this folder is on the path when run as a script
from markets import SETS, _scores, add_engine_option, engine_overrides, load_set


def run(key: str, weight: float | None, engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """Test scores of the backtest of set ``key`` with the plain member at ``weight``
    (None: the weight chosen on the validation slice), the engine's settings of the project
    file updated with ``engine``."""
    spec = SETS[key]
    if spec.cutoff is None:
        raise SystemExit(f"set {key!r} has no date; choose a dated set")
    config, _, frame = load_set(spec, None, engine)
    split = out_of_time_split(frame, spec.cutoff)
    chosen = plain_member.choose_weight
    if weight is not None:
        plain_member.choose_weight = lambda *_: weight
    try:
        params = {**config.engine.model_dump(), "currency": config.data.currency}
        result = run_backtest(frame, spec.cutoff, model_params=params, quality=config.quality)
    finally:
        plain_member.choose_weight = chosen
    table = result.predictions.set_index("id").reindex(split.test["id"])
    scores = _scores(split.test["price"].to_numpy(float), table["predicted"].to_numpy(float), None)
    member = result.metrics["engine"]["validation"].get("plain_member", {})
    return {"scores": scores, "member": member, "n_test": len(split.test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="ames", help="a dated set of benchmarks/markets.py")
    parser.add_argument("--weights", default="0,0.5,1", help="fixed weights to try")
    add_engine_option(parser)
    args = parser.parse_args()
    engine = engine_overrides(args.engine)
    if engine:
        print(f"engine settings: {engine}")
    before = os.getloadavg()
    weights: list[float | None] = [None, *(float(w) for w in args.weights.split(","))]
    print(f"{'weight':<22}{'MdAPE %':>9}{'PE10 %':>9}")
    for weight in weights:
        out = run(args.set, weight, engine)
        member, scores = out["member"], out["scores"]
        name = f"chosen ({member.get('weight')})" if weight is None else f"fixed {weight:g}"
        print(f"{name:<22}{scores['mdape'] * 100:>9.2f}{scores['pe10'] * 100:>9.1f}", flush=True)
        if weight is None:
            own, plain = member.get("engine", {}), member.get("plain", {})
            print(
                f"  validation slice: {own.get('n')} rows; engine MdAPE "
                f"{own.get('mdape', float('nan')) * 100:.2f} %, plain member "
                f"{plain.get('mdape', float('nan')) * 100:.2f} % ({member.get('trees')} trees); "
                f"test rows: {out['n_test']}"
            )
    print(load_average_line(before, os.getloadavg()))


if __name__ == "__main__":
    main()
