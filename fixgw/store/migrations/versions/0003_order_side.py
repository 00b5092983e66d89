"""orders.side: the order's Side(54) as a column, so restart and reconciliation read it without parsing snapshots;
ix_events_voiding: the orders with a bust or correction, found without scanning the events.

Existing rows are filled from their snapshot JSON. The column stays nullable: a row written by an older fixgw
after this migration (two versions sharing one journal) has none, and readers fall back to the snapshot.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("side", sa.String(1)))  # ALTER TABLE ADD COLUMN: no copy of the table
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE orders SET side = CAST(snapshot AS JSON) ->> 'side'")
    else:
        op.execute("UPDATE orders SET side = json_extract(snapshot, '$.side')")
    voiding = sa.text("event IN ('trade_cancel', 'trade_correct')")
    op.create_index("ix_events_voiding", "events", ["order_id"], sqlite_where=voiding, postgresql_where=voiding)


def downgrade() -> None:
    op.drop_index("ix_events_voiding", table_name="events")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("side")
