"""Apply the monitoring store's Alembic migrations (shipped inside the package).

``estimo monitor db upgrade`` and :meth:`estimo.monitor.store.ValuationStore.from_url` call
:func:`upgrade`; it brings the tables of one prefix to the newest revision and does nothing
when they are already there. On PostgreSQL concurrent upgrades are serialised by an advisory
lock held for the migration's transaction; on a SQLite file by a lock on the file
``<database>.migrate-lock`` beside it (two workers opening a new store at once both created
its tables). Within a process upgrades run one at a time: Alembic keeps the migration
being run in module globals (two threads at once failed, or crashed the interpreter).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
_UPGRADING = threading.Lock()  # Alembic's context is global: one upgrade per process at once


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


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the process's upgrade lock and, for a SQLite file, a lock on a file beside it
    (processes sharing the database wait for each other; PostgreSQL locks in the query)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    with _UPGRADING:
        if not database or database == ":memory:" or database.startswith("file:"):
            yield
            return
        try:
            import fcntl
        except ImportError:  # not POSIX: the process lock alone
            yield
            return
        with open(f"{database}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, prefix: str = "", revision: str = "head") -> str:
    """Migrate the tables of ``prefix`` to ``revision``; return the revision reached."""
    with _one_at_a_time(engine):
        return _upgrade(engine, prefix, revision)


def _upgrade(engine: Engine, prefix: str, revision: str) -> str:
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
