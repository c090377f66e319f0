"""Every valuation the service answers, recorded in the monitoring store off the request path.

:class:`ServedRecorder` is what the valuation routes call once per answered property: request
id, time, the property as received, the full answer (before the caller's tier shapes it; the
sentences of the explanation are left out, the numbers kept), model version, sub-model and
tier. :meth:`ServedRecorder.record` only appends to a buffer; the
:class:`~estimo.monitor.writer.BatchedWriter` writes the buffer every
``serve.monitor.flush_seconds`` in one transaction, so a crash loses at most about one flush
interval of traffic. The store (``serve.monitor.store_url``; SQLite or PostgreSQL) is opened
in a background thread when the app starts, so opening it never delays ``/readyz``; what is
answered before it is open waits in the buffer. The same store takes ``POST /v1/outcomes``.

Examples
--------
>>> from estimo.serve.settings import MonitorSettings
>>> recorder = ServedRecorder(MonitorSettings(store_url="sqlite://", flush_seconds=0.05))
>>> recorder.open()
>>> recorder.record("r1", {"city": "Roma", "area_m2": 70}, {"price": 2.0e5, "sub_model": "global"},
...                 {"bundle": "global", "version": "v3"}, "internal")
>>> recorder.close()
>>> recorder.stats()["written"]
1
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimo.monitor.store import ValuationStore
    from estimo.monitor.writer import BatchedWriter
    from estimo.serve.settings import MonitorSettings

log = logging.getLogger(__name__)

__all__ = ["ServedRecorder", "stored_request_id"]

#: Longest request id the store keeps (``valuations.request_id``).
MAX_REQUEST_ID = 64
#: Seconds between attempts to open an unreachable store.
RETRY_SECONDS = 5.0


def stored_request_id(request_id: str) -> str:
    """``request_id`` as the store keeps it: unchanged up to 64 characters, else its first
    47 characters, ``~`` and 16 hex digits of its SHA-1 (still unique, still recognisable).

    Examples
    --------
    >>> stored_request_id("6f1c0d2e9a")
    '6f1c0d2e9a'
    >>> len(stored_request_id("x" * 128))
    64
    """
    if len(request_id) <= MAX_REQUEST_ID:
        return request_id
    digest = hashlib.sha1(request_id.encode("utf-8")).hexdigest()[:16]
    return f"{request_id[: MAX_REQUEST_ID - 17]}~{digest}"


class ServedRecorder:
    """Served valuations into the monitoring store (see the module docstring).

    Parameters
    ----------
    settings : MonitorSettings
        ``serve.monitor``: ``store_url``, ``flush_seconds``, ``table_prefix``,
        ``max_pending``.
    """

    def __init__(self, settings: MonitorSettings) -> None:
        if not settings.store_url:
            raise ValueError("serve.monitor.store_url is not set; expected a SQLAlchemy URL")
        self.settings = settings
        self.store: ValuationStore | None = None
        self.writer: BatchedWriter | None = None
        self.error: str | None = None
        self._pending: deque[Mapping[str, Any]] = deque()
        self._dropped = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the store in a background thread (retrying while it is unreachable)."""
        self._thread = threading.Thread(target=self._open_loop, name="estimo-recorder", daemon=True)
        self._thread.start()

    def _open_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.open()
                return
            except Exception as exc:  # unreachable database, bad URL: logged, retried
                self.error = str(exc)
                log.error("monitoring store not open (retry in %.0f s): %s", RETRY_SECONDS, exc)
            self._stop.wait(RETRY_SECONDS)

    def open(self) -> None:
        """Open the store and the writer now, and hand them what was answered meanwhile.

        Raises
        ------
        StoreError, ConfigError
            If the store cannot be opened.
        """
        from estimo.monitor.store import ValuationStore
        from estimo.monitor.writer import BatchedWriter

        s = self.settings
        store = ValuationStore.from_url(str(s.store_url), table_prefix=s.table_prefix)
        writer = BatchedWriter(store, flush_seconds=s.flush_seconds, max_pending=s.max_pending)
        with self._lock:
            while self._pending:
                writer.submit(self._pending.popleft())
            self.store, self.writer, self.error = store, writer, None
        log.info("recording served valuations every %.2f s", s.flush_seconds)

    def record(
        self,
        request_id: str,
        record: Mapping[str, Any],
        answer: Mapping[str, Any],
        model: Mapping[str, Any],
        tier: str | None,
    ) -> None:
        """Queue one answered valuation (no I/O; the writer thread stores it)."""
        kept = {k: v for k, v in answer.items() if k != "explanation"}
        explanation = answer.get("explanation")
        if isinstance(explanation, Mapping):  # the reasons' numbers, not the sentences
            kept["reasons"] = [
                {k: r.get(k) for k in ("concept", "amount")} for r in explanation.get("reasons", [])
            ]
        row = {
            "request_id": stored_request_id(request_id),
            "served_at": dt.datetime.now(dt.UTC),
            "property": dict(record),
            "answer": kept,
            "model_version": model.get("version"),
            "sub_model": answer.get("sub_model"),
            "tier": tier,
        }
        writer = self.writer
        if writer is not None:
            writer.submit(row)
            return
        with self._lock:
            if self.writer is not None:
                self.writer.submit(row)
            elif len(self._pending) < self.settings.max_pending:
                self._pending.append(row)
            else:
                self._dropped += 1

    def stats(self) -> dict[str, Any]:
        """The writer's counts (``submitted``, ``written``, ``pending``, ...), rows
        ``waiting`` for the store to open, rows ``dropped`` meanwhile, and the open error."""
        counts: dict[str, Any] = dict(self.writer.stats()) if self.writer is not None else {}
        return {
            **counts,
            "waiting": len(self._pending),
            "dropped_before_open": self._dropped,
            "error": self.error,
        }

    def close(self) -> None:
        """Stop retrying, write what is buffered and release the store."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.dispose()
