"""A large SQLite journal made fast: the schema by the journal's own migrations, then bulk inserts in one
transaction (sqlite3 executemany, synchronous off while generating - this is test data, not a trading day).

Per order: 5 events (new, route, ack, fill, fill), 4 messages (NOS in/out, ER in/out), 2 fills, its snapshot and
aliases. `open_every`: one order in that many is left open (partially filled) for the restart to pick up.
`history_days`: the orders are spread evenly over today and that many earlier days (0: all of them today).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fixgw.engine.runner import SENT_MARK_PREFIX
from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.events import EventName
from fixgw.model.orders import Fill
from fixgw.model.state import Order
from fixgw.store import Journal
from fixgw.store.coltypes import to_micros

EVENTS_PER_ORDER = 5
_CHUNK = 5000
_RAW_IN = ("8=FIX.4.4\x019=150\x0135=D\x0134={seq}\x0149=BENCH-EMS\x0152=20250102-14:30:00.000\x0156=FIXGW\x01"
           "1=ACC1\x0111={cl}\x0138=100\x0140=2\x0144=190.25\x0154=1\x0155=AAPL\x0159=0\x01"
           "60=20250102-14:30:00.000\x0110=000\x01")


def _template(open_order: bool) -> str:
    at = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    fills = {"E1": Fill(exec_id="E1", venue="executor", qty=Decimal(50), price=Decimal("190.25"), time=at)}
    if not open_order:
        fills["E2"] = Fill(exec_id="E2", venue="executor", qty=Decimal(50), price=Decimal("190.25"), time=at)
    order = Order(order_id="@OID@", ems_session="bench", cl_ord_id="@CL@", cl_ord_id_chain=["@CL@"],
                  account="ACC1", instrument_id="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT,
                  order_qty=Decimal(100), price=Decimal("190.25"),
                  status=OrdStatus.PARTIALLY_FILLED if open_order else OrdStatus.FILLED, venue="executor",
                  venue_cl_ord_id="@OID@.0", venue_order_id="@VO@", fills=fills, venue_cl_ord_ids=["@OID@.0"],
                  created_at=at, updated_at=at)
    return order.model_dump_json()


def generate(path: Path, events: int, *, open_every: int = 100, history_days: int = 0, session: str = "bench",
             broker: str = "executor") -> dict[str, int]:
    """Create (or extend) the journal at `path` with about `events` order events; returns row counts written."""
    with Journal(f"sqlite:///{path}"):
        pass  # migrations to head
    orders = max(1, events // EVENTS_PER_ORDER)
    templates = {True: _template(True), False: _template(False)}
    now = datetime.now(UTC)
    start = max(now - timedelta(hours=2), now.replace(hour=0, minute=0, second=0, microsecond=0))
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        counts = {"orders": 0, "events": 0, "messages": 0, "fills": 0, "orders_today": 0}
        for chunk in _chunks(orders):
            order_rows, alias_rows, event_rows, fill_rows, message_rows = [], [], [], [], []
            for n in chunk:
                oid, cl, vo = f"G1-{n}", f"GC{n}", f"GV{n}"
                at = to_micros(start + timedelta(days=-(n % (history_days + 1)), microseconds=20 * n))
                is_open = n % open_every == 0
                snapshot = templates[is_open].replace("@OID@", oid).replace("@CL@", cl).replace("@VO@", vo)
                order_rows.append((oid, session, cl, broker, f"{oid}.0", vo, "ACC1", "AAPL",
                                   "1" if is_open else "2", is_open, at, at, snapshot, Side.BUY.value,
                                   json.dumps([cl])))
                alias_rows += [("ems", cl, session, oid), ("venue", f"{oid}.0", "", oid)]
                for event, status in ((EventName.NEW, "A"), (EventName.ROUTE, "A"), (EventName.ACK, "0"),
                                      (EventName.FILL, "1"), (EventName.FILL, "2")):
                    event_rows.append((oid, event, status, at, json.dumps({"cl_ord_id": cl})))
                fill_rows.append((oid, broker, f"{vo}-E1", "50", "190.25", None, at))
                if not is_open:
                    fill_rows.append((oid, broker, f"{vo}-E2", "50", "190.25", None, at))
                raw = _RAW_IN.format(seq=n + 2, cl=cl)
                message_rows += [(session, "in", "D", n + 2, oid, cl, at, raw),
                                 (broker, "out", "D", n + 2, oid, f"{oid}.0", at, raw),
                                 (broker, "in", "8", n + 2, oid, f"{oid}.0", at, raw),
                                 (session, "out", "8", n + 2, oid, cl, at, raw)]
            db.executemany("INSERT INTO orders (order_id, ems_session, cl_ord_id, venue, venue_cl_ord_id, "
                           "venue_order_id, account, instrument_id, status, is_open, created_at, updated_at, "
                           "snapshot, side, cl_ord_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", order_rows)
            db.executemany("INSERT INTO order_aliases (kind, value, scope, order_id) VALUES (?,?,?,?)", alias_rows)
            db.executemany("INSERT INTO events (order_id, event, status, at, detail) VALUES (?,?,?,?,?)",
                           event_rows)
            db.executemany("INSERT INTO fills (order_id, venue, exec_id, qty, price, commission, at) "
                           "VALUES (?,?,?,?,?,?,?)", fill_rows)
            db.executemany("INSERT INTO messages (session, direction, msg_type, seq_num, order_id, cl_ord_id, at, "
                           "raw) VALUES (?,?,?,?,?,?,?,?)", message_rows)
            counts["orders"] += len(order_rows)
            counts["orders_today"] += sum(1 for n in chunk if n % (history_days + 1) == 0)
            counts["events"] += len(event_rows)
            counts["messages"] += len(message_rows)
            counts["fills"] += len(fill_rows)
        # Every report was handed to QuickFIX before the stop: nothing to replay at the next logon.
        last = (start + timedelta(microseconds=20 * orders)).isoformat()
        db.execute("INSERT OR REPLACE INTO state (key, value, updated_at) VALUES (?,?,?)",
                   (f"{SENT_MARK_PREFIX}{session}", last, to_micros(datetime.now(UTC))))
        db.execute("COMMIT")
    finally:
        db.close()
    return counts


def _chunks(count: int) -> Iterator[range]:
    for start in range(0, count, _CHUNK):
        yield range(start, min(start + _CHUNK, count))
