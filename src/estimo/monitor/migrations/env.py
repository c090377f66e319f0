"""Alembic environment of the monitoring store.

Run only through :func:`estimo.monitor.migrate.upgrade`, which passes an open connection and
the table prefix in ``config.attributes``; the prefix reaches every migration as the
``table_prefix`` keyword argument and names Alembic's version table.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
prefix = context.config.attributes.get("table_prefix", "")

context.configure(
    connection=connection,
    target_metadata=None,
    version_table=f"{prefix}alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations(table_prefix=prefix)
