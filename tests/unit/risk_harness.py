"""A router core with the risk engine wired in exactly as the gateway wires it, on fake clocks (sans-I/O)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fixgw.marketdata.settings import MarketDataConfig
from fixgw.model.enums import AssetClass, ExecType, OrdStatus, OrdType, Side
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import ExecutionEvent, NewOrder, ReplaceOrder
from fixgw.model.state import Order
from fixgw.risk.checks import RiskChecks
from fixgw.risk.settings import RiskConfig
from fixgw.router.book import OrderBook
from fixgw.router.core import EmsPolicy, RouterCore
from fixgw.router.effects import Effects
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable
from fixgw.router.rules import RouteMatch, RouteRule, RoutingConfig

D = Decimal
T0 = datetime(2031, 3, 14, 15, 9, 26, tzinfo=UTC)

AAPL = Instrument(id="AAPL", asset_class=AssetClass.EQUITY, currency="USD", tick_size=D("0.01"), lot_size=D("1"))
GME = Instrument(id="GME", asset_class=AssetClass.EQUITY, currency="USD", tick_size=D("0.01"), lot_size=D("1"))
BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=D("0.01"), lot_size=D("0.0001"))
ROUTING = RoutingConfig(rules=[RouteRule(name="crypto", match=RouteMatch(asset_class=[AssetClass.CRYPTO_SPOT]),
                                         destination="PB")], default="BRK")


class RiskHarness:
    def __init__(self, risk: dict[str, Any] | None = None, marketdata: dict[str, Any] | None = None) -> None:
        self.now = T0
        self.mono = 1000.0
        self.engine = RiskChecks(RiskConfig.model_validate(risk or {}),
                                 marketdata=MarketDataConfig.model_validate(marketdata or {}),
                                 clock=lambda: self.now, monotonic=lambda: self.mono)
        self.book = OrderBook()
        self.core = RouterCore(book=self.book, routes=RouteTable(ROUTING), ids=IdFactory(run_id=3),
                               symbols=SymbolMaster([AAPL, GME, BTC]), ems_policies={"EMS2": EmsPolicy()},
                               is_connected=lambda _venue: True, checks=[self.engine.check],
                               replace_checks=[self.engine.check_replace], observer=self.engine)
        self._ids = itertools.count(1)
        self._exec_ids = itertools.count(1)

    def call(self, handler: Callable[..., object], *args: object) -> Effects:
        fx = self.core.effects()
        handler(*args, fx)
        return fx

    def tick(self) -> Effects:
        return self.call(self.engine.on_tick, self.core)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += timedelta(seconds=seconds)

    # EMS side
    def new(self, cl_ord_id: str | None = None, *, session: str = "EMS1", **terms: Any) -> Effects:
        fields: dict[str, Any] = {"instrument_id": "AAPL", "side": Side.BUY, "order_qty": "100",
                                  "ord_type": OrdType.LIMIT, "price": "100", "account": "ACC1"}
        fields.update(terms)
        if fields["ord_type"] is OrdType.MARKET:
            fields.pop("price", None)
        command = NewOrder(cl_ord_id=cl_ord_id or f"C{next(self._ids)}", **fields)
        return self.call(self.core.on_new_order, session, command)

    def replace(self, order: Order, qty: str, price: str | None, *, ord_type: OrdType = OrdType.LIMIT,
                session: str = "EMS1") -> Effects:
        command = ReplaceOrder(cl_ord_id=f"R{next(self._ids)}", orig_cl_ord_id=order.cl_ord_id,
                               instrument_id=order.instrument_id, side=order.side, order_qty=qty, ord_type=ord_type,
                               price=price, account=order.account)
        return self.call(self.core.on_replace, session, command)

    # venue side
    def report(self, order: Order, exec_type: ExecType, status: OrdStatus, **fields: Any) -> Effects:
        event = ExecutionEvent(exec_id=f"V{next(self._exec_ids)}", exec_type=exec_type, ord_status=status,
                               cl_ord_id=order.venue_cl_ord_ids[-1], order_id=f"B-{order.order_id}",
                               transact_time=self.now, **fields)
        assert order.venue is not None
        return self.call(self.core.on_venue_execution, order.venue, event)

    def ack(self, order: Order) -> Effects:
        return self.report(order, ExecType.NEW, OrdStatus.NEW)

    def fill(self, order: Order, qty: str, price: str) -> Effects:
        cum = order.cum_qty + D(qty)
        status = OrdStatus.FILLED if cum >= order.order_qty else OrdStatus.PARTIALLY_FILLED
        return self.report(order, ExecType.TRADE, status, last_qty=qty, last_px=price, cum_qty=cum)

    def reject(self, order: Order) -> Effects:
        return self.report(order, ExecType.REJECTED, OrdStatus.REJECTED, text="no")

    # setup helpers
    def last_order(self) -> Order:
        return max(self.book, key=lambda order: int(order.order_id.rsplit("-", 1)[1]))

    def open_order(self, **terms: Any) -> Order:
        fx = self.new(**terms)
        assert fx.to_venue, denial_text(fx)
        order = self.last_order()
        self.ack(order)
        return order

    def filled_order(self, qty: str, price: str = "100", **terms: Any) -> Order:
        order = self.open_order(order_qty=qty, price=price, **terms)
        self.fill(order, qty, price)
        return order


def denial(fx: Effects) -> ExecutionEvent | None:
    """The rejected ExecutionReport the EMS gets for a denied new order, None when the order went out."""
    rejects = [report for _s, report, _o in fx.to_ems
               if isinstance(report, ExecutionEvent) and report.exec_type is ExecType.REJECTED]
    assert bool(rejects) != bool(fx.to_venue), "an order is either sent or denied"
    return rejects[0] if rejects else None


def denial_text(fx: Effects) -> str:
    found = denial(fx)
    return "" if found is None else found.text or ""
