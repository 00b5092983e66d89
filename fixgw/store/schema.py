"""The journal's tables (SQLAlchemy Core). The migrations in `migrations/` create exactly this schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    func,
    text,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from fixgw.store.coltypes import ExactDecimal, UtcMicros

metadata = MetaData()


def _id() -> Column[int]:
    """An insertion-ordered id: BIGSERIAL on PostgreSQL, the rowid on SQLite."""
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


orders = Table(
    "orders", metadata,
    Column("order_id", String(64), primary_key=True),
    Column("ems_session", String(128), nullable=False),
    Column("cl_ord_id", String(128), nullable=False),
    Column("venue", String(64)),
    Column("venue_cl_ord_id", String(128)),
    Column("venue_order_id", String(128)),
    Column("account", String(128)),
    Column("instrument_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
    Column("snapshot", Text, nullable=False),      # Order.model_dump_json(): decimals as strings
    Column("side", String(1)),                     # Side(54) (migration 0003; null only in rows of older writers)
    Column("cl_ord_ids", Text),                    # every EMS ClOrdID of the order, a JSON array (0003; as side)
)


def order_side(dialect_name: str) -> ColumnElement[Any]:
    """The orders' Side(54) value: the column, or the snapshot's for a row an older writer left without it."""
    snapshot = orders.c.snapshot
    from_snapshot = (func.json_extract_path_text(cast(snapshot, JSON), "side") if dialect_name == "postgresql"
                     else func.json_extract(snapshot, "$.side"))
    return func.coalesce(orders.c.side, from_snapshot)


# Two secondary indexes only: every one is rewritten by each order's upsert (migration 0010_hot_indexes says what
# serves the lookups of the five dropped there: `order_aliases` for ClOrdIDs, time ranges for the export).
Index("ix_orders_updated_at", orders.c.updated_at)
# Partial index of the open book; the predicate is spelled as each dialect renders `WHERE orders.is_open`.
Index("ix_orders_open", orders.c.order_id, sqlite_where=orders.c.is_open == true(), postgresql_where=orders.c.is_open)

# Every ClOrdID an order has been known by: the EMS's chain (kind "ems", scope = EMS session) and our
# outbound ids at the venue (kind "venue", scope ""), so an old ClOrdID of a replace chain still finds it.
order_aliases = Table(
    "order_aliases", metadata,
    Column("kind", String(8), nullable=False),
    Column("value", String(128), nullable=False),
    Column("scope", String(128), nullable=False),
    Column("order_id", String(64), nullable=False),
    PrimaryKeyConstraint("kind", "value", "scope", name="pk_order_aliases"),
)

events = Table(
    "events", metadata,
    _id(),
    Column("order_id", String(64), nullable=False),
    Column("event", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UtcMicros, nullable=False),
    Column("detail", Text, nullable=False),         # JSON object of strings
)
Index("ix_events_order_id", events.c.order_id)
Index("ix_events_at", events.c.at)
VOIDING_EVENTS = text("event IN ('trade_cancel', 'trade_correct')")
"""Busts and corrections: the fills table keeps the fills they void. Spelled as literal SQL, so that a query
with this very predicate can use the partial index below (SQLite will not for bound parameters)."""
# Partial: only busts and corrections are in it, so the hot path's event inserts never touch it.
Index("ix_events_voiding", events.c.order_id, sqlite_where=VOIDING_EVENTS, postgresql_where=VOIDING_EVENTS)

fills = Table(
    "fills", metadata,
    _id(),
    Column("order_id", String(64), nullable=False),
    Column("venue", String(64), nullable=False),
    Column("exec_id", String(128), nullable=False),
    Column("qty", ExactDecimal, nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("commission", ExactDecimal),
    Column("at", UtcMicros, nullable=False),
    UniqueConstraint("venue", "exec_id", name="uq_fills_venue_exec_id"),
)
Index("ix_fills_order_id", fills.c.order_id)

messages = Table(
    "messages", metadata,
    _id(),
    Column("session", String(128), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("msg_type", String(8), nullable=False),
    Column("seq_num", BigInteger),
    Column("order_id", String(64)),
    Column("cl_ord_id", String(128)),
    Column("at", UtcMicros, nullable=False),
    Column("raw", Text, nullable=False),
    CheckConstraint("direction IN ('in', 'out')", name="ck_messages_direction"),
)
Index("ix_messages_at", messages.c.at)
Index("ix_messages_order_id", messages.c.order_id)
Index("ix_messages_session_seq", messages.c.session, messages.c.direction, messages.c.seq_num)

state = Table(
    "state", metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

counters = Table(
    "counters", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# High availability (fixgw/store/lease.py, fixgw/store/sessionledger.py): the leader lease of each cluster of
# gateways on this journal, and what the FIX sessions sent (sequence numbers and resend material) so another
# node can resume them. expires_at is the database's clock (nodes' clocks are never compared).
ha_lease = Table(
    "ha_lease", metadata,
    Column("cluster", String(64), primary_key=True),
    Column("holder", String(128)),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("renewed_at", DateTime(timezone=True), nullable=False),
    Column("step_down_requested_at", DateTime(timezone=True)),  # `fixgw ha step-down`: the active hands over
)

ha_session_out = Table(
    "ha_session_out", metadata,
    _id(),
    Column("session", String(128), nullable=False),
    Column("seq_num", BigInteger, nullable=False),
    Column("msg_type", String(8), nullable=False),
    Column("at", UtcMicros, nullable=False),
    Column("raw", Text, nullable=False),            # empty for session-level messages (resent as a gap fill)
)
Index("ix_ha_session_out_session", ha_session_out.c.session, ha_session_out.c.id)

# The venue wire archive (migration 0008): every REST request to a venue and its answer, secrets masked
# (fixgw/venues/bridge/common/wire.py), journaled in the router's batches like the FIX messages.
venue_wire = Table(
    "venue_wire", metadata,
    _id(),
    Column("venue", String(64), nullable=False),
    Column("at", UtcMicros, nullable=False),        # when the request was sent
    Column("method", String(8), nullable=False),
    Column("endpoint", String(256), nullable=False),  # method and path template: "GET /v1/orders/{id}"
    Column("path", Text, nullable=False),
    Column("status", Integer),                      # null: no answer (timeout, dropped connection)
    Column("latency_us", BigInteger, nullable=False),
    Column("route", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("exchange", Text, nullable=False),       # JSON {"request": {...}, "response": {...}}, masked
)
Index("ix_venue_wire_venue_at", venue_wire.c.venue, venue_wire.c.at)
Index("ix_venue_wire_at", venue_wire.c.at)

# A claim per scheduled job and fire time (fixgw/ha/jobs.py): the active inserts it under its epoch before it
# runs the job; finished_at once done. An unfinished claim of an older epoch (its node died) may be taken over.
ha_job_run = Table(
    "ha_job_run", metadata,
    Column("cluster", String(64), primary_key=True),
    Column("job_id", String(128), primary_key=True),
    Column("fire_time", UtcMicros, primary_key=True),
    Column("node", String(128), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("claimed_at", UtcMicros, nullable=False),
    Column("finished_at", UtcMicros),
)

# Each node's last read of the journal: the newest events and messages row it has seen, on the database's clock.
# A standby's lag is how far the journal has moved past its view (fixgw ha status).
ha_node_view = Table(
    "ha_node_view", metadata,
    Column("cluster", String(64), primary_key=True),
    Column("node", String(128), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("events_seen", BigInteger, nullable=False),
    Column("messages_seen", BigInteger, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)
