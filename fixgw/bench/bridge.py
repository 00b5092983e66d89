"""Scenario 4: orders through fixgw to a REST crypto prime broker (the Coinbase Prime simulator) at a configured
rate limit, against the same orders sent straight to the simulator's REST API with the bridge's own HTTP client.

Measured per order: NewOrderSingle -> first ExecutionReport (the ack, sent once the REST submit succeeded) via
fixgw, the REST submit round trip direct, their difference, the gateway's CPU per order and the venue requests
per order (the simulator counts them by route). The fill arrives later - from the `orders` WebSocket channel and
batched fill reads (`--no-stream`: by status polling) - and is not part of the latency figure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fixgw.bench.histogram import PERCENTILES, summarize
from fixgw.bench.loadgen import EmsProcess, EmsSpec, LoadSpec
from fixgw.bench.peers import EMS_COMP_ID, GATEWAY_COMP_ID, GatewayProcess, executor, gateway_config
from fixgw.bench.report import table
from fixgw.engine.quickfix_support import free_port

_ENV = ("FIXGW_BENCH_CB_ACCESS_KEY", "FIXGW_BENCH_CB_PASSPHRASE", "FIXGW_BENCH_CB_SIGNING_KEY")
_PORTFOLIO = "bench-portfolio"


@dataclass(frozen=True)
class BridgeOptions:
    rate_limit: float = 25.0
    """The venue's documented requests per second (the simulator enforces it; the bridge runs at 70% of it)."""
    burst: float = 50.0
    rate: int = 15
    """Offered orders per second."""
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    stream: bool = True
    """Subscribe to the simulator's `orders` channel (else: poll every order over REST)."""


def run(work: Path, options: BridgeOptions) -> tuple[dict[str, Any], list[Any]]:
    from fixgw.sim.crypto_pb import CryptoPbSimulator
    from fixgw.sim.crypto_pb.settings import BucketSpec, SimCredentials, SimSettings

    values = (f"bench-{secrets.token_hex(6)}", secrets.token_hex(8), secrets.token_urlsafe(24))
    os.environ.update(dict(zip(_ENV, values, strict=True)))  # the gateway process resolves env: references
    credentials = SimCredentials(*values)
    settings = SimSettings(credentials=credentials, coinbase_bucket=BucketSpec(options.rate_limit, options.burst),
                           limit_slices=1, slice_interval_s=0.05)
    count = int(options.rate * (options.seconds + options.warmup_seconds))
    warmup = int(options.rate * options.warmup_seconds)
    simulator = CryptoPbSimulator(settings=settings)
    simulator.start()
    try:
        venue = {"kind": "coinbase_prime", "base_url": simulator.coinbase_url, "portfolio_id": _PORTFOLIO,
                 "access_key": f"env:{_ENV[0]}", "passphrase": f"env:{_ENV[1]}", "signing_key": f"env:{_ENV[2]}",
                 "day_orders": "as_gtc", "poll_interval_s": 0.25, "documented_rate": options.rate_limit,
                 "documented_burst": options.burst}
        if options.stream:
            venue.update(ws_url=simulator.ws_url, service_account_id="bench-service-account")
        direct = asyncio.run(_direct(venue, values, options, count, warmup))
        acceptor_port = free_port()
        with executor(work / "executor") as broker:
            config = gateway_config(work / "gateway", acceptor_port, broker.port)
            config["venues"] = {"crypto": venue}
            config["routing"] = {"default": "crypto"}
            gateway = GatewayProcess(config, work / "gateway.log")
            gateway.start()
            ems = EmsProcess(EmsSpec(port=acceptor_port, sender_comp_id=EMS_COMP_ID, target_comp_id=GATEWAY_COMP_ID,
                                     symbol="BTC/USD", qty="0.01", price="65100.00"))
            try:
                ems.start()
                before, requests_before = gateway.stats(), simulator.request_counts()
                load = ems.run(LoadSpec(options.rate, count, warmup, "BR-", drain_timeout=30.0))
                after, requests_after = gateway.stats(), simulator.request_counts()
            finally:
                ems.stop()
                gateway.stop()
    finally:
        simulator.stop()
    acked = [i for i in load.measured() if load.first[i]]
    span = (max(load.first[i] for i in acked) - load.scheduled[warmup]) / 1e9 if acked else 0.0
    via = summarize(load.first_report_us())
    added = {f"p{p:g}": None if via[f"p{p:g}"] is None or direct["round_trip_us"][f"p{p:g}"] is None
             else via[f"p{p:g}"] - direct["round_trip_us"][f"p{p:g}"] for p in PERCENTILES}
    result = {"options": options.__dict__, "effective_rate_limit": options.rate_limit * 0.7,
              "direct_rest": direct, "fixgw_ack_us": via, "added_us": added,
              "acked_per_s": round(len(acked) / span, 1) if span > 0 else 0.0,
              "unacked": len(load.measured()) - len(acked), "rejected": load.rejected,
              "gateway_cpu_ms_per_order": round((after["cpu_s"] - before["cpu_s"]) / count * 1000, 2),
              "filled": sum(1 for i in load.measured() if load.done[i]),
              "venue_requests": {route: n - requests_before.get(route, 0) for route, n in requests_after.items()
                                 if n > requests_before.get(route, 0)}}
    result["venue_requests_per_order"] = round(sum(result["venue_requests"].values()) / count, 2)
    keys = [f"p{p:g}" for p in PERCENTILES]
    rows = [["REST submit, direct", *(direct["round_trip_us"][k] for k in keys), direct["per_s"], direct["errors"]],
            ["NOS -> ack via fixgw", *(via[k] for k in keys), result["acked_per_s"], result["unacked"]],
            ["added by fixgw + bridge", *(added[k] for k in keys), None, None]]
    title = (f"REST bridge at {options.rate}/s offered, limit {options.rate_limit:g}/s (bridge paces at 70%); "
             f"gateway CPU {result['gateway_cpu_ms_per_order']} ms/order; venue requests per order "
             f"{result['venue_requests_per_order']} ({'orders channel' if options.stream else 'polling'})")
    return result, [table(title, ["path (us)", *keys, "orders/s", "errors"], rows)]


