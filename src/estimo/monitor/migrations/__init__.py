"""Alembic migrations of the monitoring store (applied by :mod:`estimo.monitor.migrate`)."""
