#!/usr/bin/env python3
"""Cost of the pre-trade risk chain per order (microseconds, p50/p99/p99.9), every check configured.

Measured on the router thread's work only (no I/O): `RiskChecks.check` for a new order that passes every
check (kill switches and breakers in force for other scopes, throttle, restricted list, market-order rule,
quantity, collar, fat finger, notional, venue ramp, credit, position, concentration, duplicate window), a
replace check, the observer's bookkeeping per order event, and a whole `RouterCore.on_new_order` with and
without risk for scale. Each sample times one call with perf_counter_ns; GC is off during a run.

    .venv/bin/python scripts/bench_risk.py [--orders 100000] [--book 10000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from risk_harness import RiskHarness  # the router core wired as the gateway wires it, on fake clocks

from fixgw.model.enums import OrdType, Side
from fixgw.model.orders import NewOrder, ReplaceOrder
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

EVERYTHING = {
    "defaults": {"max_order_qty": "100000", "max_order_notional": "50000000", "fat_finger_pct": "5",
                 "credit_limit": "1000000000000", "max_orders_per_second": 1_000_000_000},
    "restricted": ["GME", "*/USDT"],
    "duplicate_window_ms": 1000,
    "accounts": {"ACC1": {"max_position_qty": "1000000000", "max_concentration_pct": "50",
                          "restricted": ["TSLA"]}},
    "ems": {"EMS1": {"max_order_qty": "200000"}},
    "instruments": {"AAPL": {"reference_price": "100"}},
    "asset_classes": {"equity": {"max_order_notional": "60000000"}},
    "venues": {"BRK": {"allow_market_orders": True, "ramp_notional_cap": "100000000"}},
}


def percentiles(samples_ns: list[int]) -> str:
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    return (f"p50 {at(0.50):6.2f}  p99 {at(0.99):6.2f}  p99.9 {at(0.999):7.2f}  "
            f"mean {statistics.fmean(ordered) / 1000:6.2f} us  (n={len(ordered)})")


def timed(calls: list[Callable[[], object]]) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    gc.disable()
    try:
        for call in calls:
            start = clock()
            call()
            samples.append(clock() - start)
    finally:
        gc.enable()
    return samples


def loaded_harness(book: int) -> RiskHarness:
    """Every check on, `book` orders of exposure (open, filled), a kill switch and a breaker on other scopes."""
    from fixgw.risk.switches import BREAKER, KILL, new_switch

    h = RiskHarness(EVERYTHING)
    h.engine.counters = type(h.engine.counters)()
    for n in range(book):
        order = h.open_order(order_qty=str(10 + n % 500), price="100", account=f"ACC{1 + n % 50}")
        if n % 3 == 0:
            h.fill(order, str(5 + n % 5), "100")
        h.advance(0.003)   # outside the duplicate window and the one-second throttle window
    for kind, scope in ((KILL, "account:OTHER"), (KILL, "venue:ELSEWHERE"), (BREAKER, "instrument:GME")):
        h.call(h.engine.set_switch, new_switch(kind, scope, True, who="bench", reason="bench"), h.core)
    return h


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--book", type=int, default=10_000, help="orders of exposure built up front")
    args = parser.parse_args()
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))   # no log I/O while timing

    h = loaded_harness(args.book)
    engine, instrument = h.engine, h.core.symbols.get("AAPL")
    orders = [NewOrder(cl_ord_id=f"B{n}", instrument_id="AAPL", side=Side.BUY if n % 2 else Side.SELL,
                       order_qty=Decimal(100 + n % 1000), ord_type=OrdType.LIMIT,
                       price=Decimal("100") + Decimal(n % 300) / 100, account="ACC1")
              for n in range(args.orders)]
    for order in orders[:2000]:                        # warm up caches
        assert engine.check("EMS1", order, instrument, "BRK") is None
    chain = timed([lambda o=o: engine.check("EMS1", o, instrument, "BRK") for o in orders])
    denied = engine.counters.get("denied")
    print(f"risk chain, new order (all checks pass, {args.book} orders of exposure):")
    print(f"  {percentiles(chain)}")

    live = h.open_order(order_qty="500", price="100")
    replaces = [ReplaceOrder(cl_ord_id=f"RP{n}", orig_cl_ord_id=live.cl_ord_id, instrument_id="AAPL", side=Side.BUY,
                             order_qty=Decimal(600 + n % 100), ord_type=OrdType.LIMIT, price=Decimal("100.5"),
                             account="ACC1") for n in range(args.orders // 2)]
    replace = timed([lambda r=r: engine.check_replace("EMS1", live, r, instrument, "BRK") for r in replaces])
    print(f"risk chain, replace (an increase):\n  {percentiles(replace)}")

    fx = Effects()
    observe = timed([lambda: engine.on_order_event(fx, live, "replaced", {}) for _ in range(args.orders // 2)])
    print(f"observer, one order event that recomputes the order's exposure:\n  {percentiles(observe)}")

    def core_cost(core: RouterCore, label: str) -> None:
        commands = [NewOrder(cl_ord_id=f"{label}{n}", instrument_id="AAPL", side=Side.BUY,
                             order_qty=Decimal(100 + n), ord_type=OrdType.LIMIT,   # distinct: no duplicates
                             price=Decimal("100") + Decimal(n % 300) / 100, account="ACC1")
                     for n in range(args.orders // 4)]
        samples = timed([lambda c=c: core.on_new_order("EMS1", c, core.effects()) for c in commands])
        print(f"router core on_new_order, {label}:\n  {percentiles(samples)}")

    core_cost(h.core, "with risk")
    plain = RiskHarness({"enabled": False})
    core_cost(plain.core, "risk disabled")
    if denied or engine.counters.get("denied") != denied:
        print(f"warning: {engine.counters.get('denied')} orders were denied during the run", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
