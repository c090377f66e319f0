"""The monitoring store: served valuations and their outcomes, on SQLite or PostgreSQL.

:class:`ValuationStore` wraps a SQLAlchemy engine and the tables of one prefix
(:mod:`estimo.monitor.tables`). It migrates its tables on first use (Alembic, see
:mod:`estimo.monitor.migrate`), writes valuations idempotently by request id (a retried
write never duplicates a row), upserts outcomes by their identity (a re-import adds nothing,
a corrected price replaces the old one) and reads both back as pandas frames for the
reports.

URLs: ``sqlite:///path/to/monitor.db`` (the embedded default; WAL journal, so readers never
block the writer) or ``postgresql+psycopg://user@host:5432/db`` (``pip install
estimo[postgres]``).

Examples
--------
>>> store = ValuationStore.from_url("sqlite://")   # in memory
>>> store.record_valuations([{"request_id": "r1", "served_at": "2024-05-01",
...     "property": {"id": "P1", "city": "Roma"}, "answer": {"price": 250000.0}}])
1
>>> store.record_outcomes([{"kind": "sale", "property_id": "P1", "price": 260000,
...     "date": "2024-07-01", "source": "notary"}])
{'inserted': 1, 'updated': 0, 'unchanged': 0}
>>> store.count_valuations(), len(store.outcomes_frame())
(1, 1)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    String,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from estimo.errors import ConfigError, EstimoError
from estimo.monitor import migrate
from estimo.monitor.rows import check_rows, outcome_row, utc_naive, valuation_row
from estimo.monitor.tables import MonitorTables, build_tables

log = logging.getLogger(__name__)

__all__ = ["StoreError", "ValuationStore", "safe_url"]

# Rows per INSERT statement batch (bounded memory, and SQLite's variable limit).
_CHUNK = 5_000
_OUTCOME_ATTEMPTS = 3  # a concurrent writer of the same outcome: read again, write again
_ALL_VALUATION_COLUMNS = (
    "request_id",
    "served_at",
    "property_id",
    "city",
    "property_type",
    "model_version",
    "sub_model",
    "tier",
    "price",
    "low",
    "high",
    "record",
    "answer",
)
_VALUATION_COLUMNS = (
    "request_id",
    "served_at",
    "property_id",
    "city",
    "property_type",
    "model_version",
    "sub_model",
    "tier",
    "price",
    "low",
    "high",
)


class StoreError(EstimoError):
    """The monitoring store cannot be reached or used."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class ValuationStore:
    """Served valuations and outcomes in one database (see the module docstring).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database.
    table_prefix : str, default ""
        Prefix of the table names (several stores can share one database).
    """

    def __init__(self, engine: Engine, table_prefix: str = "") -> None:
        self.engine = engine
        self.tables: MonitorTables = build_tables(table_prefix)
        self.table_prefix = table_prefix

    # ------------------------------------------------------------------ opening
    @classmethod
    def from_url(cls, url: str, *, table_prefix: str = "", upgrade: bool = True) -> ValuationStore:
        """Open the store at ``url``, migrating its tables to the newest revision.

        Parameters
        ----------
        url : str
            SQLAlchemy URL, e.g. ``sqlite:///runs/monitor.db`` or
            ``postgresql+psycopg://postgres@127.0.0.1:5432/estimo``.
        table_prefix : str, default ""
            Prefix of the table names.
        upgrade : bool, default True
            Apply pending migrations (``False``: fail if the tables are not up to date).

        Raises
        ------
        ConfigError
            If the URL is malformed or names a driver that is not installed.
        StoreError
            If the database cannot be reached, or is behind and ``upgrade`` is False.
        """
        engine = _engine(url)
        store = cls(engine, table_prefix)
        try:
            current = migrate.current_revision(engine, table_prefix)
            head = migrate.head_revision()
            if current != head:
                if not upgrade:
                    raise StoreError(
                        f"the monitoring store at {safe_url(url)!r} is at revision {current!r}, "
                        f"this Estimo needs {head!r}; run `estimo monitor db upgrade`"
                    )
                migrate.upgrade(engine, table_prefix)
        except StoreError:
            engine.dispose()
            raise
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot open the monitoring store at {safe_url(url)!r}: {exc.orig}"
            ) from exc
        return store

    def revision(self) -> str | None:
        """The migration revision the tables are at."""
        return migrate.current_revision(self.engine, self.table_prefix)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def drop(self) -> None:
        """Drop this prefix's tables and migration record (for tests and throw-away stores)."""
        with self.engine.begin() as connection:
            self.tables.metadata.drop_all(connection)
            connection.execute(text(f'DROP TABLE IF EXISTS "{self.tables.version_table}"'))

    # ------------------------------------------------------------------ writing
    def record_valuations(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store served valuations; a request id already stored is left as it is.

        Parameters
        ----------
        rows : iterable of mapping
            See :func:`estimo.monitor.rows.valuation_row`.

        Returns
        -------
        int
            Rows given (all checked first: one bad row writes nothing and raises
            :class:`~estimo.errors.DataError` listing every bad row).
        """
        checked = check_rows(rows, valuation_row, "served valuations")
        self.write_valuation_rows(checked)
        return len(checked)

    def write_valuation_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows already made by :func:`~estimo.monitor.rows.valuation_row`.

        One transaction; rows whose request id is stored already are skipped. SQLite and
        PostgreSQL take a fast path through the driver (``executemany`` of plain tuples;
        ``COPY`` into a temporary table), other databases SQLAlchemy's ``executemany``.
        """
        if not rows:
            return
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            self._write_sqlite(rows)
        elif dialect == "postgresql" and self.engine.dialect.driver == "psycopg":
            self._write_postgres(rows)
        else:
            table = self.tables.valuations
            with self.engine.begin() as connection:
                for start in range(0, len(rows), _CHUNK):
                    chunk = rows[start : start + _CHUNK]
                    connection.execute(self._insert_ignore(table), list(chunk))

    def _tuples(self, rows: Sequence[dict[str, Any]], stamp: Any) -> list[tuple]:
        dumps = json.dumps
        return [
            (
                *(r[c] for c in _VALUATION_COLUMNS[:1]),
                stamp(r["served_at"]),
                *(r[c] for c in _VALUATION_COLUMNS[2:]),
                dumps(r["record"]),
                dumps(r["answer"]),
            )
            for r in rows
        ]

    def _write_sqlite(self, rows: Sequence[dict[str, Any]]) -> None:
        # The text format of SQLAlchemy's SQLite DateTime, so queries compare like for like.
        def stamp(d: dt.datetime) -> str:
            return f"{d:%Y-%m-%d %H:%M:%S}.{d.microsecond:06d}"

        columns = ", ".join(_ALL_VALUATION_COLUMNS)
        marks = ", ".join("?" * len(_ALL_VALUATION_COLUMNS))
        sql = f'INSERT OR IGNORE INTO "{self.tables.valuations.name}" ({columns}) VALUES ({marks})'
        with self.engine.begin() as connection:
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.executemany(sql, self._tuples(rows, stamp))
            finally:
                cursor.close()

    def _write_postgres(self, rows: Sequence[dict[str, Any]]) -> None:
        name = self.tables.valuations.name
        columns = ", ".join(_ALL_VALUATION_COLUMNS)
        staging = f"{name}_staging"
        with self.engine.begin() as connection:
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(
                    f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" '
                    f'(LIKE "{name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
                )
                with cursor.copy(f'COPY "{staging}" ({columns}) FROM STDIN') as copy:
                    for row in self._tuples(rows, lambda d: d):
                        copy.write_row(row)
                cursor.execute(
                    f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM "{staging}" '
                    "ON CONFLICT (request_id) DO NOTHING"
                )
            finally:
                cursor.close()

    def _insert_ignore(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing(index_elements=["request_id"])

    def record_outcomes(
        self, rows: Iterable[Mapping[str, Any]], recorded_at: dt.datetime | None = None
    ) -> dict[str, int]:
        """Store outcomes idempotently: new ones are inserted, known ones updated.

        Returns
        -------
        dict
            ``inserted``, ``updated`` (known outcome, new price) and ``unchanged`` counts.
        """
        now = recorded_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        checked = check_rows(rows, lambda r: outcome_row(r, now), "outcomes")
        unique = {r["outcome_key"]: r for r in checked}  # the last of duplicates in one batch
        for attempt in range(_OUTCOME_ATTEMPTS):
            try:
                inserted, updated = self._write_outcomes(unique)
                break
            except IntegrityError:  # another writer stored one of these keys meanwhile
                if attempt == _OUTCOME_ATTEMPTS - 1:
                    raise
                log.info("outcomes: a concurrent writer stored the same outcome; retrying")
        return {
            "inserted": inserted,
            "updated": updated,
            "unchanged": len(checked) - inserted - updated,
        }

    def _write_outcomes(self, unique: dict[str, dict[str, Any]]) -> tuple[int, int]:
        """Insert the outcomes not stored yet and update the known ones whose price
        changed, in one transaction; (inserted, updated)."""
        table = self.tables.outcomes
        keys = list(unique)
        with self.engine.begin() as connection:
            known: dict[str, float] = {}
            for start in range(0, len(keys), _CHUNK):
                part = keys[start : start + _CHUNK]
                query = select(table.c.outcome_key, table.c.price).where(
                    table.c.outcome_key.in_(part)
                )
                known.update({k: p for k, p in connection.execute(query)})
            new = [r for k, r in unique.items() if k not in known]
            changed = [r for k, r in unique.items() if k in known and known[k] != r["price"]]
            for start in range(0, len(new), _CHUNK):
                connection.execute(table.insert(), new[start : start + _CHUNK])
            for row in changed:
                connection.execute(
                    table.update()
                    .where(table.c.outcome_key == row["outcome_key"])
                    .values(price=row["price"], recorded_at=row["recorded_at"])
                )
        return len(new), len(changed)

    # ------------------------------------------------------------------ reading
    def count_valuations(self) -> int:
        """Number of stored valuations."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(self.tables.valuations)
                ).scalar_one()
            )

    def count_outcomes(self) -> int:
        """Number of stored outcomes."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(self.tables.outcomes)
                ).scalar_one()
            )

    def valuations_frame(
        self, since: Any = None, until: Any = None, *, records: bool = False
    ) -> pd.DataFrame:
        """Served valuations with ``served_at`` in ``[since, until)``, oldest first.

        Parameters
        ----------
        since, until : date-like, optional
            Bounds of ``served_at`` (UTC).
        records : bool, default False
            Also return ``record`` (the property as received, a dict per row).
        """
        table = self.tables.valuations
        columns = [self._served_at(), *(table.c[name] for name in _VALUATION_COLUMNS[2:])]
        columns.insert(0, table.c.request_id)
        if records:
            columns.append(table.c.record)
        query = select(*columns).order_by(table.c.served_at)
        if since is not None:
            query = query.where(table.c.served_at >= utc_naive(since, "since"))
        if until is not None:
            query = query.where(table.c.served_at < utc_naive(until, "until"))
        frame = self._frame(query, [c.name for c in columns])
        frame["served_at"] = _datetimes(frame["served_at"])
        for name in ("price", "low", "high"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
        return frame

    def _served_at(self) -> Any:
        """``served_at`` as the driver gives it; on SQLite the stored text, parsed later in
        one vectorised call instead of row by row."""
        column = self.tables.valuations.c.served_at
        if self.engine.dialect.name == "sqlite":
            return type_coerce(column, String).label("served_at")
        return column

    def _frame(self, query: Any, names: list[str]) -> pd.DataFrame:
        """Rows straight from the driver's cursor (plain tuples: SQLite gives datetimes and
        JSON as text, PostgreSQL as Python objects), without SQLAlchemy's row processing."""
        with self.engine.connect() as connection:
            result = connection.execute(query)
            rows = result.cursor.fetchall()
            result.close()
        frame = pd.DataFrame.from_records(rows, columns=names)
        if "record" in frame and len(frame) and isinstance(frame["record"].iloc[0], str):
            loads = json.loads
            frame["record"] = [None if r is None else loads(r) for r in frame["record"]]
        return frame

    def records_frame(
        self, since: Any = None, until: Any = None, limit: int = 50_000
    ) -> pd.DataFrame:
        """The newest ``limit`` served records in ``[since, until)``: ``request_id``,
        ``served_at``, ``city`` and ``record`` (a dict per row)."""
        table = self.tables.valuations
        query = (
            select(table.c.request_id, self._served_at(), table.c.city, table.c.record)
            .order_by(table.c.served_at.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(table.c.served_at >= utc_naive(since, "since"))
        if until is not None:
            query = query.where(table.c.served_at < utc_naive(until, "until"))
        frame = self._frame(query, ["request_id", "served_at", "city", "record"])
        frame["served_at"] = _datetimes(frame["served_at"])
        return frame.iloc[::-1].reset_index(drop=True)

    def records_for(self, request_ids: Sequence[str]) -> dict[str, dict]:
        """The property records (as received) of some requests: ``request_id -> record``."""
        table = self.tables.valuations
        wanted = list(dict.fromkeys(request_ids))
        out: dict[str, dict] = {}
        for start in range(0, len(wanted), _CHUNK):
            query = select(table.c.request_id, table.c.record).where(
                table.c.request_id.in_(wanted[start : start + _CHUNK])
            )
            frame = self._frame(query, ["request_id", "record"])
            out.update(
                zip(frame["request_id"], frame["record"].map(lambda r: r or {}), strict=True)
            )
        return out

    def outcomes_frame(self, kinds: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored outcomes (all kinds, or only ``kinds``), oldest first."""
        table = self.tables.outcomes
        query = select(table).order_by(table.c.date, table.c.outcome_key)
        if kinds is not None:
            query = query.where(table.c.kind.in_(list(kinds)))
        with self.engine.connect() as connection:
            frame = pd.DataFrame(
                connection.execute(query).all(), columns=[c.name for c in table.columns]
            )
        for name in ("date", "recorded_at"):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
        return frame

    def table_names(self) -> list[str]:
        """Tables of this prefix present in the database."""
        names = inspect(self.engine).get_table_names()
        return sorted(n for n in names if n.startswith(self.table_prefix))


def _datetimes(values: pd.Series) -> pd.Series:
    """Datetimes (naive UTC) from driver values or SQLite's stored text."""
    if values.empty:
        return pd.Series(values, dtype="datetime64[ns]")
    parsed = (
        pd.to_datetime(values, format="ISO8601")
        if values.dtype == object and isinstance(values.iloc[0], str)
        else pd.to_datetime(values)
    )
    return parsed.astype("datetime64[ns]")


def _engine(url: str) -> Engine:
    try:
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"monitor store URL {safe_url(url)!r} is not valid ({exc}); expected e.g. "
            "'sqlite:///runs/monitor.db' or 'postgresql+psycopg://user@host:5432/db'"
        ) from exc
    except ImportError as exc:
        raise ConfigError(
            f"monitor store URL {safe_url(url)!r} needs a database driver that is not installed "
            f"({exc}); for PostgreSQL: pip install 'estimo[postgres]'"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url[:80]
