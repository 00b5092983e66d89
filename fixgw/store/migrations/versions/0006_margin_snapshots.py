"""margin_snapshots: the margin service's journal - per venue, every snapshot's figures, every margin state change,
the daily interest accrual and drift pauses (fixgw/store/margin.py).

Revision ID: 0006_margin_snapshots
Revises: 0005_reference_prices
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_margin_snapshots"
down_revision = "0005_reference_prices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "margin_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("previous_state", sa.String(16)),
        sa.Column("margin_ratio", sa.String(64)),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_margin_snapshots_venue_at", "margin_snapshots", ["venue", "at"])


def downgrade() -> None:
    op.drop_index("ix_margin_snapshots_venue_at", table_name="margin_snapshots")
    op.drop_table("margin_snapshots")
