"""transfers: the crypto prime brokers' deposits and withdrawals with their transaction hashes, journaled by
transfer reconciliation (one row per venue and transfer id).

Revision ID: 0004_transfers
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_transfers"
down_revision = "0003"
branch_labels = None
depends_on = None

MICROS = sa.BigInteger            # UTC instants as integer microseconds since the epoch
EXACT = sa.Numeric().with_variant(sa.String(96), "sqlite")   # full on-chain scale (wei: 18 places)


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("transfer_id", sa.String(128), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("amount", EXACT, nullable=False),
        sa.Column("fee", EXACT),
        sa.Column("fee_asset", sa.String(32)),
        sa.Column("address", sa.String(256), nullable=False),
        sa.Column("tx_hash", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("venue_status", sa.String(64), nullable=False),
        sa.Column("hash_expected", sa.String(1), nullable=False),
        sa.Column("created_at", MICROS(), nullable=False),
        sa.Column("completed_at", MICROS()),
        sa.Column("updated_at", MICROS(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("venue", "transfer_id", name="pk_transfers"),
    )
    op.create_index("ix_transfers_tx_hash", "transfers", ["tx_hash"])
    op.create_index("ix_transfers_created_at", "transfers", ["created_at"])


def downgrade() -> None:
    op.drop_table("transfers")
