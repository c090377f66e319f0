"""Monitoring benchmarks (issue 22): drift detection, ingestion, report time, crash loss.

Parts (``--part``, default all):

``replay``
    :func:`estimo.monitor.replay.run_replay` over ``--seeds`` seeds: a small engine trained
    on months 1-12 serves months 13-24 while Roma's prices rise 1 %/month more than the
    other cities'. Target: Roma flagged by the ``drift`` rule within 2 months of its drift
    reaching 3 % (month 15, so by month 17), the other cities never flagged. Baseline, in the
    same run: the naive rule (the newest month's median ratio against appraisals more than
    3 % from 1).
``ingest``
    ``--rows`` served valuations written into SQLite and into PostgreSQL
    (``$ESTIMO_TEST_POSTGRES_URL``) through ``record_valuations`` in batches of 10,000;
    baseline: one INSERT and commit per valuation, timed on 2,000 rows and extrapolated.
    Target < 60 s per database for 1,000,000 rows. Then the monitoring report over them
    (with outcomes for 10 % of them and the training rows for feature drift); target < 30 s.
``crash``
    A process writing ~2,000 valuations a second through a BatchedWriter (flush 1 s) is
    killed with SIGKILL after ``--load-seconds``; valuations submitted (the service's 200
    answers) against valuations stored.

Usage: ``nice python benchmarks/monitor.py [--part replay|ingest|crash] [--seeds 10]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.config import MonitorConfig
from estimo.monitor.replay import run_replay
from estimo.monitor.report import MonitorInputs, build_report
from estimo.monitor.store import ValuationStore

POSTGRES_URL = os.environ.get(
    "ESTIMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def replay(seeds: int, n_properties: int) -> None:
    print(f"== replay: {seeds} seeds, {n_properties:,} properties, Roma +1 %/month from month 13")
    rows = []
    for seed in range(seeds):
        started = time.perf_counter()
        r = run_replay(n_properties=n_properties, seed=seed)
        rows.append(
            {
                "seed": seed,
                "flagged_month": r.first_flag,
                "in_time": r.detected_in_time,
                "false_flags": len(r.false_flags),
                "naive_flagged_month": r.naive_first_flag,
                "naive_false_flags": len(r.naive_false_flags),
                "outcomes_per_month": int(r.monthly["n_outcomes"].iloc[-1] / len(r.monthly)),
                "seconds": round(time.perf_counter() - started),
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print(
        f"drift rule: flagged in time in {int(table['in_time'].sum())}/{seeds} seeds "
        f"(drift reaches 3 % in month 15; target: flagged by month 17), false flags on stable "
        f"cities: {int(table['false_flags'].sum())}"
    )
    naive_in_time = table["naive_flagged_month"].fillna(99).le(17).sum()
    print(
        f"naive rule (baseline): flagged in time in {int(naive_in_time)}/{seeds} seeds, false "
        f"flags on stable cities: {int(table['naive_false_flags'].sum())}"
    )


def _rows(n: int, start: float) -> list[dict]:
    """n served valuations over 12 months, with realistic records."""
    rng = np.random.default_rng(0)
    cities = np.array(["Milano", "Roma", "Torino", "Madrid", "Valencia", "Bologna"])
    city = cities[rng.integers(0, 6, n)]
    area = rng.normal(85, 25, n).clip(20, 400).round(1)
    span = 365 * 86_400
    at = start + np.sort(rng.uniform(0, span, n))
    out = []
    for i in range(n):
        out.append(
            {
                "request_id": f"b{i:09d}",
                "served_at": dt.datetime.fromtimestamp(at[i], dt.UTC),
                "property": {
                    "id": f"P{i % 400_000}",
                    "city": city[i],
                    "area_m2": float(area[i]),
                    "rooms": int(2 + i % 4),
                    "lat": 45.0 + (i % 97) / 1000,
                    "lon": 9.0 + (i % 89) / 1000,
                    "property_type": "flat",
                    "year_built": int(1950 + i % 70),
                },
                "answer": {
                    "price": float(3000 * area[i]),
                    "low": float(2700 * area[i]),
                    "high": float(3300 * area[i]),
                    "sub_model": f"city:{city[i]}",
                },
                "model_version": "v1",
                "tier": "free",
            }
        )
    return out


def _ingest(url: str, rows: list[dict], label: str) -> ValuationStore:
    prefix = f"bench_{uuid.uuid4().hex[:8]}_"
    store = ValuationStore.from_url(url, table_prefix=prefix)
    started, cpu = time.perf_counter(), time.process_time()
    for k in range(0, len(rows), 10_000):
        store.record_valuations(rows[k : k + 10_000])
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert store.count_valuations() == len(rows)
    base = ValuationStore.from_url(url, table_prefix=prefix + "b")
    sample = [dict(r, request_id="x" + r["request_id"]) for r in rows[:2000]]
    t0 = time.perf_counter()
    for row in sample:
        base.record_valuations([row])
    per_row = (time.perf_counter() - t0) / len(sample)
    base.drop()
    base.dispose()
    print(
        f"{label}: {len(rows):,} valuations in {seconds:.1f} s wall, {cpu:.1f} s CPU of this "
        f"process ({len(rows) / seconds:,.0f}/s); "
        f"baseline one commit per valuation: {per_row * 1e3:.2f} ms/row, "
        f"{per_row * len(rows):.0f} s extrapolated"
    )
    return store


def ingest(n: int) -> None:
    print(f"== ingest and report: {n:,} served valuations")
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    t0 = time.perf_counter()
    rows = _rows(n, start)
    print(f"(generated the rows in {time.perf_counter() - t0:.1f} s, not counted)")
    rng = np.random.default_rng(1)
    picked = rng.choice(n, size=n // 10, replace=False)
    outcomes = [
        {
            "kind": "appraisal" if k % 3 else "sale",
            "request_id": rows[k]["request_id"],
            "property_id": rows[k]["property"]["id"],
            "price": rows[k]["answer"]["price"] * float(np.exp(rng.normal(0.0, 0.08))),
            "date": rows[k]["served_at"] + dt.timedelta(days=3),
            "appraiser_id": f"A{k % 7}" if k % 3 else None,
            "source": "bank" if k % 3 else "notary",
        }
        for k in picked
    ]
    reference = pd.DataFrame([r["property"] for r in rows[:: max(n // 20_000, 1)]])
    inputs = MonitorInputs(reference=reference)
    folder = Path(tempfile.mkdtemp(prefix="estimo-bench-"))
    for label, url in (
        ("SQLite", f"sqlite:///{folder / 'bench.db'}"),
        ("PostgreSQL", POSTGRES_URL),
    ):
        try:
            store = _ingest(url, rows, label)
        except Exception as exc:
            print(f"{label}: failed: {exc}")
            continue
        t0 = time.perf_counter()
        store.record_outcomes(outcomes)
        print(f"{label}: {len(outcomes):,} outcomes in {time.perf_counter() - t0:.1f} s")
        t0, cpu = time.perf_counter(), time.process_time()
        report = build_report(store, MonitorConfig(n_boot=200), inputs=inputs)
        print(
            f"{label}: monitor report over {report.summary['n_valuations']:,} valuations and "
            f"{report.summary['n_paired']:,} paired outcomes in {time.perf_counter() - t0:.1f} s "
            f"wall, {time.process_time() - cpu:.1f} s CPU of this process"
        )
        store.drop()
        store.dispose()


def crash(load_seconds: float, flush: float = 1.0, rate: float = 2000.0) -> None:
    print(
        f"== crash: SIGKILL after {load_seconds:.0f} s of load at {rate:,.0f} valuations/s, "
        f"flush every {flush:g} s"
    )
    folder = Path(tempfile.mkdtemp(prefix="estimo-crash-"))
    url = f"sqlite:///{folder / 'crash.db'}"
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [
        sys.executable,
        "-m",
        "estimo.monitor.loadgen",
        url,
        "--flush-seconds",
        str(flush),
        "--rate",
        str(rate),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as child:
        assert child.stdout is not None
        child.stdout.readline()
        started = time.time()
        submitted = 0
        for line in child.stdout:
            submitted = int(line.split()[1])
            if time.time() - started >= load_seconds:
                break
        child.send_signal(signal.SIGKILL)
        child.wait()
    store = ValuationStore.from_url(url)
    stored = store.count_valuations()
    lost = submitted - stored
    print(
        f"submitted (200 answers) >= {submitted:,}; stored {stored:,}; lost {lost:,} "
        f"= {lost / rate:.2f} s of traffic (bound: one flush interval, {flush:g} s = "
        f"{int(rate * flush):,} valuations)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["replay", "ingest", "crash", "all"], default="all")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--properties", type=int, default=24_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load: {os.getloadavg()}")
    if args.part in ("crash", "all"):
        crash(args.load_seconds)
    if args.part in ("ingest", "all"):
        ingest(args.rows)
    if args.part in ("replay", "all"):
        replay(args.seeds, args.properties)


if __name__ == "__main__":
    main()
