"""Registry speed: save and load of one city bundle, against a plain LightGBM load, same run.

Trains one city model (Milano of the synthetic market, 300 trees, 31 leaves), then times:

* baseline: ``lightgbm.Booster(model_file=...)`` on the same model text file;
* ``estimo.model.bundle.load_model`` on a plain folder;
* ``Registry.load`` from a local folder, with and without checksum verification, and
  from fsspec's memory filesystem;
* ``Registry.save`` (claim + staging + checksums + atomic rename).

Target: a registry load under 50 ms. Prints a Markdown table (median and p90 of the
repeats). Run: ``python benchmarks/registry.py [--repeats 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb

from estimo.model.bundle import load_model, save_model
from estimo.model.valuation import ValuationModel
from estimo.registry import Registry
from estimo.synth import generate_market


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and 90th percentile wall time of ``fn`` in milliseconds (one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--trees", type=int, default=300)
    args = parser.parse_args()

    frame = generate_market(8_000, seed=0, faults=False).frame
    city = frame.loc[frame["city"] == "Milano"]
    model = ValuationModel(n_estimators=args.trees, learning_rate=0.05, num_leaves=31, n_jobs=2)
    model.fit(city)

    with tempfile.TemporaryDirectory() as tmp:
        folder = str(Path(tmp) / "bundle")
        save_model(model, folder)
        model_file = str(Path(folder) / "model.txt")
        size_kb = Path(model_file).stat().st_size / 1024
        local = Registry(str(Path(tmp) / "registry"))
        memory = Registry(f"memory://bench-{uuid.uuid4().hex}")
        local.save(model)
        memory.save(model)

        rows = [
            (
                "baseline: lightgbm.Booster(model_file=...)",
                timed(lambda: lgb.Booster(model_file=model_file), args.repeats),
            ),
            ("load_model(folder)", timed(lambda: load_model(folder), args.repeats)),
            (
                "Registry.load (local, checksums verified)",
                timed(lambda: local.load("v1"), args.repeats),
            ),
            (
                "Registry.load (local, verify=False)",
                timed(lambda: local.load("v1", verify=False), args.repeats),
            ),
            ("Registry.load (memory://, verified)", timed(lambda: memory.load("v1"), args.repeats)),
            (
                "Registry.save (local, new version each time)",
                timed(lambda: local.save(model), max(5, args.repeats // 3)),
            ),
            (
                "Registry.save (memory://)",
                timed(lambda: memory.save(model), max(5, args.repeats // 3)),
            ),
        ]

    print(
        f"one city bundle: Milano, {len(city):,} training rows, {args.trees} trees, "
        f"31 leaves, model.txt {size_kb:,.0f} KiB; {args.repeats} repeats"
    )
    print()
    print("| operation | median ms | p90 ms |")
    print("|---|---:|---:|")
    for name, (median, p90) in rows:
        print(f"| {name} | {median:.1f} | {p90:.1f} |")


if __name__ == "__main__":
    main()
