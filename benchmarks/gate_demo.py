"""The promotion gate on the demo market, through the command line (issue 15).

The demo's synthetic market (``estimo demo``: 12,000 properties, seed 0, its usual 1-2 %
faults) is written to a Parquet file, and a copy of it made faulty: 5 % of prices x10, 5 % of
coordinates at (0, 0), 5 % of rows duplicated. Then, with the gate's default rules:

1. a champion is trained on the rows before ``--old`` and registered (``train --register``);
2. a clean candidate is trained on the rows before ``--new`` (a newer window);
3. a faulty candidate is trained on the faulty copy before ``--new``, registered both with
   ``train --register`` and with ``models register --data``;
4. each candidate goes through ``estimo promote`` against the champion, on the clean data.

The script prints each decision (checks and their messages) and ``estimo compare`` of the
champion and the clean candidate (the same rows as the gate's). Engine settings are the
project defaults unless ``--trees`` is given.

Usage::

    python benchmarks/gate_demo.py [--n 12000] [--trees 2000] [--out runs/gate_demo]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from estimo.cli import app
from estimo.synth import generate_market

LABELS = (
    "explain:\n  labels: {area_m2_missing: area unknown, year_built_missing: year unknown, "
    "condition_missing: condition unknown, rooms_missing: rooms unknown, "
    "floor_missing: floor unknown, bathrooms_missing: bathrooms unknown}\n"
)


def faulty_copy(frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """5 % of prices x10, 5 % of coordinates at (0, 0), 5 % of rows duplicated."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    n = len(out)
    out.loc[rng.choice(out.index, n // 20, replace=False), "price"] *= 10
    out.loc[rng.choice(out.index, n // 20, replace=False), ["lat", "lon"]] = 0.0
    copies = out.loc[rng.choice(out.index, n // 20, replace=False)]
    return pd.concat([out, copies], ignore_index=True)


def run(*args: str) -> str:
    start = time.perf_counter()
    result = CliRunner().invoke(app, list(args))
    seconds = time.perf_counter() - start
    print(f"$ estimo {' '.join(args)}   [{seconds:.0f} s, exit {result.exit_code}]")
    if result.exit_code not in (0, 1):
        raise SystemExit(result.output)
    return result.output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12_000)
    parser.add_argument("--trees", type=int, default=None)
    parser.add_argument("--old", default="2023-01-01")
    parser.add_argument("--new", default="2023-09-01")
    parser.add_argument("--out", type=Path, default=Path("runs/gate_demo"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    market = generate_market(args.n, seed=0).frame
    engine = "" if args.trees is None else f"engine: {{n_estimators: {args.trees}}}\n"
    projects = {}
    for name, frame in (("market", market), ("faulty", faulty_copy(market))):
        frame.to_parquet(args.out / f"{name}.parquet", index=False)
        projects[name] = args.out / f"{name}.yaml"
        projects[name].write_text(
            f"data:\n  path: {name}.parquet\n  price_kind: price_kind\n{engine}{LABELS}"
        )
    reg = str(args.out / "registry")
    market_yaml, faulty_yaml = str(projects["market"]), str(projects["faulty"])
    for until, project, folder in (
        (args.old, market_yaml, "champion"),
        (args.new, market_yaml, "clean"),
        (args.new, faulty_yaml, "faulty"),
    ):
        run("train", project, "--until", until, "--out", str(args.out / folder), "--register", reg)
    run("models", "register", str(args.out / "faulty"), "-r", reg, "--data", faulty_yaml)
    run("models", "alias", "champion", "v1", "-r", reg)
    names = {
        "v2": "clean, newer window",
        "v3": "faulty, train --register",
        "v4": "faulty, models register --data",
    }
    for version in ("v3", "v4", "v2"):
        run("promote", version, "--data", market_yaml, "-r", reg)
        [path] = (args.out / "registry" / "decisions").glob(f"*-{version}-champion.json")
        decision = json.loads(path.read_text())
        print(f"\n{version} ({names[version]}): {decision['outcome'].upper()}")
        for check in decision["checks"]:
            print(f"  {check['name']:18s} {check['status']:5s} {check['message']}")
    run(
        "compare",
        str(args.out / "champion"),
        str(args.out / "clean"),
        "--data",
        market_yaml,
        "--out",
        str(args.out / "compare"),
    )
    comparison = json.loads((args.out / "compare" / "comparison.json").read_text())
    print(f"\nestimo compare champion clean: n={comparison['n']}; {comparison['verdict']}")


if __name__ == "__main__":
    main()
