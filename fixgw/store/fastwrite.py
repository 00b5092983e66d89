"""SQLite journal writes bound by the driver itself, on one connection kept for them.

The journal's own statements (the same upserts) are compiled once to SQL text; each batch's rows go to sqlite3's
`executemany` as tuples, converted here exactly as the column types would (UtcMicros -> integer microseconds,
ExactDecimal -> canonical text), in a BEGIN IMMEDIATE ... COMMIT on a connection with the engine's pragmas (WAL,
synchronous=FULL or NORMAL as `journal.sync` says, busy_timeout). This skips SQLAlchemy's per-row parameter
processing and its per-transaction connection checkout, begin/commit events and reset, which together cost more
CPU than the inserts themselves (see BENCHMARKS.md). Same rows, same constraints, same durability.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite

from fixgw.model.decimals import fmt_decimal
from fixgw.model.state import Order
from fixgw.store import schema
from fixgw.store.coltypes import to_micros
from fixgw.store.database import SQLITE_BUSY_TIMEOUT_MS
from fixgw.store.records import JournalBatch, JournalError


def ems_cl_ord_id_list(order: Order) -> list[str]:
    """Every ClOrdID the EMS has used for the order, oldest first, once each."""
    return list(dict.fromkeys(cl_ord_id for cl_ord_id in (*order.cl_ord_id_chain, order.orig_cl_ord_id,
                                                          order.cl_ord_id) if cl_ord_id))


def ems_cl_ord_ids(order: Order) -> str:
    """orders.cl_ord_ids: `ems_cl_ord_id_list` as a JSON array."""
    return json.dumps(ems_cl_ord_id_list(order))


def _sql(statement: Any, table: Table) -> str:
    """The statement's SQLite text with one `?` per column of `table` (its autoincrement id left out), in order."""
    keys = [column.name for column in table.columns if column.name != "id"]
    compiled = statement.compile(dialect=sqlite.dialect(), column_keys=keys)
    if list(compiled.positiontup or ()) != keys:
        raise RuntimeError(f"unexpected parameter order for {table.name}: {compiled.positiontup}")
    return str(compiled)


class SqliteRows:
    """Writes one JournalBatch on an open SQLite write transaction (see Journal.write)."""

    def __init__(self, upserts: Any, database: str, synchronous: str = "FULL") -> None:
        self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {synchronous}")
        self._lock = threading.Lock()  # one transaction at a time on this connection
        self.orders = _sql(upserts.orders, schema.orders)
        self.aliases = _sql(upserts.aliases, schema.order_aliases)
        self.events = _sql(schema.events.insert(), schema.events)
        self.fills = _sql(upserts.fills, schema.fills)
        self.messages = _sql(schema.messages.insert(), schema.messages)
        self.state = _sql(upserts.state, schema.state)
        self.venue_wire = _sql(schema.venue_wire.insert(), schema.venue_wire)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def write(self, batch: JournalBatch, aliases: Sequence[dict[str, str]]) -> None:
        """The whole batch in one transaction, committed (durable) when this returns; nothing of it on error."""
        with self._lock, _typed("write"):
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")  # the write lock up front, so busy_timeout applies
            try:
                self._rows(cursor, batch, aliases)
                cursor.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.rollback()
                raise
            finally:
                cursor.close()

    def _rows(self, cursor: sqlite3.Cursor, batch: JournalBatch, aliases: Sequence[dict[str, str]]) -> None:
        if batch.orders:
            orders = list(batch.orders.values())
            cursor.executemany(self.orders, [
                (o.order_id, o.ems_session, o.cl_ord_id, o.venue, o.venue_cl_ord_id, o.venue_order_id, o.account,
                 o.instrument_id, o.status.value, o.is_open, to_micros(o.created_at), to_micros(o.updated_at),
                 o.model_dump_json(), o.side.value, ems_cl_ord_ids(o)) for o in orders])
        if aliases:
            cursor.executemany(self.aliases, [(a["kind"], a["value"], a["scope"], a["order_id"]) for a in aliases])
        if batch.events:
            cursor.executemany(self.events, [(e.order_id, e.event, e.status, to_micros(e.at), json.dumps(e.detail))
                                             for e in batch.events])
        if batch.fills:
            cursor.executemany(self.fills, [
                (order_id, f.venue, f.exec_id, fmt_decimal(f.qty), fmt_decimal(f.price),
                 None if f.commission is None else fmt_decimal(f.commission), to_micros(f.time))
                for order_id, f in batch.fills])
        if batch.messages:
            cursor.executemany(self.messages, [
                (m.session, m.direction, m.msg_type, m.seq_num, m.order_id, m.cl_ord_id, to_micros(m.at), m.raw)
                for m in batch.messages])
        if batch.state:
            now = to_micros(datetime.now(UTC))
            cursor.executemany(self.state, [(key, value, now) for key, value in batch.state.items()])
        if batch.venue_wire:
            cursor.executemany(self.venue_wire, [
                (w.venue, to_micros(w.at), w.method, w.endpoint, w.path, w.status, w.latency_us, w.route, w.attempt,
                 w.exchange) for w in batch.venue_wire])


@contextmanager
def _typed(action: str) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, ValueError) as exc:  # ValueError: a value the column type refuses (naive time)
        raise JournalError(f"journal {action} failed: {exc}") from exc
