"""Ray Serve: one replica answering many callers at once, with and without coalescing.

A local Ray (``estimo[ray]``) runs the deployment of :mod:`estimo.serve.ray_app` with one
replica on a synthetic engine bundle (6,000 rows). Callers send single valuations with
reasons through the deployment handle (what Ray's HTTP proxy does per request), keeping
``--in-flight`` requests open at once, for ``--requests`` requests per setting:

* ``coalesce 16`` (the default): the replica values off its event loop, so the requests it
  holds at once are valued together in the bundle's next pass;
* ``coalesce 1``: the baseline, each request valued alone (the replica's worker threads
  value them side by side, each paying the fixed cost of a pass).

Both replicas hold 16 requests at once (``max_ongoing_requests``).

Printed per setting: valuations/s and p50/p99 of the request time seen by the caller, and
the machine's load average before and after. Every answer of the
coalescing run is checked against the same property valued alone (prices equal).

Run from the repository root (about 2 minutes)::

    OMP_WAIT_POLICY=PASSIVE python benchmarks/ray_serve.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from latency import load_average_line  # this folder is on the path when run as a script


def bundle(folder: Path) -> list[dict[str, Any]]:
    """A synthetic engine bundle in ``folder`` and 200 request records of its market."""
    from estimo.jsonutil import to_jsonable
    from estimo.model.avm import AVM
    from estimo.model.bundle import save_model
    from estimo.synth import generate_market

    market = generate_market(6_000, seed=4, faults=False).frame
    small = {"n_estimators": 200, "min_city_rows": 400, "n_jobs": 1, "currency": "EUR"}
    save_model(AVM(**small).fit(market.iloc[:5_800]), str(folder))
    rows = market.iloc[5_800:].drop(columns=["price", "price_kind", "id", "description"])
    return [
        {k: v for k, v in to_jsonable(r).items() if v is not None}
        for r in rows.to_dict(orient="records")
    ]


async def load(handle: Any, records: list[dict[str, Any]], n: int, in_flight: int) -> dict:
    """``n`` requests with ``in_flight`` open at a time; throughput and per-request times."""
    times: list[float] = []
    answers: dict[int, dict[str, Any]] = {}
    queue = iter(range(n))

    async def caller() -> None:
        for i in queue:
            started = time.perf_counter()
            answers[i] = await handle.value.remote(records[i % len(records)])
            times.append((time.perf_counter() - started) * 1e3)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    p50, p99 = np.percentile(times, [50, 99])
    return {"per_s": n / seconds, "p50": p50, "p99": p99, "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per setting")
    parser.add_argument("--in-flight", type=int, default=16, help="requests open at once")
    args = parser.parse_args()

    import ray
    from ray import serve

    from estimo.serve.ray_app import build_app
    from estimo.serve.valuer import load_valuer

    folder = Path(tempfile.mkdtemp(prefix="estimo-ray-serve-")) / "_global"
    records = bundle(folder)
    alone = load_valuer(str(folder))
    expected = [alone.value_one(r)["price"] for r in records]
    before = os.getloadavg()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    results = {}
    try:
        for coalesce in (16, 1):
            app = build_app({"model": str(folder.parent), "coalesce": coalesce})
            handle = serve.run(app, name=f"estimo{coalesce}", route_prefix=None)
            asyncio.run(load(handle, records, 20, 1))  # the bundle loaded, kernels warm
            results[coalesce] = asyncio.run(load(handle, records, args.requests, args.in_flight))
            serve.delete(f"estimo{coalesce}")
    finally:
        serve.shutdown()
        ray.shutdown()
    after = os.getloadavg()
    for coalesce, result in results.items():
        wrong = sum(
            result["answers"][i]["price"] != expected[i % len(records)] for i in result["answers"]
        )
        if wrong:
            raise SystemExit(f"coalesce {coalesce}: {wrong} answers differ from valued alone")
    base = results[1]["per_s"]
    print(f"Ray {ray.__version__}, one replica, {args.requests} requests, {args.in_flight} open")
    print(f"{'setting':<26}{'valuations/s':>14}{'x baseline':>12}{'p50 ms':>9}{'p99 ms':>9}")
    for coalesce, result in results.items():
        name = f"coalesce {coalesce}" + (" (baseline)" if coalesce == 1 else "")
        print(
            f"{name:<26}{result['per_s']:>14.1f}{result['per_s'] / base:>12.2f}"
            f"{result['p50']:>9.1f}{result['p99']:>9.1f}"
        )
    print("every answer equals the property valued alone")
    print(load_average_line(before, after))


if __name__ == "__main__":
    main()
