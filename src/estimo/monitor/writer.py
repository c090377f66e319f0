"""The batched writer: served valuations go to the store off the request path.

The service calls :meth:`BatchedWriter.submit` once per answered request; it only appends to
an in-memory buffer (no I/O, no lock held while writing). A background thread writes the
buffer every ``flush_seconds`` in one transaction. If the process dies, what is lost is at
most what was submitted since the last flush began: about ``flush_seconds`` of traffic (plus
the duration of one write). :meth:`close` (or leaving the ``with`` block) writes the rest.

A failed write (database down) keeps its rows in the buffer and is retried at the next
flush; when the buffer holds more than ``max_pending`` rows the oldest are dropped and
counted, so a long outage never exhausts memory.

Examples
--------
>>> from estimo.monitor.store import ValuationStore
>>> store = ValuationStore.from_url("sqlite://")
>>> with BatchedWriter(store, flush_seconds=0.05) as writer:
...     writer.submit({"request_id": "r1", "served_at": "2024-05-01",
...                    "property": {"city": "Roma"}, "answer": {"price": 1.0e5}})
>>> store.count_valuations(), writer.stats()["written"]
(1, 1)
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from estimo.monitor.rows import valuation_row
from estimo.monitor.store import ValuationStore

log = logging.getLogger(__name__)

__all__ = ["BatchedWriter"]


class BatchedWriter:
    """Write served valuations to a :class:`ValuationStore` in timed batches.

    Parameters
    ----------
    store : ValuationStore
        Where the rows go.
    flush_seconds : float, default 1.0
        Longest time a submitted row waits before it is written (and so the most traffic a
        crash can lose).
    max_pending : int, default 200_000
        Rows kept while the store is unreachable; older ones are dropped beyond it.
    """

    def __init__(
        self, store: ValuationStore, flush_seconds: float = 1.0, max_pending: int = 200_000
    ) -> None:
        if not flush_seconds > 0:
            raise ValueError(f"flush_seconds is {flush_seconds!r}; expected a number > 0")
        if max_pending < 1:
            raise ValueError(f"max_pending is {max_pending!r}; expected an integer >= 1")
        self.store = store
        self.flush_seconds = float(flush_seconds)
        self.max_pending = int(max_pending)
        self._buffer: deque[Mapping[str, Any]] = deque()
        self._retry: list[dict[str, Any]] = []  # checked rows whose write failed
        self._submitted = 0
        self._count_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._counts = {"written": 0, "rejected": 0, "dropped": 0, "failures": 0}
        self._thread = threading.Thread(target=self._run, name="estimo-monitor-writer", daemon=True)
        self._thread.start()

    def submit(self, row: Mapping[str, Any]) -> None:
        """Queue one served valuation (see :func:`~estimo.monitor.rows.valuation_row`)."""
        with self._count_lock:
            self._buffer.append(row)
            self._submitted += 1

    def flush(self) -> int:
        """Write everything queued now; return the rows written."""
        with self._write_lock:
            batch: list[Mapping[str, Any]] = []
            while self._buffer:
                batch.append(self._buffer.popleft())
            if not batch and not self._retry:
                return 0
            rows, self._retry = self._retry, []
            for raw in batch:
                try:
                    rows.append(valuation_row(raw))
                except ValueError as exc:
                    self._counts["rejected"] += 1
                    log.warning("served valuation not stored: %s", exc)
            try:
                self.store.write_valuation_rows(rows)
            except Exception as exc:  # the database is down: keep the rows, retry later
                self._counts["failures"] += 1
                log.warning("monitoring store write failed (%s); %d rows kept", exc, len(rows))
                excess = len(rows) - self.max_pending
                if excess > 0:
                    self._counts["dropped"] += excess
                    log.error("monitoring store unreachable: dropped the %d oldest rows", excess)
                self._retry = rows[max(excess, 0) :]
                return 0
            self._counts["written"] += len(rows)
            return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def stats(self) -> dict[str, int]:
        """Rows ``submitted``, ``written``, ``rejected`` (invalid), ``dropped`` (buffer full),
        write ``failures`` and rows ``pending``."""
        pending = len(self._buffer) + len(self._retry)
        return {"submitted": self._submitted, **self._counts, "pending": pending}

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        self._thread.join()
        self.flush()

    def __enter__(self) -> BatchedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
