"""Monitoring: the store of served valuations and outcomes, live accuracy, drift, alerts.

Modules, from the bottom up:

- :mod:`~estimo.monitor.tables`, :mod:`~estimo.monitor.migrate` (Alembic migrations in
  ``migrations/``), :mod:`~estimo.monitor.rows` and :mod:`~estimo.monitor.store`: the store;
- :mod:`~estimo.monitor.writer`: :class:`BatchedWriter`, the service's write path;
- :mod:`~estimo.monitor.outcomes`: outcomes read from CSV/Parquet with a column mapping;
- :mod:`~estimo.monitor.api`: ``POST /v1/outcomes`` as a FastAPI router;
- the report: :mod:`~estimo.monitor.matching`, :mod:`~estimo.monitor.accuracy`,
  :mod:`~estimo.monitor.agreement`, :mod:`~estimo.monitor.drift`,
  :mod:`~estimo.monitor.envelope`, :mod:`~estimo.monitor.market`,
  :mod:`~estimo.monitor.staleness`, :mod:`~estimo.monitor.alerts`,
  :mod:`~estimo.monitor.report`, :mod:`~estimo.monitor.dashboard`;
- :mod:`~estimo.monitor.gate`: champion vs candidate on live outcomes, for the promotion gate;
- :mod:`~estimo.monitor.replay`: a monitoring replay on the synthetic market.

Nothing here is imported by ``import estimo``; SQLAlchemy loads only when a store is opened.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchedWriter", "ValuationStore"]


def __getattr__(name: str) -> Any:
    if name == "ValuationStore":
        from estimo.monitor.store import ValuationStore

        return ValuationStore
    if name == "BatchedWriter":
        from estimo.monitor.writer import BatchedWriter

        return BatchedWriter
    raise AttributeError(f"module 'estimo.monitor' has no attribute {name!r}")
