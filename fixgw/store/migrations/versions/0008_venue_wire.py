"""venue_wire: the venue wire archive - every REST request to a venue and its answer, masked (issue 18 item 8).

Revision ID: venue_wire
Revises: ha_lease_session_out
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "venue_wire"
down_revision = "ha_lease_session_out"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "venue_wire",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(256), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.Text(), nullable=False),
    )
    op.create_index("ix_venue_wire_venue_at", "venue_wire", ["venue", "at"])
    op.create_index("ix_venue_wire_at", "venue_wire", ["at"])


def downgrade() -> None:
    op.drop_table("venue_wire")