async def _direct(venue: dict[str, Any], values: tuple[str, str, str], options: BridgeOptions, count: int,
                  warmup: int) -> dict[str, Any]:
    """The same orders straight to the simulator with the bridge's HTTP client, open loop at the same rate."""
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
    from fixgw.venues.bridge.coinbase_prime.schemas import CreateOrderRequest

    config = CoinbasePrimeConfig(name="crypto", base_url=venue["base_url"], portfolio_id=_PORTFOLIO,
                                 access_key=values[0], passphrase=values[1], signing_key=values[2],
                                 documented_rate=options.rate_limit, documented_burst=options.burst)
    http = CoinbasePrimeHttp(config)
    latencies: list[int] = []
    errors = 0

    async def submit(n: int, scheduled: int) -> None:
        nonlocal errors
        order = CreateOrderRequest(portfolio_id=_PORTFOLIO, product_id="BTC-USD", side="BUY",
                                   client_order_id=f"direct-{n}-{secrets.token_hex(4)}", type="LIMIT",
                                   base_quantity=Decimal("0.01"), limit_price=Decimal("65100.00"),
                                   time_in_force="GOOD_UNTIL_CANCELLED")
        try:
            await http.create_order(order)
        except Exception:
            errors += 1
            return
        if n >= warmup:
            latencies.append((time.perf_counter_ns() - scheduled) // 1000)

    try:
        interval = 1e9 / options.rate
        t0 = time.perf_counter_ns() + 20_000_000
        tasks = []
        for n in range(count):
            scheduled = t0 + int(n * interval)
            delay = scheduled - time.perf_counter_ns()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            tasks.append(asyncio.create_task(submit(n, scheduled)))
        await asyncio.gather(*tasks)
        span = (time.perf_counter_ns() - (t0 + int(warmup * interval))) / 1e9
    finally:
        await http.aclose()
    return {"round_trip_us": summarize(latencies), "per_s": round(len(latencies) / span, 1), "errors": errors}
