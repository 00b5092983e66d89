"""The journal schema: orders of record, ClOrdID aliases, events, fills, messages, state, counters.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MICROS = sa.BigInteger            # UTC instants as integer microseconds since the epoch
DECIMAL = sa.Numeric(38, 10).with_variant(sa.String(64), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                     autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("ems_session", sa.String(128), nullable=False),
        sa.Column("cl_ord_id", sa.String(128), nullable=False),
        sa.Column("venue", sa.String(64)),
        sa.Column("venue_cl_ord_id", sa.String(128)),
        sa.Column("venue_order_id", sa.String(128)),
        sa.Column("account", sa.String(128)),
        sa.Column("instrument_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", MICROS(), nullable=False),
        sa.Column("updated_at", MICROS(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
    )
    op.create_index("ix_orders_ems_cl_ord_id", "orders", ["ems_session", "cl_ord_id"])
    op.create_index("ix_orders_venue_cl_ord_id", "orders", ["venue_cl_ord_id"])
    op.create_index("ix_orders_venue_order_id", "orders", ["venue_order_id"])
    op.create_index("ix_orders_account", "orders", ["account"])
    op.create_index("ix_orders_instrument_id", "orders", ["instrument_id"])
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])
    op.create_index("ix_orders_open", "orders", ["order_id"], sqlite_where=sa.text("is_open = 1"),
                    postgresql_where=sa.text("is_open"))

    op.create_table(
        "order_aliases",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", "scope", name="pk_order_aliases"),
    )

    op.create_table(
        "events",
        _id(),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", MICROS(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_events_order_id", "events", ["order_id"])
    op.create_index("ix_events_at", "events", ["at"])

    op.create_table(
        "fills",
        _id(),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("exec_id", sa.String(128), nullable=False),
        sa.Column("qty", DECIMAL, nullable=False),
        sa.Column("price", DECIMAL, nullable=False),
        sa.Column("commission", DECIMAL),
        sa.Column("at", MICROS(), nullable=False),
        sa.UniqueConstraint("venue", "exec_id", name="uq_fills_venue_exec_id"),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"])

    op.create_table(
        "messages",
        _id(),
        sa.Column("session", sa.String(128), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("msg_type", sa.String(8), nullable=False),
        sa.Column("seq_num", sa.BigInteger()),
        sa.Column("order_id", sa.String(64)),
        sa.Column("cl_ord_id", sa.String(128)),
        sa.Column("at", MICROS(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_messages_direction"),
    )
    op.create_index("ix_messages_at", "messages", ["at"])
    op.create_index("ix_messages_order_id", "messages", ["order_id"])
    op.create_index("ix_messages_cl_ord_id", "messages", ["cl_ord_id"])
    op.create_index("ix_messages_session_seq", "messages", ["session", "direction", "seq_num"])

    op.create_table(
        "state",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", MICROS(), nullable=False),
    )

    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(counters, [{"name": "run_id", "value": 0}])


def downgrade() -> None:
    for table in ("counters", "state", "messages", "fills", "events", "order_aliases", "orders"):
        op.drop_table(table)
