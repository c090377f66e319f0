"""Training the city models as Ray tasks against the local parallel fit (issue 16).

The same engine (``AVM`` with the given settings) is fitted twice on the same rows in one
run: the local backend (joblib threads, ``n_jobs`` of them, one LightGBM thread each) and the
``ray`` backend (one Ray task per sub-model on a local Ray with ``--cpus`` CPUs, started
before the clock). Printed: the wall time of each fit, their ratio, and whether every booster
is the same, bit for bit.

    python benchmarks/ray_train.py [--rows 40000] [--trees 400] [--cpus 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=40_000, help="synthetic market size")
    parser.add_argument("--trees", type=int, default=400, help="trees per sub-model")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import ray

    from estimo.model.avm import AVM
    from estimo.model.training_backend import training_backend
    from estimo.synth import generate_market

    frame = generate_market(args.rows, seed=2).frame
    settings = {"n_estimators": args.trees, "n_jobs": args.cpus, "progress": False}
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    local = AVM(**settings).fit(frame)
    local_s = time.perf_counter() - started
    with training_backend("ray"):
        started = time.perf_counter()
        remote = AVM(**settings).fit(frame)
        ray_s = time.perf_counter() - started
    mine, theirs = local.stage_.model.boosters_, remote.stage_.model.boosters_
    same = sorted(mine) == sorted(theirs) and all(
        mine[k].model_to_string() == theirs[k].model_to_string() for k in mine
    )
    print(f"{len(frame):,} rows, {len(mine)} sub-models, {args.trees} trees max each")
    print(f"local fit (joblib, {args.cpus} threads): {local_s:.1f} s")
    print(f"ray fit ({args.cpus} CPUs, one task per sub-model): {ray_s:.1f} s")
    print(f"ray / local: {ray_s / local_s:.2f}; same boosters bit for bit: {same}")
    print(f"load average after: {os.getloadavg()}")
    ray.shutdown()


if __name__ == "__main__":
    main()
