"""ha_lease and ha_session_out: the leader lease of an active/standby pair (epoch for fencing) and the outbound
FIX messages with their sequence numbers, so the standby can resume every session (fixgw/ha).

Revision ID: ha_lease_session_out
Revises: 0006_margin_snapshots
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ha_lease_session_out"
down_revision = "0006_margin_snapshots"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "ha_lease",
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128)),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step_down_requested_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("cluster"),
    )
    op.create_table(
        "ha_session_out",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("session", sa.String(128), nullable=False),
        sa.Column("seq_num", sa.BigInteger(), nullable=False),
        sa.Column("msg_type", sa.String(8), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
    )
    op.create_index("ix_ha_session_out_session", "ha_session_out", ["session", "id"])


def downgrade() -> None:
    op.drop_table("ha_session_out")
    op.drop_table("ha_lease")
