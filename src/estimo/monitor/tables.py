"""The monitoring store's tables (SQLAlchemy Core), named with an optional prefix.

Two tables, linked by ``property_id`` and ``request_id``:

``<prefix>valuations``
    One row per valuation served: ``request_id`` (primary key), ``served_at`` (UTC),
    ``property_id``, ``city``, ``property_type``, ``model_version``, ``sub_model``, ``tier``,
    the answer's ``price``, ``low`` and ``high`` (copied out of the answer for fast reports),
    and the whole ``record`` (the property as received) and ``answer`` as JSON.
``<prefix>outcomes``
    One row per observed outcome: ``outcome_key`` (primary key, a hash of the outcome's
    identity, which makes re-imports idempotent), ``kind`` (``appraisal``, ``sale`` or
    ``asking``), ``property_id``, ``request_id`` (when the outcome answers a served
    valuation), ``price``, ``date``, ``appraiser_id``, ``source`` and ``recorded_at``.

The schema itself is created and changed only by the Alembic migrations in
:mod:`estimo.monitor.migrations`; these definitions are what the code reads and writes, and a
test checks that they match what the migrations build.

Examples
--------
>>> tables = build_tables("t1_")
>>> tables.valuations.name, tables.outcomes.name
('t1_valuations', 't1_outcomes')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import JSON, Column, DateTime, Float, Index, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["OUTCOME_KINDS", "MonitorTables", "build_tables", "check_prefix"]

#: Kinds of outcome a served valuation is compared with.
OUTCOME_KINDS: tuple[str, ...] = ("appraisal", "sale", "asking")

_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
JSONType = JSON().with_variant(JSONB(), "postgresql")


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a safe table-name prefix (``""`` or ``[a-z][a-z0-9_]*``).

    Examples
    --------
    >>> check_prefix("run_1_")
    'run_1_'
    >>> check_prefix("Drop table;")
    Traceback (most recent call last):
    ...
    ValueError: table_prefix is 'Drop table;'; expected '' or [a-z][a-z0-9_]{0,30}
    """
    if prefix != "" and not _PREFIX.match(prefix):
        raise ValueError(f"table_prefix is {prefix!r}; expected '' or [a-z][a-z0-9_]{{0,30}}")
    return prefix


@dataclass(frozen=True)
class MonitorTables:
    """The store's tables and their metadata."""

    metadata: MetaData
    valuations: Table
    outcomes: Table
    prefix: str

    @property
    def version_table(self) -> str:
        """Name of Alembic's version table for this prefix."""
        return f"{self.prefix}alembic_version"


def build_tables(prefix: str = "") -> MonitorTables:
    """The table definitions for one prefix (see the module docstring)."""
    check_prefix(prefix)
    metadata = MetaData()
    valuations = Table(
        f"{prefix}valuations",
        metadata,
        Column("request_id", String(64), primary_key=True),
        Column("served_at", DateTime(), nullable=False),
        Column("property_id", String(128)),
        Column("city", String(128)),
        Column("property_type", String(64)),
        Column("model_version", String(128)),
        Column("sub_model", String(128)),
        Column("tier", String(32)),
        Column("price", Float, nullable=False),
        Column("low", Float),
        Column("high", Float),
        Column("record", JSONType),
        Column("answer", JSONType),
        Index(f"ix_{prefix}valuations_served_at", "served_at"),
        Index(f"ix_{prefix}valuations_property_id", "property_id"),
    )
    outcomes = Table(
        f"{prefix}outcomes",
        metadata,
        Column("outcome_key", String(40), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("property_id", String(128)),
        Column("request_id", String(64)),
        Column("price", Float, nullable=False),
        Column("date", DateTime(), nullable=False),
        Column("appraiser_id", String(128)),
        Column("source", String(128), nullable=False),
        Column("recorded_at", DateTime(), nullable=False),
        Index(f"ix_{prefix}outcomes_property_id", "property_id"),
        Index(f"ix_{prefix}outcomes_request_id", "request_id"),
    )
    return MonitorTables(metadata, valuations, outcomes, prefix)
