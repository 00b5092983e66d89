"""ha_job_run and ha_node_view: a claim per scheduled job and fire time (a job runs once per schedule, whoever
is active), and each node's last read of the journal (the standby's lag) (fixgw/ha).

Revision ID: ha_job_run_node_view
Revises: venue_wire
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ha_job_run_node_view"
down_revision = "venue_wire"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ha_job_run",
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=False),
        sa.Column("fire_time", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger()),
        sa.PrimaryKeyConstraint("cluster", "job_id", "fire_time"),
    )
    op.create_table(
        "ha_node_view",
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("events_seen", sa.BigInteger(), nullable=False),
        sa.Column("messages_seen", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "node"),
    )


def downgrade() -> None:
    op.drop_table("ha_node_view")
    op.drop_table("ha_job_run")
