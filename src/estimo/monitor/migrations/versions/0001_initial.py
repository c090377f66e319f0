"""Served valuations and outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade(table_prefix: str = "") -> None:
    p = table_prefix
    op.create_table(
        f"{p}valuations",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("served_at", sa.DateTime(), nullable=False),
        sa.Column("property_id", sa.String(128)),
        sa.Column("city", sa.String(128)),
        sa.Column("property_type", sa.String(64)),
        sa.Column("model_version", sa.String(128)),
        sa.Column("sub_model", sa.String(128)),
        sa.Column("tier", sa.String(32)),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("low", sa.Float),
        sa.Column("high", sa.Float),
        sa.Column("record", _JSON),
        sa.Column("answer", _JSON),
    )
    op.create_index(f"ix_{p}valuations_served_at", f"{p}valuations", ["served_at"])
    op.create_index(f"ix_{p}valuations_property_id", f"{p}valuations", ["property_id"])
    op.create_table(
        f"{p}outcomes",
        sa.Column("outcome_key", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("property_id", sa.String(128)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("date", sa.DateTime(), nullable=False),
        sa.Column("appraiser_id", sa.String(128)),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index(f"ix_{p}outcomes_property_id", f"{p}outcomes", ["property_id"])
    op.create_index(f"ix_{p}outcomes_request_id", f"{p}outcomes", ["request_id"])


def downgrade(table_prefix: str = "") -> None:
    p = table_prefix
    op.drop_table(f"{p}outcomes")
    op.drop_table(f"{p}valuations")
