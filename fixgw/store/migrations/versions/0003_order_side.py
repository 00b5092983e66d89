"""orders.side and orders.cl_ord_ids: the order's Side(54) and every EMS ClOrdID it has had (a JSON array), so
restart and reconciliation read them without parsing snapshots or walking the ClOrdID aliases of every day;
ix_events_voiding: the orders with a bust or correction, found without scanning the events.

Existing rows are filled from their snapshot JSON. The columns stay nullable: a row written by an older fixgw
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
    op.add_column("orders", sa.Column("cl_ord_ids", sa.Text()))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE orders SET side = CAST(snapshot AS JSON) ->> 'side', "
                   "cl_ord_ids = (CAST(snapshot AS JSON) -> 'cl_ord_id_chain')::text")
    else:
        op.execute("UPDATE orders SET side = json_extract(snapshot, '$.side'), "
                   "cl_ord_ids = json_extract(snapshot, '$.cl_ord_id_chain')")
    voiding = sa.text("event IN ('trade_cancel', 'trade_correct')")
    op.create_index("ix_events_voiding", "events", ["order_id"], sqlite_where=voiding, postgresql_where=voiding)


def downgrade() -> None:
    op.drop_index("ix_events_voiding", table_name="events")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cl_ord_ids")
        batch.drop_column("side")
