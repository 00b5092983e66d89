#!/usr/bin/env python3
"""What HA costs the active and the takeover, measured on the local PostgreSQL (BENCHMARKS.md, "HA takeover"):
the fence (one SELECT ... FOR SHARE in every journal write transaction), recording sent messages, and the
takeover's rebuild of a session's FileStore from a day of recorded messages.

    FIXGW_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python scripts/bench_ha_store.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests")]

import quickfix as qf  # noqa: E402
from ha_stack import POSTGRES_URL_ENV, postgres_schema  # noqa: E402

from fixgw.engine.continuity import SessionContinuity  # noqa: E402
from fixgw.store import Journal, JournalBatch, MessageRecord  # noqa: E402
from fixgw.store.lease import Lease  # noqa: E402
from fixgw.store.sessionledger import SentMessage, SessionLedger  # noqa: E402

WRITES = 300
DAY_MESSAGES = 50_000
REPORT = ("8=FIX.4.4\x019=200\x0135=8\x0134={seq}\x0149=FIXGW\x0152=20261207-12:00:00.000\x0156=EMS-A\x01"
          "6=190\x0111=C{seq}\x0114=100\x0117=E{seq}\x0131=190\x0132=100\x0137=O{seq}\x0138=100\x0139=2\x01"
          "54=1\x0155=AAPL\x01150=F\x01151=0\x0110=000\x01")


def write_latency(journal: Journal) -> list[float]:
    at = datetime.now(UTC)
    times = []
    for n in range(WRITES):
        batch = JournalBatch(messages=[MessageRecord("ems-a", "in", "D", REPORT.format(seq=n), at, seq_num=n)],
                             state={"bench": str(n)})
        started = time.perf_counter()
        journal.write(batch)
        times.append(time.perf_counter() - started)
    return times


def line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    return (f"{name:34s} median {statistics.median(ordered) * 1e3:7.3f} ms   p99 "
            f"{ordered[int(len(ordered) * 0.99) - 1] * 1e3:7.3f} ms")


def main() -> int:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        print(f"{POSTGRES_URL_ENV} is not set", file=sys.stderr)
        return 2
    with postgres_schema(base) as url, Journal(url) as journal:
        lease = Lease(journal.engine, cluster="bench", node_id="a", lease_s=30)
        assert lease.acquire() == 1
        plain: list[float] = []
        fenced: list[float] = []
        write_latency(journal)  # warm-up
        for _round in range(3):  # interleaved: the machine is shared, its load drifts
            plain += write_latency(journal)
            lease.install_fence(journal.engine)
            fenced += write_latency(journal)
            lease.remove_fence(journal.engine)
        print(line("journal write, no fence", plain))
        print(line("journal write, fenced", fenced))
        ledger = SessionLedger(journal.engine)
        now = datetime.now(UTC)
        started = time.perf_counter()
        for chunk in range(0, DAY_MESSAGES, 1000):
            ledger.record([SentMessage("acceptor:ems-a", seq, "8", now, REPORT.format(seq=seq))
                           for seq in range(chunk + 1, chunk + 1001)])
        recorded = time.perf_counter() - started
        print(f"{'record ' + str(DAY_MESSAGES) + ' sent messages':34s} {recorded:7.3f} s "
              f"({recorded / DAY_MESSAGES * 1e6:.1f} us a message, batches of 1000)")
        with tempfile.TemporaryDirectory() as folder:
            continuity = SessionContinuity(ledger, journal, 1000)
            sid = qf.SessionID("FIX.4.4", "FIXGW", "EMS-A")
            started = time.perf_counter()
            continuity.rebuild(Path(folder), "acceptor", [("ems-a", sid)], now)
            rebuilt = time.perf_counter() - started
            print(f"{'rebuild store of ' + str(DAY_MESSAGES) + ' messages':34s} {rebuilt:7.3f} s "
                  f"(next sender {continuity.resumed['acceptor:ems-a'][0]})")
        lease.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
