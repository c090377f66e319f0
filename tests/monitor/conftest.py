"""Store fixtures: every store test runs on SQLite and on PostgreSQL, for real.

PostgreSQL comes from ``$ESTIMO_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it cannot be reached the
PostgreSQL cases FAIL in CI (``CI=true``) and are skipped, with the reason, elsewhere. Each
test gets its own table prefix, so parallel workers (``pytest -n 2``) never collide, and its
tables are dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from estimo.monitor.store import StoreError, ValuationStore

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """The PostgreSQL URL the store tests use."""
    return os.environ.get("ESTIMO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def unique_prefix() -> str:
    """A table prefix no other test (or worker) uses."""
    return f"t{uuid.uuid4().hex[:10]}_"


def _require_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    try:
        engine = create_engine(url)
    except ImportError as exc:
        pytest.fail(f"the PostgreSQL driver is missing ({exc}); pip install 'estimo[postgres]'")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL at {url!r} is not reachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason}; CI must provide it (set ESTIMO_TEST_POSTGRES_URL)")
        pytest.skip(f"{reason}; start PostgreSQL or set ESTIMO_TEST_POSTGRES_URL")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: a fresh SQLite file, or the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url = postgres_url()
    _require_postgres(url)
    return url


@pytest.fixture()
def table_prefix() -> str:
    """A fresh table prefix."""
    return unique_prefix()


@pytest.fixture()
def store(store_url: str, table_prefix: str) -> Iterator[ValuationStore]:
    """An empty, migrated store on each database; its tables are dropped afterwards."""
    opened = ValuationStore.from_url(store_url, table_prefix=table_prefix)
    yield opened
    with contextlib.suppress(StoreError):
        opened.drop()
    opened.dispose()
