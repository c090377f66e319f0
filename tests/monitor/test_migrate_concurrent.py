"""Workers opening a new monitoring store at once all get it, migrated once.

Two services (or two uvicorn workers, or a service and `estimo outcomes import`) starting
on a new SQLite store both ran its migration: one failed with "table valuations already
exists", and threads of one process running Alembic at once failed or crashed it.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from estimo.monitor.migrate import current_revision, head_revision
from estimo.monitor.store import ValuationStore


def test_threads_opening_a_new_store_at_once_all_get_it(store_url: str, table_prefix: str):
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            ValuationStore.from_url(store_url, table_prefix=table_prefix).dispose()
        except BaseException as exc:  # collected: a thread's exception is lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = ValuationStore.from_url(store_url, table_prefix=table_prefix, upgrade=False)
    try:
        assert current_revision(store.engine, table_prefix) == head_revision()
    finally:
        store.drop()
        store.dispose()


def test_processes_opening_a_new_sqlite_store_at_once_all_get_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    code = f"from estimo.monitor.store import ValuationStore; ValuationStore.from_url({url!r})"
    workers = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [w.communicate(timeout=120)[1] for w in workers]  # closes the pipes too
    assert [e[-300:] for w, e in zip(workers, errors, strict=True) if w.returncode] == []
    store = ValuationStore.from_url(url, upgrade=False)
    try:
        assert current_revision(store.engine) == head_revision()
    finally:
        store.dispose()
