"""Fewer B-trees per journal commit: the secondary indexes no query needs are dropped (issue 23, BENCHMARKS run j).

Each order's upsert rewrote all seven secondary indexes of `orders` (every column is in its SET), each message
insert four of `messages`. What each dropped index served, and what serves it now:
- ix_orders_ems_cl_ord_id, ix_orders_venue_cl_ord_id: lookups by any ClOrdID go through `order_aliases` (its
  primary key holds every EMS and outbound ClOrdID of each order);
- ix_orders_venue_order_id: no query filters on it but `Journal.find_order(venue_order_id=...)`, which nothing
  on the order path calls (a scan of `orders` for an operator's lookup);
- ix_orders_account, ix_orders_instrument_id: filters of the audit export (always a time range: the messages' and
  events' `at` indexes lead) and of the console's day book (today's orders, by `ix_orders_updated_at` /
  `ix_orders_open`);
- ix_messages_cl_ord_id: the audit export by ClOrdID, again within a time range (`ix_messages_at`).
Kept: ix_orders_updated_at and ix_orders_open (restart, recon, purge), ix_messages_at (time ranges, purge),
ix_messages_order_id (an order's messages: console, export, purge), ix_messages_session_seq (sequence recovery,
resend material), and every index of events and fills.

Revision ID: hot_indexes
Revises: ha_job_run_node_view
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "hot_indexes"
down_revision = "ha_job_run_node_view"
branch_labels = None
depends_on = None

_DROPPED = (
    ("ix_orders_ems_cl_ord_id", "orders", ["ems_session", "cl_ord_id"]),
    ("ix_orders_venue_cl_ord_id", "orders", ["venue_cl_ord_id"]),
    ("ix_orders_venue_order_id", "orders", ["venue_order_id"]),
    ("ix_orders_account", "orders", ["account"]),
    ("ix_orders_instrument_id", "orders", ["instrument_id"]),
    ("ix_messages_cl_ord_id", "messages", ["cl_ord_id"]),
)


def upgrade() -> None:
    for name, table, _columns in _DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in _DROPPED:
        op.create_index(name, table, columns)
