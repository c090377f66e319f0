"""Apply the monitoring store's Alembic migrations (shipped inside the package).

``estimo monitor db upgrade`` and :meth:`estimo.monitor.store.ValuationStore.from_url` call
:func:`upgrade`; it brings the tables of one prefix to the newest revision and does nothing
when they are already there. On PostgreSQL concurrent upgrades are serialised by an advisory
lock held for the migration's transaction.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from estimo.monitor.tables import check_prefix

log = logging.getLogger(__name__)

__all__ = ["current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(prefix: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["table_prefix"] = check_prefix(prefix)
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of Estimo."""
    head = ScriptDirectory.from_config(_config("")).get_current_head()
    assert head is not None  # the package always ships at least one migration
    return head


def current_revision(engine: Engine, prefix: str = "") -> str | None:
    """The revision the store's tables are at (``None`` for an empty database)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": f"{check_prefix(prefix)}alembic_version"}
        )
        return context.get_current_revision()


def upgrade(engine: Engine, prefix: str = "", revision: str = "head") -> str:
    """Migrate the tables of ``prefix`` to ``revision``; return the revision reached."""
    config = _config(prefix)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"estimo-monitor:{prefix}"},
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    reached = current_revision(engine, prefix)
    log.info("monitoring store at revision %s (prefix %r)", reached, prefix)
    return reached or ""
