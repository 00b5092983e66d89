#!/usr/bin/env python3
"""Audit export in bounded memory: generate N order events and N messages straight into a SQLite journal
(bulk inserts, ten events and ten messages per order, one UTC day), then run `fixgw audit events` and
`fixgw audit export` in child processes and report wall time, rows/s, output size and peak RSS
(the child's own ru_maxrss). Run it at two sizes: flat peak RSS means the export streams.

    .venv/bin/python scripts/bench_export.py [--events 1000000] [--small 100000] [--dir DIR]
        [--formats events:csv,export:fix]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fixgw.model.enums import OrdStatus, OrdType, Side  # noqa: E402
from fixgw.model.state import Order  # noqa: E402
from fixgw.store import Journal  # noqa: E402
from fixgw.store.coltypes import to_micros  # noqa: E402

DAY = datetime(2025, 6, 2, 13, 30, tzinfo=UTC)
PER_ORDER = 10
EVENTS = (("new", "A"), ("route", "A"), ("ack", "0"), *(("fill", "1"),) * 6, ("fill", "2"))
ER = ("35=8\x0137={o}\x0111={c}\x0117={o}:E{k}\x01150=F\x0139=1\x011=ACC{a}\x0155=AAPL\x0154=1\x0138=1000\x01"
      "40=2\x0144=187.25\x0132=100\x0131=187.25\x01151=400\x0114=600\x016=187.25\x0160=20250602-13:30:00.000\x01")
CHILD = """
import resource, sys, time
sys.path.insert(0, {repo!r})
from fixgw.cli import main
started = time.perf_counter()
code = main({argv!r})
print(f"RESULT {{code}} {{time.perf_counter() - started:.3f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}",
      file=sys.stderr)
"""


def generate(path: Path, events: int) -> float:
    """Fill a fresh journal with `events` events and as many messages; returns the seconds it took."""
    started = time.perf_counter()
    url = f"sqlite:///{path}"
    Journal(url).open()   # the schema, by migration
    Journal(url).close()
    orders = events // PER_ORDER
    base = to_micros(DAY)
    template = Order(order_id="@O", ems_session="ems-a", cl_ord_id="@C", cl_ord_id_chain=["@C"], account="@A",
                     instrument_id="AAPL", side=Side.BUY, ord_type=OrdType.LIMIT, order_qty="1000", price="187.25",
                     status=OrdStatus.FILLED, venue="equities", venue_cl_ord_id="@O.0", venue_order_id="@V",
                     created_at=DAY, updated_at=DAY).model_dump_json()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = OFF")
    with connection:
        for start in range(0, orders, 10_000):
            order_rows, event_rows, message_rows = [], [], []
            for n in range(start, min(orders, start + 10_000)):
                order_id, cl_ord_id, account = f"1-{n}", f"C{n}", f"ACC{n % 7}"
                at = base + n * 1000
                snapshot = (template.replace('"@O', f'"{order_id}').replace('"@C"', f'"{cl_ord_id}"')
                            .replace('"@A"', f'"{account}"').replace('"@V"', f'"V{n}"'))
                order_rows.append((order_id, "ems-a", cl_ord_id, "equities", f"{order_id}.0", f"V{n}", account,
                                   "AAPL", "2", 0, at, at, snapshot))
                for k, (event, status) in enumerate(EVENTS):
                    detail = {"exec_id": f"E{k}", "qty": "100", "price": "187.25"} if event == "fill" else \
                        {"cl_ord_id": cl_ord_id}
                    event_rows.append((order_id, event, status, at + k, json.dumps(detail)))
                    raw = ER.format(o=order_id, c=cl_ord_id, k=k, a=n % 7)
                    message_rows.append(("ems-a", "out", "8", None, order_id, cl_ord_id, at + k, raw))
            connection.executemany("INSERT INTO orders (order_id, ems_session, cl_ord_id, venue, venue_cl_ord_id, "
                                   "venue_order_id, account, instrument_id, status, is_open, created_at, updated_at, "
                                   "snapshot) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", order_rows)
            connection.executemany("INSERT INTO events (order_id, event, status, at, detail) VALUES (?,?,?,?,?)",
                                   event_rows)
            connection.executemany("INSERT INTO messages (session, direction, msg_type, seq_num, order_id, cl_ord_id, "
                                   "at, raw) VALUES (?,?,?,?,?,?,?,?)", message_rows)
    connection.close()
    return time.perf_counter() - started


def run_export(path: Path, command: str, fmt: str, output: Path) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of one `fixgw audit <command>` in a child process."""
    argv = ["audit", command, "--journal", f"sqlite:///{path}", "--from", "2025-06-02", "--to", "2025-06-02",
            "--format", fmt, "--output", str(output)]
    done = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO), argv=argv)], capture_output=True,
                          text=True, check=False)
    result = next((line for line in done.stderr.splitlines() if line.startswith("RESULT ")), None)
    if result is None or not result.startswith("RESULT 0 "):
        raise SystemExit(f"export failed:\n{done.stderr[-2000:]}")
    _, _, seconds, rss = result.split()
    return float(seconds), int(rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="a second, smaller run to compare peak RSS")
    parser.add_argument("--dir", type=Path, help="where the journals and exports go (default: a temp dir)")
    parser.add_argument("--formats", default="events:csv,events:jsonl,export:fix,export:csv",
                        help="command:format pairs")
    args = parser.parse_args(argv)
    pairs = [tuple(pair.split(":")) for pair in args.formats.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        for size in sorted({args.small, args.events}):
            path = Path(directory) / f"journal-{size}.db"
            seconds = generate(path, size)
            print(f"generated {size:,} events + {size:,} messages ({size // PER_ORDER:,} orders) in {seconds:.1f} s, "
                  f"journal {path.stat().st_size / 2**20:.0f} MiB", flush=True)
            for command, fmt in pairs:
                output = Path(directory) / f"out-{size}-{command}.{fmt}"
                elapsed, rss = run_export(path, command, fmt, output)
                print(f"  audit {command:6} --format {fmt:5}: {size:>9,} rows in {elapsed:6.1f} s "
                      f"({size / elapsed:9,.0f} rows/s), output {output.stat().st_size / 2**20:6.0f} MiB, "
                      f"peak RSS {rss / 1024:5.0f} MiB", flush=True)
                output.unlink()
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
