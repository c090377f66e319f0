"""Latency of one valuation through the saved pipeline, against plain LightGBM, in one run.

For a synthetic engine or a project's (e.g. the Poland-size engine of
``examples/poland.yaml``), trained once (``--trees`` caps the trees of every sub-model to
keep a fit on a shared machine bounded) and saved, this measures in the same process:

* ``load``: :func:`estimo.load_pipeline` of the saved folder (median of 5 loads; the
  per-city parts are read on first use), once with every city's part read, and reading one
  city's part (its sub-model and comparables' search trees) on its own, per city;
* ``one, reasons``: :meth:`ValuationPipeline.value_one` of a raw record with reasons and
  comparables (what the web form asks for);
* ``one, no reasons``: the same without reasons;
* ``batch, per property``: :meth:`ValuationPipeline.value` of all the records at once
  (the batch path), divided by their number;
* ``plain LightGBM row``: ``Booster.predict`` of the global sub-model on one 2-D numpy row
  (one thread), the floor any valuation built on these trees pays.

Single calls are timed one by one over ``--calls`` records drawn (with replacement) from
the held-out rows; it prints p50/p99 in milliseconds and the machine's load average before
and after (``os.getloadavg``): on a shared 2-core machine the load decides the figures.

Run from the repository root::

    python benchmarks/latency.py                                    # synthetic engine
    python benchmarks/latency.py --project examples/poland.yaml --trees 300
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import EstimoError
from estimo.io import load_project, read_table, to_canonical
from estimo.jsonutil import to_jsonable
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline, load_pipeline
from estimo.split import out_of_time_split
from estimo.synth import generate_market


def synthetic(trees: int, plain_member: bool) -> tuple[ValuationPipeline, pd.DataFrame, str]:
    """A pipeline on 4,500 rows of the (faulty) synthetic market, and 500 later rows."""
    frame = generate_market(5_000, seed=5).frame
    cut = len(frame) - 500
    engine = AVM(min_city_rows=800, n_estimators=trees, plain_member=plain_member)
    pipeline = ValuationPipeline(engine=engine, currency="EUR").fit(frame.iloc[:cut])
    return pipeline, frame.iloc[cut:].reset_index(drop=True), "synthetic market, 4,500 rows"


def project(
    path: str, trees: int, plain_member: bool
) -> tuple[ValuationPipeline, pd.DataFrame, str]:
    """A pipeline at the project's settings trained before its backtest cut-off, and the
    new properties after it."""
    config = load_project(path)
    loaded = to_canonical(read_table(config.resolved_data_path()), config.data)
    split = out_of_time_split(loaded.frame, config.backtest.cutoff)
    pipeline = ValuationPipeline.from_config(
        config, loaded.currency, n_estimators=trees, plain_member=plain_member
    )
    pipeline.fit(split.train)
    return pipeline, split.test.reset_index(drop=True), f"{path}, {len(split.train):,} rows"


def records(test: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    """``n`` raw records (JSON values, as a request brings them) drawn from ``test``."""
    rows = test.drop(columns=[c for c in ("price", "description") if c in test])
    rows = rows.sample(n, replace=True, random_state=0)
    return [to_jsonable(r) for r in rows.to_dict(orient="records")]


def valuable(pipeline: ValuationPipeline, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records the input contract accepts (the faulty synthetic market holds some it
    refuses, e.g. a year built of 0: the service answers those with a 422, not a valuation),
    drawn again with replacement up to the original number."""
    accepted = []
    for record in items:
        try:
            pipeline.check_records([record])
        except EstimoError:
            continue
        accepted.append(record)
    refused = len(items) - len(accepted)
    print(f"records the input contract refuses (left out): {refused} of {len(items)}")
    picks = np.random.default_rng(1).integers(0, len(accepted), len(items) - len(accepted))
    return accepted + [accepted[i] for i in picks]


def timed(step: Callable[[Any], object], items: list[Any]) -> np.ndarray:
    """Milliseconds of ``step`` on each item, one call at a time."""
    out = np.empty(len(items))
    for i, item in enumerate(items):
        start = time.perf_counter()
        step(item)
        out[i] = (time.perf_counter() - start) * 1e3
    return out


def cities_of(folder: Path) -> list[str]:
    """The cities of a saved pipeline (from its engine's facts)."""
    return list(load_pipeline(str(folder)).cities_)


