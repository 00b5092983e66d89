#!/usr/bin/env python3
"""Journal write and reload cost: batches of 1, 10 and 100 orders (3 events + 3 messages each) on a SQLite
file and, with --postgres URL, on PostgreSQL (in a scratch schema, dropped afterwards).

    .venv/bin/python scripts/bench_journal.py [--postgres postgresql+psycopg://postgres@127.0.0.1/test]
        [--sqlite-dir DIR] [--orders-per-size 3000] [--load-orders 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.orders import Fill
from fixgw.model.state import Order
from fixgw.store import EventRecord, Journal, JournalBatch, MessageRecord
from fixgw.store.database import journal_url

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
RAW = "8=FIX.4.4\x019=178\x0135=D\x0134={n}\x0149=EMS1\x0156=FIXGW\x0152=20250102-14:30:00.000123\x0111={c}\x01" \
      "55=AAPL\x0154=1\x0138=100\x0140=2\x0144=187.25\x0159=0\x0160=20250102-14:30:00.000100\x0110=123\x01"


def order_batch(prefix: str, start: int, size: int) -> JournalBatch:
    batch = JournalBatch()
    for n in range(start, start + size):
        order_id, cl_ord_id, at = f"{prefix}-{n}", f"C{n}", T0 + timedelta(microseconds=n)
        batch.orders[order_id] = Order(
            order_id=order_id, ems_session="EMS1", cl_ord_id=cl_ord_id, cl_ord_id_chain=[cl_ord_id],
            instrument_id="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT, order_qty="100", price="187.25",
            account="ACC1", venue="BRK", venue_cl_ord_id=f"R{n}", status=OrdStatus.NEW, created_at=at, updated_at=at,
            fills={"E1": Fill(exec_id="E1", venue="BRK", qty="40", price="187.25", time=at)} if n % 2 else {})
        for event, status in (("new", "A"), ("ack", "0"), ("fill", "1")):
            batch.events.append(EventRecord(order_id, event, status, at, {"cl_ord_id": cl_ord_id}))
        for seq, (direction, msg_type) in enumerate((("in", "D"), ("out", "D"), ("out", "8"))):
            batch.messages.append(MessageRecord("EMS1", direction, msg_type, RAW.format(n=n, c=cl_ord_id), at,
                                                order_id, cl_ord_id, 3 * n + seq))
    return batch


def bench_writes(journal: Journal, size: int, total_orders: int) -> str:
    """Write `total_orders` in batches of `size`, one commit each; wall and client CPU per order, commits/s."""
    prefix = uuid.uuid4().hex[:8]
    batches = [order_batch(prefix, i * size, size) for i in range(max(total_orders // size, 20))]
    journal.write(batches[0])      # warm the statement cache and the pool
    timings = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches[1:]:
        t = time.perf_counter()
        journal.write(batch)
        timings.append(time.perf_counter() - t)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    orders = (len(batches) - 1) * size
    median, p99 = statistics.median(timings) * 1e3, statistics.quantiles(timings, n=100)[98] * 1e3
    return (f"{elapsed / orders * 1e6:8.1f} us/order (client CPU {cpu / orders * 1e6:6.1f})  "
            f"{len(timings) / elapsed:7.1f} commits/s  commit median {median:6.2f} ms p99 {p99:6.2f} ms")


def bench_load(journal: Journal, count: int) -> tuple[float, float]:
    """Seconds to load all `count` orders and the open half of them."""
    prefix = uuid.uuid4().hex[:8]
    for start in range(0, count, 1000):
        batch = order_batch(prefix, start, min(1000, count - start))
        batch.events.clear()
        batch.messages.clear()
        for n, order in enumerate(batch.orders.values()):
            if n % 2:
                order.status = OrdStatus.CANCELED
        journal.write(batch)
    t = time.perf_counter()
    everything = journal.load_orders()
    all_seconds = time.perf_counter() - t
    t = time.perf_counter()
    open_orders = journal.load_orders(open_only=True)
    open_seconds = time.perf_counter() - t
    assert len(everything) >= count and len(open_orders) >= count // 2
    return all_seconds, open_seconds


@contextmanager
def scratch_postgres(base: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(journal_url(base), poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield journal_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(name: str, url: str, per_size: int, load_count: int) -> None:
    with Journal(url) as journal:
        for size in (1, 10, 100):
            print(f"{name:10} batch {size:>3} orders: {bench_writes(journal, size, per_size)}", flush=True)
        if load_count:
            all_s, open_s = bench_load(journal, load_count)
            print(f"{name:10} load_orders({load_count:,} orders): all {all_s:.2f} s "
                  f"({all_s / load_count * 1e6:.1f} us/order), open half {open_s:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="PostgreSQL URL (a scratch schema is created and dropped)")
    parser.add_argument("--sqlite-dir", type=Path, help="directory for the SQLite file (default: a temp dir)")
    parser.add_argument("--orders-per-size", type=int, default=3000)
    parser.add_argument("--load-orders", type=int, default=100_000, help="0 to skip the load_orders measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.sqlite_dir) as directory:
        run("sqlite", f"sqlite:///{Path(directory) / 'bench.db'}", args.orders_per_size, args.load_orders)
    if args.postgres:
        with scratch_postgres(args.postgres) as url:
            run("postgresql", url, args.orders_per_size, args.load_orders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
