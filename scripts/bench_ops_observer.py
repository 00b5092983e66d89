#!/usr/bin/env python3
"""Cost of the metrics observer on the router thread (GatewayMetrics.on_pass), per pass and per order.

    PYTHONPATH=. .venv/bin/python scripts/bench_ops_observer.py

A pass of N orders: N inbound NewOrderSingles, N outbound NewOrderSingles to the broker, N "new" + N "route"
events, N commands to the venue, as the runner hands them over. Also the cost of one /metrics render.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from fixgw.engine.observe import PassRecord
from fixgw.ops.metrics import GatewayMetrics
from fixgw.router.effects import Effects, OrderEventRecord
from fixgw.store.records import MessageRecord

RAW = "8=FIX.4.4\x019=120\x0135=D\x0134=12\x0149=EMS-A\x0152=20270115-08:00:00.250\x0156=FIXGW\x0111=A1\x0110=000\x01"


def make_pass(orders: int) -> PassRecord:
    at = datetime.now(UTC)
    fx = Effects()
    messages = []
    origins = []
    now = time.perf_counter()
    for index in range(orders):
        order_id = f"1-{index}"
        fx.events += [OrderEventRecord(order_id, "new", "A", at, {}), OrderEventRecord(order_id, "route", "A", at, {})]
        fx.to_venue.append(("equities", object(), order_id))  # type: ignore[arg-type]
        messages += [MessageRecord("ems-a", "in", "D", RAW, at), MessageRecord("equities", "out", "D", RAW, at)]
        origins.append(("ems", now, index + 1, 0))
    return PassRecord(fx, messages, origins, orders, now, now + 0.001, now + 0.002, now + 0.003)


def bench(orders: int, rounds: int) -> list[float]:
    metrics = GatewayMetrics()
    record = make_pass(orders)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        metrics.on_pass(record)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    print(f"python {sys.version.split()[0]}")
    for orders, rounds in ((1, 20000), (10, 5000), (100, 1000), (512, 200)):
        samples = sorted(bench(orders, rounds))
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        print(f"pass of {orders:4d} orders: p50 {p50 * 1e6:8.1f} us  p99 {p99 * 1e6:8.1f} us  "
              f"({p50 / orders * 1e6:5.2f} us per order at p50)")
    metrics = GatewayMetrics()
    metrics.on_pass(make_pass(100))
    renders = []
    for _ in range(200):
        started = time.perf_counter()
        metrics.render()
        renders.append(time.perf_counter() - started)
    print(f"/metrics render (registry only, no live collector): median {statistics.median(renders) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