def per_city_load(folder: str) -> dict[str, float]:
    """Milliseconds reading each city's part (its sub-model, its comparables' search
    trees) takes, each city on a freshly loaded pipeline whose global sub-model is read."""
    out = {}
    for city in load_pipeline(folder).cities_:
        pipeline = load_pipeline(folder, cities=[])  # the global sub-model only
        start = time.perf_counter()
        pipeline.engine_.load_cities([city])
        out[city] = (time.perf_counter() - start) * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", help="a project file (default: the synthetic market)")
    parser.add_argument("--trees", type=int, default=2000, help="cap of trees per sub-model")
    parser.add_argument("--calls", type=int, default=2000, help="single calls per kind")
    parser.add_argument("--folder", help="reuse (or write) the saved pipeline here")
    parser.add_argument(
        "--no-plain-member", action="store_true", help="train the engine without its plain member"
    )
    args = parser.parse_args()

    folder = Path(args.folder or tempfile.mkdtemp(prefix="estimo-latency-"))
    test_file = folder / "latency_test_rows.parquet"
    if (folder / "pipeline.json").is_file() and test_file.is_file():
        test, title = pd.read_parquet(test_file), f"saved pipeline {folder}"
    else:
        started = time.perf_counter()
        fitted, test, title = (
            project(args.project, args.trees, not args.no_plain_member)
            if args.project
            else synthetic(args.trees, not args.no_plain_member)
        )
        fit_seconds = time.perf_counter() - started
        fitted.save(str(folder))  # with every comparables reference row's contributions
        test.to_parquet(test_file, index=False)
        save_seconds = time.perf_counter() - started - fit_seconds
        title += f", fitted in {fit_seconds:.0f} s, saved in {save_seconds:.1f} s"

    load_before = os.getloadavg()
    loads = [timed(lambda f: load_pipeline(str(f)), [folder])[0] for _ in range(5)]
    every = cities_of(folder)
    loads_all = [timed(lambda f: load_pipeline(str(f), cities=every), [folder])[0]]
    city_parts = per_city_load(str(folder))
    pipeline = load_pipeline(str(folder))
    pipeline.warm_up()
    sample = valuable(pipeline, records(test, args.calls))
    booster = pipeline.engine_.stage_.model.boosters_["(global)"]
    rows = np.random.default_rng(0).normal(size=(args.calls, 1, booster.num_feature()))

    results = {
        "plain LightGBM row": timed(lambda x: booster.predict(x, num_threads=1), list(rows)),
        "one, no reasons": timed(lambda r: pipeline.value_one(r, explain=False), sample),
        "one, reasons": timed(lambda r: pipeline.value_one(r), sample),
    }
    frame = pd.DataFrame.from_records(sample)
    frame["date"] = pd.to_datetime(frame["date"])
    start = time.perf_counter()
    pipeline.value(frame)
    batch = (time.perf_counter() - start) * 1e3 / len(frame)
    load_after = os.getloadavg()

    trees = {name: b.num_trees() for name, b in pipeline.engine_.stage_.model.boosters_.items()}
    print(title)
    print(f"sub-models: {len(trees)}, trees: {sum(trees.values())} (largest {max(trees.values())})")
    member = pipeline.engine_.plain_
    print(
        "plain member: "
        + (
            "none"
            if member is None
            else f"weight {member.weight_:.2f}, {member.rounds_} trees"
            + ("" if member.active else " (not used)")
        )
    )
    print(f"memory: {pipeline.memory_bytes() / 1e6:.1f} MB")
    print(
        f"load: median {np.median(loads):.0f} ms of 5 (per-city parts read on first use); "
        f"with every city's part read: {loads_all[0]:.0f} ms"
    )
    slowest = max(city_parts, key=city_parts.__getitem__)
    print(
        f"one city's part: median {np.median(list(city_parts.values())):.1f} ms, "
        f"max {city_parts[slowest]:.1f} ms ({slowest}) over {len(city_parts)} cities"
    )
    print(f"{'ms per property':<22}{'p50':>9}{'p99':>9}{'calls':>7}")
    for name, values in results.items():
        p50, p99 = np.percentile(values, [50, 99])
        print(f"{name:<22}{p50:>9.3f}{p99:>9.3f}{len(values):>7}")
    print(f"{'batch, per property':<22}{batch:>9.3f}{'':>9}{len(frame):>7}")
    print(load_average_line(load_before, load_after))


def load_average_line(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    """The machine's load averages (``os.getloadavg``) before and after a run, and its cores."""
    return (
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.1f}" for x in before)
        + "; after "
        + ", ".join(f"{x:.1f}" for x in after)
        + f"; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
