#!/usr/bin/env python3
"""The bridge's cost per order beyond the HTTP round trip, and sustained orders/s at a configured rate limit,
against the crypto PB simulator (Coinbase Prime API) on loopback, run as its own process (`fixgw sim crypto-pb`)
so that it does not share this process's interpreter lock.

Latency, one market order at a time (each fills at once, so the bridge makes create + get + fills requests):
  http     those three signed requests made straight with the venue's HTTP client (the floor)
  bridge   RestExecutionClient.send_new -> the fill event at its listener (adds the engine, mapping, event
           building and the hop between the caller's thread and the bridge's event loop)
  gateway  FIX NewOrderSingle from an EMS client -> fixgw -> REST -> ExecutionReport Filled back on FIX
           (adds FIX decode/encode, routing, and the journal's group commits on SQLite)
Throughput: N market orders handed to the bridge at once with the venue's rate limit configured (the
simulator's own limit raised out of the way); orders/s until the last fill, requests/s, throttle waits.

    .venv/bin/python scripts/bench_bridge.py [--orders 300] [--burst-orders 150] [--rates 25,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from pydantic import SecretStr

from fixgw.config import parse_config
from fixgw.fix.symbols import load_symbol_master
from fixgw.logs import configure_logging
from fixgw.model.enums import ExecType, OrdType, Side, TimeInForce
from fixgw.model.orders import CancelRejectEvent, ExecutionEvent, NewOrder
from fixgw.sim.crypto_pb.settings import ENV_ACCESS_KEY, ENV_PASSPHRASE, ENV_SIGNING_KEY, SimCredentials
from fixgw.venues.bridge.coinbase_prime import mapping
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.execution import coinbase_prime_venue
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.ratelimit import RateLimiter

QTY = Decimal("0.01")
SYMBOLS = load_symbol_master()
BTC = SYMBOLS.get("BTC/USD")


class SimProcess:
    """`fixgw sim crypto-pb` in a child process, with throwaway credentials; its control API over HTTP."""

    def __init__(self) -> None:
        from fixgw.engine.quickfix_support import free_port

        self.credentials = SimCredentials(f"bench-{secrets.token_hex(4)}", secrets.token_hex(8),
                                          secrets.token_urlsafe(24))
        self.port = free_port()
        self.coinbase_url = self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, ENV_ACCESS_KEY: self.credentials.access_key,
               ENV_PASSPHRASE: self.credentials.passphrase, ENV_SIGNING_KEY: self.credentials.signing_key}
        self.process = subprocess.Popen([sys.executable, "-m", "fixgw", "sim", "crypto-pb", "--port", str(self.port)],
                                        env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.base_url}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)

    def control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.base_url}/_sim{path}", json=payload, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def venue_config(sim: SimProcess, name: str = "cbp", **overrides: Any) -> CoinbasePrimeConfig:
    creds = sim.credentials
    values: dict[str, Any] = {
        "name": name, "base_url": sim.coinbase_url, "portfolio_id": f"bench-{uuid.uuid4().hex[:8]}",
        "access_key": SecretStr(creds.access_key), "passphrase": SecretStr(creds.passphrase),
        "signing_key": SecretStr(creds.signing_key), "documented_rate": 100_000.0, "documented_burst": 100_000.0,
        "poll_interval_s": 1.0,
    }
    values.update(overrides)
    return CoinbasePrimeConfig.model_validate(values)


def market_order(cl_ord_id: str) -> NewOrder:
    return NewOrder(cl_ord_id=cl_ord_id, instrument_id="BTC/USD", side=Side.BUY, order_qty=QTY,
                    ord_type=OrdType.MARKET, time_in_force=TimeInForce.GTC)


def summary(name: str, seconds: list[float]) -> str:
    us = sorted(s * 1e6 for s in seconds)

    def pct(p: float) -> float:
        return us[min(len(us) - 1, int(p * len(us)))]

    return (f"{name:<8} n={len(us):<5} median {statistics.median(us):8.0f} us   p90 {pct(0.90):8.0f} us   "
            f"p99 {pct(0.99):8.0f} us   mean {statistics.fmean(us):8.0f} us")


CHUNK = 10
"""Orders per turn: the floor and the bridge take turns, so that load from elsewhere hits both alike."""


class Series:
    def __init__(self) -> None:
        self.timings: list[float] = []
        self.cpu = 0.0

    def cpu_per_order(self) -> float:
        return self.cpu / len(self.timings)


def bench_http_and_bridge(sim: SimProcess, orders: int) -> tuple[Series, Series]:
    """The floor (the bridge's requests for one market order, made straight with its HTTP client) and the same
    order through the bridge, in alternating chunks; the first chunk of each is warm-up."""
    config = venue_config(sim)
    http_loop = asyncio.new_event_loop()
    http = CoinbasePrimeHttp(config)
    client = coinbase_prime_venue(venue_config(sim), SYMBOLS)
    waiter = FillWaiter()
    client.bind(waiter)
    client.start()
    floor, bridge = Series(), Series()

    async def http_chunk(first: int, series: Series | None) -> None:
        for n in range(first, first + CHUNK):
            started, cpu = time.perf_counter(), time.process_time()
            order = market_order(f"H{n}")
            created = await http.create_order(mapping.create_order_request(order, BTC, config.portfolio_id))
            await http.get_order(created.order_id)
            await http.order_fills(created.order_id)
            if series is not None:
                series.timings.append(time.perf_counter() - started)
                series.cpu += time.process_time() - cpu

    def bridge_chunk(first: int, series: Series | None) -> None:
        for n in range(first, first + CHUNK):
            done = waiter.expect(f"B{n}")
            started, cpu = time.perf_counter(), time.process_time()
            client.send_new(market_order(f"B{n}"))
            if not done.wait(10):
                raise RuntimeError(f"order B{n} not filled")
            if series is not None:
                series.timings.append(time.perf_counter() - started)
                series.cpu += time.process_time() - cpu

    try:
        for chunk, first in enumerate(range(0, orders + CHUNK, CHUNK)):
            http_loop.run_until_complete(http_chunk(first, floor if chunk else None))
            bridge_chunk(first, bridge if chunk else None)
    finally:
        client.stop()
        http_loop.run_until_complete(http.aclose())
        http_loop.close()
    return floor, bridge


class FillWaiter:
    """A VenueListener that wakes the caller when an order's last fill arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}
        self.filled = 0
        self.last_fill_at = 0.0

    def expect(self, cl_ord_id: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(cl_ord_id, threading.Event())

    def on_execution(self, venue: str, event: ExecutionEvent) -> None:
        if event.exec_type is ExecType.TRADE and event.leaves_qty == 0 and event.cl_ord_id:
            with self._lock:
                self.filled += 1
                self.last_fill_at = time.perf_counter()
            self.expect(event.cl_ord_id).set()

    def on_cancel_reject(self, venue: str, event: CancelRejectEvent) -> None:
        pass

    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None:
        print(f"  outcome unknown: {cl_ord_id} {command} {reason}", file=sys.stderr)

    def on_connectivity(self, venue: str, connected: bool) -> None:
        pass


def bench_gateway(sim: SimProcess, orders: int, state: Path) -> list[float]:
    from fixgw.engine.gateway import Gateway
    from fixgw.engine.quickfix_support import free_port
    from fixgw.sim.fix_client import FixClient

    creds = sim.credentials
    port = free_port()
    # Literal secrets are accepted (not env:/file:/cred: references): fine for the simulator's test keys.
    config = parse_config({
        # SocketNodelay: without it two reports in a row wait ~40 ms for the peer's delayed ACK (Nagle).
        "name": "bench", "state_dir": str(state / "gw"),
        "acceptor": {"port": port, "quickfix": {"SocketNodelay": "Y"}},
        "ems": {"ems": {"target_comp_id": "BENCH"}},
        "venues": {"cbp": {"kind": "coinbase_prime", "base_url": sim.coinbase_url, "portfolio_id": "bench-gw",
                           "access_key": creds.access_key, "passphrase": creds.passphrase,
                           "signing_key": creds.signing_key, "documented_rate": 100_000.0,
                           "documented_burst": 100_000.0}},
        "routing": {"default": "cbp"},
    })
    gateway = Gateway(config)
    client = FixClient(port=port, sender_comp_id="BENCH", target_comp_id="FIXGW", store_dir=state / "ems",
                       extra_settings={"SocketNodelay": "Y"})
    timings = []
    gateway.start()
    client.start()
    try:
        if not client.wait_logged_on(10):
            raise RuntimeError("EMS client did not log on")
        for n in range(orders + 20):
            start_index = len(client.received)
            started = time.perf_counter()
            client.send([(35, "D"), (11, f"G{n}"), (55, "BTC/USD"), (54, "1"), (60, _now()), (38, str(QTY)),
                         (40, "1"), (59, "1")])
            client.wait_for(lambda m, c=f"G{n}": m.get(11) == c and m.get(39) == "2", 10, start=start_index)
            if n >= 20:
                timings.append(time.perf_counter() - started)
    finally:
        client.stop()
        gateway.stop()
    return timings


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def bench_throughput(sim: SimProcess, orders: int, documented_rate: float) -> str:
    """All orders handed over at once; the bridge's token bucket (70% of the documented rate) paces them."""
    limiter = RateLimiter()
    config = venue_config(sim, documented_rate=documented_rate, documented_burst=50.0)
    client = coinbase_prime_venue(config, SYMBOLS, ClientDeps(limiter=limiter))
    waiter = FillWaiter()
    client.bind(waiter)
    client.start()
    before = _requests(sim)
    try:
        started = time.perf_counter()
        for n in range(orders):
            client.send_new(market_order(f"T{documented_rate:g}-{n}"))
        _wait(lambda: waiter.filled >= orders, timeout=orders * 3 / (documented_rate * 0.7) + orders / 5 + 30)
        elapsed = waiter.last_fill_at - started
    finally:
        client.stop()
    requests = _requests(sim) - before
    (usage,) = limiter.usage()
    return (f"rate limit {documented_rate:g}/s documented -> {usage.rate:g}/s configured (burst {usage.burst:g}): "
            f"{orders} orders in {elapsed:.2f} s = {orders / elapsed:.1f} orders/s, {requests / elapsed:.1f} "
            f"requests/s ({requests / orders:.1f} per order), waited {usage.waited_total_s:.1f} s in the bucket, "
            f"{usage.penalties_total} 429 penalties")


def _requests(sim: SimProcess) -> int:
    counts: dict[str, int] = sim.control("GET", "/stats")["requests"]
    return sum(n for route, n in counts.items() if route.startswith("coinbase."))


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders per latency series")
    parser.add_argument("--burst-orders", type=int, default=150, help="orders per throughput run")
    parser.add_argument("--rates", default="25,1000", help="documented request rates (per s) to run at")
    args = parser.parse_args()
    configure_logging("WARNING", "json", open("/dev/null", "w"))  # noqa: SIM115 - quiet for the whole run
    sim = SimProcess()
    try:
        run(sim, args)
    finally:
        sim.stop()
    return 0


def run(sim: SimProcess, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as state:
        # The simulator's own limit out of the way: the bridge's bucket is what is measured.
        sim.control("POST", "/config", {"coinbase_bucket": {"rate": 100_000, "burst": 100_000}})
        print(f"crypto PB simulator at {sim.base_url}; market orders of {QTY} BTC-USD (create + get + fills)")
        http, bridge = bench_http_and_bridge(sim, args.orders)
        gateway = bench_gateway(sim, args.orders, Path(state))
        print(summary("http", http.timings))
        print(summary("bridge", bridge.timings))
        print(summary("gateway", gateway))
        floor = statistics.median(http.timings)
        print(f"bridge overhead beyond HTTP: median {(statistics.median(bridge.timings) - floor) * 1e6:.0f} us; "
              f"gateway (FIX in/out, routing, journal) beyond HTTP: median "
              f"{(statistics.median(gateway) - floor) * 1e6:.0f} us")
        print(f"CPU of this process per order (the simulator runs elsewhere): http "
              f"{http.cpu_per_order() * 1e6:.0f} us, bridge {bridge.cpu_per_order() * 1e6:.0f} us: the bridge's own "
              f"work {(bridge.cpu_per_order() - http.cpu_per_order()) * 1e6:.0f} us")
        for rate in (float(r) for r in args.rates.split(",")):
            print(bench_throughput(sim, args.burst_orders if rate < 100 else args.burst_orders * 4, rate))


if __name__ == "__main__":
    sys.exit(main())
