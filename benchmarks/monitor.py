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
    with outcomes for 10 % of them, doing what ``estimo monitor --model --rolling
    --reference`` does: the served model (a small engine trained once on 2023 of the
    synthetic market, saved as a pipeline folder) loaded for its price index and training
    end, market drift (the index re-fitted on the paired outcomes), staleness (a rolling
    backtest's advice), feature drift and the envelope (reference rows); target < 30 s.
``crash``
    The HTTP service (uvicorn with ``estimo.serve.main:app_from_env``, as ``estimo serve``
    runs it, one worker, a small engine) records into SQLite with a 1 s flush interval;
    ``--clients`` keep-alive clients on 127.0.0.1 POST valuations at ``--rate`` requests a
    second in total; after ``--load-seconds`` the service gets SIGKILL (no shutdown, no final
    flush). Counted exactly: every 200 answer the clients received (its request id), the
    valuations stored; lost = answered - stored, against the bound of one flush interval
    (the answers received in the last second before the kill).

Usage: ``nice python benchmarks/monitor.py [--part replay|ingest|crash] [--seeds 10]
[--first-seed 0]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.config import MonitorConfig
from estimo.monitor.replay import run_replay
from estimo.monitor.report import build_report, load_inputs
from estimo.monitor.store import ValuationStore

POSTGRES_URL = os.environ.get(
    "ESTIMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def replay(seeds: int, n_properties: int, first_seed: int = 0) -> None:
    print(
        f"== replay: {seeds} seeds from {first_seed}, {n_properties:,} properties, "
        "Roma +1 %/month from month 13"
    )
    rows = []
    for seed in range(first_seed, first_seed + seeds):
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


def _served_model(folder: Path) -> tuple[Path, Path]:
    """A small engine trained on a year of the synthetic market (2023, the six cities of
    :func:`_rows`), saved as a pipeline folder as ``estimo train`` does, and a rolling
    backtest's ``rolling.json`` on the same rows (its retraining advice, for staleness)."""
    from estimo.config import QualityConfig
    from estimo.evaluate.rolling import run_rolling_backtest, write_rolling
    from estimo.model.avm import AVM
    from estimo.monitor.replay import REPLAY_MODEL
    from estimo.pipeline import ValuationPipeline
    from estimo.synth import generate_market

    started = time.perf_counter()
    frame = generate_market(12_000, seed=0, start="2023-01-01", months=12, faults=False).frame
    pipeline = ValuationPipeline(engine=AVM(**REPLAY_MODEL), quality=QualityConfig()).fit(frame)
    model = pipeline.save(str(folder / "model"))
    rolling = run_rolling_backtest(
        frame, n_origins=3, horizon=3, model_params={"n_estimators": 100, "n_jobs": 2}
    )
    write_rolling(rolling, folder / "rolling")
    print(
        f"(trained the served model on {len(frame):,} rows of 2023 and its rolling backtest "
        f"in {time.perf_counter() - started:.0f} s, not counted)"
    )
    return Path(model), folder / "rolling"


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
    folder = Path(tempfile.mkdtemp(prefix="estimo-bench-"))
    model_dir, rolling_dir = _served_model(folder)
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
        # what `estimo monitor --model DIR --rolling DIR` does: load the served model's index
        # and training end, then the whole report (market drift re-fits the index on the
        # paired outcomes; staleness from the rolling backtest's advice)
        t0, cpu = time.perf_counter(), time.process_time()
        inputs = load_inputs(model_dir, reference, rolling_dir)
        report = build_report(store, MonitorConfig(n_boot=200), inputs=inputs)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
        assert inputs.model_index is not None and len(report.market), report.notes
        assert len(report.stale) and len(report.drift), report.notes
        print(
            f"{label}: monitor report over {report.summary['n_valuations']:,} valuations and "
            f"{report.summary['n_paired']:,} paired outcomes (with loading the model, feature "
            f"drift, envelope, market drift over {report.market['city'].nunique()} cities x "
            f"{report.market['month'].nunique()} months, staleness) in {seconds:.1f} s wall, "
            f"{cpu:.1f} s CPU of this process; notes: {report.notes or 'none'}"
        )
        store.drop()
        store.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen, deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        with contextlib.suppress(OSError), contextlib.closing(connection):  # not up yet
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service never became ready (exit code {process.poll()})")
        time.sleep(0.2)


def _paced_client(
    port: int,
    rate: float,
    start: float,
    stop: threading.Event,
    answered: list,
    others: list,
    k: int,
) -> None:
    """POST valuations at ``rate`` a second from ``start`` (monotonic) until ``stop`` or the
    server is gone; append (receive time, request id) of every 200 answer to ``answered``
    and the status of every other answer to ``others`` (list.append is atomic)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    cities = ("Milano", "Roma", "Torino")
    i = 0
    try:
        while not stop.is_set():
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            body = {"city": cities[(i + k) % 3], "area_m2": 40 + (i * 7 + k) % 120, "rooms": 3}
            try:
                connection.request(
                    "POST", "/v1/valuations?explain=false", json.dumps(body), headers
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone (refused, reset or cut mid-answer)
            if response.status == 200:
                answered.append((time.monotonic(), response.getheader("x-request-id")))
            else:
                others.append(response.status)
            i += 1
    finally:
        connection.close()


def crash(load_seconds: float, flush: float = 1.0, rate: float = 100.0, clients: int = 4) -> None:
    """The HTTP service (uvicorn, ``estimo.serve.main:app_from_env``, one worker) recording
    into SQLite, killed with SIGKILL after ``load_seconds`` of paced load from 127.0.0.1."""
    from estimo.model.avm import AVM
    from estimo.model.bundle import save_model
    from estimo.synth import generate_market

    print(
        f"== crash: the HTTP service (uvicorn, 1 worker) killed with SIGKILL after "
        f"{load_seconds:.0f} s of load at {rate:,.0f} requests/s ({clients} keep-alive clients "
        f"on 127.0.0.1), flush every {flush:g} s"
    )
    folder = Path(tempfile.mkdtemp(prefix="estimo-crash-"))
    frame = generate_market(1_200, seed=3, faults=False).frame
    small = {"n_estimators": 15, "min_city_rows": 300, "n_jobs": 1, "currency": "EUR"}
    save_model(AVM(**small).fit(frame), str(folder / "_global"))
    url = f"sqlite:///{folder / 'crash.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "ESTIMO_SERVE__MODEL": str(folder / "_global"),
        "ESTIMO_SERVE__ALIAS_POLL_SECONDS": "0",
        "ESTIMO_SERVE__HOT_CITIES": '["global"]',
        "ESTIMO_SERVE__GUARD__ANONYMOUS_TIER": "internal",
        "ESTIMO_SERVE__MONITOR__STORE_URL": url,
        "ESTIMO_SERVE__MONITOR__FLUSH_SECONDS": str(flush),
        # one address sends the whole load: its limits (20/s by default) above the rate
        "ESTIMO_SERVE__GUARD__ADDRESS_LIMIT": f"{int(rate * 10)}/second",
        "ESTIMO_SERVE__GUARD__KEY_LIMITS": json.dumps({"internal": f"{int(rate * 10)}/second"}),
    }
    command = [sys.executable, "-m", "uvicorn", "estimo.serve.main:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    answered: list[tuple[float, str]] = []
    others: list[int] = []
    stop = threading.Event()
    with open(folder / "service.log", "w") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_ready(port, process)
            start = time.monotonic()
            threads = [
                threading.Thread(
                    target=_paced_client,
                    args=(port, rate / clients, start, stop, answered, others, k),
                )
                for k in range(clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(max(start + load_seconds - time.monotonic(), 0))
            killed_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            stop.set()
            for thread in threads:
                thread.join(15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    store = ValuationStore.from_url(url)
    stored = set(store.valuations_frame()["request_id"])
    store.dispose()
    ids = {rid for _, rid in answered}
    last_interval = sum(1 for at, _ in answered if at >= killed_at - flush)
    early_lost = sum(1 for at, rid in answered if at < killed_at - flush and rid not in stored)
    lost = len(ids - stored)
    achieved = len(answered) / (killed_at - start)
    print(
        f"answered (every 200 the clients received): {len(answered):,} "
        f"({achieved:,.1f}/s over {killed_at - start:.1f} s); stored {len(stored):,}; "
        f"stored but never answered {len(stored - ids):,}; other answers: "
        f"{dict(sorted(collections.Counter(others).items())) or 'none'}"
    )
    print(
        f"lost = answered - stored = {lost:,} = {lost / max(achieved, 1e-9):.2f} s of traffic; "
        f"bound: one flush interval ({flush:g} s) = the {last_interval:,} answers of the last "
        f"{flush:g} s before the kill: {'within' if lost <= last_interval else 'NOT within'}; "
        f"answered earlier than that but lost: {early_lost:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["replay", "ingest", "crash", "all"], default="all")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="replay: seeds first-seed .. first-seed+seeds-1"
    )
    parser.add_argument("--properties", type=int, default=24_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="crash: requests a second")
    parser.add_argument("--clients", type=int, default=4, help="crash: client threads")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load: {os.getloadavg()}")
    if args.part in ("crash", "all"):
        crash(args.load_seconds, rate=args.rate, clients=args.clients)
    if args.part in ("ingest", "all"):
        ingest(args.rows)
    if args.part in ("replay", "all"):
        replay(args.seeds, args.properties, args.first_seed)


if __name__ == "__main__":
    main()
