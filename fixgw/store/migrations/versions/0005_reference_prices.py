"""reference_prices: the composite reference of each instrument, journaled every marketdata.journal_period_s
(price, state, its sources), for replaying P&L and price controls.

Revision ID: 0005_reference_prices
Revises: 0004_transfers
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_reference_prices"
down_revision = "0004_transfers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("instrument_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("price", sa.Numeric(38, 10).with_variant(sa.String(64), "sqlite")),
        sa.Column("static", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
    )
    op.create_index("ix_reference_prices_instrument_at", "reference_prices", ["instrument_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_reference_prices_instrument_at", table_name="reference_prices")
    op.drop_table("reference_prices")
