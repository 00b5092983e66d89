"""Reconciliation: one row per recon run (venue, day) and its breaks with their evidence; fills by (venue, at).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MICROS = sa.BigInteger            # UTC instants as integer microseconds since the epoch


def upgrade() -> None:
    op.create_table(
        "recon_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("recon_date", sa.String(10), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("started_at", MICROS(), nullable=False),
        sa.Column("finished_at", MICROS(), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.CheckConstraint("result IN ('clean', 'breaks')", name="ck_recon_runs_result"),
    )
    op.create_index("ix_recon_runs_date_venue", "recon_runs", ["recon_date", "venue"])

    op.create_table(
        "recon_breaks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("recon_date", sa.String(10), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(256), nullable=False),
        sa.Column("instrument_id", sa.String(64)),
        sa.Column("settle_date", sa.String(10)),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("detected_at", MICROS(), nullable=False),
    )
    op.create_index("ix_recon_breaks_run_id", "recon_breaks", ["run_id"])
    op.create_index("ix_recon_breaks_date_venue", "recon_breaks", ["recon_date", "venue"])
    op.create_index("ix_fills_venue_at", "fills", ["venue", "at"])


def downgrade() -> None:
    op.drop_index("ix_fills_venue_at", table_name="fills")
    op.drop_table("recon_breaks")
    op.drop_table("recon_runs")
