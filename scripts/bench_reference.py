#!/usr/bin/env python3
"""Cost of the reference-price lookup on the order path, and of booking a fill into P&L (microseconds).

`timeit` (best of 5 repeats) of `RiskChecks._reference` - the lookup every price check, market-order valuation
and arrival price goes through - for an instrument without any price, with only a configured (static) price,
and with three live sources quoting; of a whole `RiskChecks.check` around it; and of `PnlBook.add_fill`, what
the observer does per new fill. Run it on two checkouts to compare (the old lookup has no live sources).

    .venv/bin/python scripts/bench_reference.py
"""

from __future__ import annotations

import inspect
import itertools
import sys
import timeit
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from risk_harness import BTC, RiskHarness  # the router core wired as the gateway wires it, on fake clocks

from fixgw.model.enums import OrdType, Side
from fixgw.model.orders import NewOrder

SOURCES = {"sources": {name: {"kind": "binance_book_ticker", "instruments": {"BTC/USD": name}}
                       for name in ("a", "b", "c")}}
ORDER = NewOrder(cl_ord_id="X", instrument_id="BTC/USD", side=Side.BUY, order_qty="1", ord_type=OrdType.LIMIT,
                 price="65000", account="ACC1")


def best_us(function: object, number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def main() -> int:
    live = "marketdata" in inspect.signature(RiskHarness).parameters
    cases = [("no price at all", RiskHarness(), ()),
             ("static (configured) price", RiskHarness({"instruments": {"BTC/USD": {"reference_price": "65000"}}}),
              ())]
    if live:
        cases.append(("3 live sources", RiskHarness(None, SOURCES), ("a", "b", "c")))
    for name, harness, sources in cases:
        engine = harness.engine
        for source in sources:
            engine.market.references.offer_raw(source, "BTC/USD", bid="64990", ask="65010")
        lookup = best_us(lambda e=engine: e._reference("BTC/USD"), 20_000)
        check = best_us(lambda e=engine: e.check("EMS1", ORDER, BTC, "PB"), 20_000)
        print(f"{name:27s} reference lookup {lookup:6.2f} us   whole RiskChecks.check {check:6.2f} us")
    if not live:
        return 0
    from fixgw.marketdata.pnl import PnlBook, Trade

    book = PnlBook(datetime(2026, 1, 1, tzinfo=UTC), lambda instrument: "USD")
    start = datetime(2026, 1, 2, tzinfo=UTC)
    trades = [Trade(Side.BUY if i % 2 else Side.SELL, Decimal(1), Decimal(65000 + i % 7),
                    start + timedelta(microseconds=i)) for i in range(100_000)]
    numbers = itertools.count()

    def add() -> None:
        i = next(numbers)
        book.add_fill(f"o{i % 100}", ("ACC1", "BTC/USD", "PB"), trades[i].side, f"e{i}", trades[i])

    per_fill = timeit.timeit(add, number=100_000) / 100_000 * 1e6
    print(f"P&L: one new fill booked (PnlBook.add_fill) {per_fill:.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
