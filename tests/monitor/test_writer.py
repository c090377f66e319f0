"""The batched writer: timed flushes, retries, and a crash loses at most one flush interval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from estimo.monitor.loadgen import served_row
from estimo.monitor.store import ValuationStore
from estimo.monitor.writer import BatchedWriter

REPO = Path(__file__).resolve().parents[2]


def test_rows_reach_the_store_within_the_flush_interval(store: ValuationStore) -> None:
    writer = BatchedWriter(store, flush_seconds=0.1)
    try:
        for i in range(50):
            writer.submit(served_row(i, time.time()))
        deadline = time.time() + 5
        while store.count_valuations() < 50 and time.time() < deadline:
            time.sleep(0.02)
        assert store.count_valuations() == 50
    finally:
        writer.close()
    assert writer.stats() == {
        "submitted": 50,
        "written": 50,
        "rejected": 0,
        "dropped": 0,
        "failures": 0,
        "pending": 0,
    }


def test_close_writes_what_is_left_and_bad_rows_are_counted(store: ValuationStore) -> None:
    writer = BatchedWriter(store, flush_seconds=60)
    writer.submit(served_row(1, time.time()))
    writer.submit(
        {"request_id": "bad", "served_at": "2024-01-01", "property": {}, "answer": {"price": 0}}
    )
    writer.close()
    assert store.valuations_frame()["request_id"].tolist() == [f"{1:09d}"]
    assert writer.stats()["rejected"] == 1


class FlakyStore:
    """Fails its first ``failures`` writes, then stores rows in a list."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.rows: list[dict] = []

    def write_valuation_rows(self, rows: list[dict]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database down")
        self.rows.extend(rows)


def test_a_failed_write_is_retried_and_the_buffer_is_bounded() -> None:
    flaky = FlakyStore(failures=2)
    writer = BatchedWriter(flaky, flush_seconds=60, max_pending=3)  # type: ignore[arg-type]
    for i in range(5):
        writer.submit(served_row(i, time.time()))
    assert writer.flush() == 0  # fails: the 3 newest rows are kept
    writer.submit(served_row(5, time.time()))
    assert writer.flush() == 0  # fails again: still bounded
    assert writer.stats()["pending"] == 3
    assert writer.flush() == 3
    writer.close()
    assert [r["request_id"] for r in flaky.rows] == [f"{i:09d}" for i in (3, 4, 5)]
    assert writer.stats()["dropped"] == 3
    assert writer.stats()["failures"] == 2


def test_flush_seconds_must_be_positive(store: ValuationStore) -> None:
    with pytest.raises(ValueError, match="flush_seconds is 0; expected a number > 0"):
        BatchedWriter(store, flush_seconds=0)


def test_a_killed_process_loses_at_most_one_flush_interval(tmp_path: Path) -> None:
    """SIGKILL a process writing ~2,000 valuations a second to SQLite through the writer.

    The store must then hold a gap-free prefix of the submitted rows that includes every row
    submitted more than ``flush_seconds`` + 0.5 s (the duration of one write on a loaded
    machine) before the kill.
    """
    flush = 0.2
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen(
        [sys.executable, "-m", "estimo.monitor.loadgen", url, "--flush-seconds", str(flush)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        submitted = 0
        started = time.time()
        for line in child.stdout:
            submitted = int(line.split()[1])
            if time.time() - started > 2.0:
                break
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert submitted >= 1000
    store = ValuationStore.from_url(url)
    frame = store.valuations_frame()
    store.dispose()
    ids = frame["request_id"].astype(int).sort_values().to_numpy()
    assert len(ids) > 0
    assert (ids == range(len(ids))).all(), "the stored rows have a gap"
    last_stored = frame["served_at"].max()
    lost_seconds = (pd.Timestamp(killed_at, unit="s") - last_stored).total_seconds()
    assert lost_seconds <= flush + 0.5, f"lost {lost_seconds:.2f} s of valuations"
