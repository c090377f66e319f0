"""A load generator for crash tests: served valuations through a :class:`BatchedWriter`.

``python -m estimo.monitor.loadgen URL --flush-seconds 0.2 [--prefix P] [--rate 2000]``
submits numbered valuations (request ids ``000000000``, ``000000001``, ...; ``served_at``
the wall-clock time of the submission) as fast as ``--rate`` allows, and prints
``submitted <n> <unix time>`` after every 100 rows, until it is killed. The crash test and
``benchmarks/monitor.py`` kill it with SIGKILL and check that the store holds every row
submitted up to one flush interval before the kill, with no gap.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from estimo.monitor.store import ValuationStore
from estimo.monitor.writer import BatchedWriter

__all__ = ["served_row"]


def served_row(i: int, at: float) -> dict:
    """The ``i``-th synthetic served valuation, served at unix time ``at``."""
    return {
        "request_id": f"{i:09d}",
        "served_at": dt.datetime.fromtimestamp(at, dt.UTC),
        "property": {"id": f"P{i % 5000}", "city": "Roma", "area_m2": 60 + i % 90, "rooms": 3},
        "answer": {
            "price": 200_000.0 + i % 1000,
            "low": 180_000.0,
            "high": 220_000.0,
            "sub_model": "city:Roma",
        },
        "model_version": "v1",
        "tier": "free",
    }


def main(argv: list[str] | None = None) -> None:
    """Run until killed (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m estimo.monitor.loadgen")
    parser.add_argument("url")
    parser.add_argument("--flush-seconds", type=float, default=0.2)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--rate", type=float, default=2000.0, help="rows per second")
    args = parser.parse_args(argv)
    store = ValuationStore.from_url(args.url, table_prefix=args.prefix)
    writer = BatchedWriter(store, flush_seconds=args.flush_seconds)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    start = time.time()
    i = 0
    while True:
        now = time.time()
        due = int((now - start) * args.rate)
        while i < due:
            writer.submit(served_row(i, time.time()))
            i += 1
            if i % 100 == 0:
                out.write(f"submitted {i} {time.time():.6f}\n")
                out.flush()
        time.sleep(0.001)


if __name__ == "__main__":
    main()
