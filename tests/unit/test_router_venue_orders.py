"""RouterCore.on_venue_order: an order the venue placed itself (a margin liquidation) is booked for the EMS
session, acknowledged and filled as reported, nothing sent; fills are applied once; our own orders are left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from test_router_core import Harness

from fixgw.model.enums import ExecType, OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.orders import ExecutionEvent, Fill, NewOrder

D = Decimal
T = datetime(2026, 12, 7, tzinfo=UTC)


def liquidation(cl_ord_id: str = "liquidation-1") -> NewOrder:
    return NewOrder(cl_ord_id=cl_ord_id, instrument_id="BTC/USD", side=Side.SELL, order_qty=D(5),
                    ord_type=OrdType.MARKET, time_in_force=TimeInForce.IOC, account="ACC1", transact_time=T)


def fill(exec_id: str, qty: str) -> Fill:
    return Fill(exec_id=exec_id, venue="PB", qty=D(qty), price=D(49_000), time=T)


def test_a_venue_order_is_booked_acknowledged_and_filled_once() -> None:
    h = Harness()
    text = "placed by PB itself"
    fx = h.call(h.core.on_venue_order, "PB", "EMS1", liquidation(), "V-LIQ", [fill("f1", "2")], text)
    assert not fx.to_venue                                   # nothing is sent anywhere but to the EMS
    reports = [report for _session, report, _id in fx.to_ems if isinstance(report, ExecutionEvent)]
    assert [(r.exec_type, r.ord_status) for r in reports] == [(ExecType.NEW, OrdStatus.NEW),
                                                             (ExecType.TRADE, OrdStatus.PARTIALLY_FILLED)]
    assert all(r.cl_ord_id == "liquidation-1" and r.account == "ACC1" for r in reports)
    [order] = [o for o in h.book if o.cl_ord_id == "liquidation-1"]
    assert (order.venue, order.venue_order_id, order.ems_session, order.text) == ("PB", "V-LIQ", "EMS1", text)
    again = h.call(h.core.on_venue_order, "PB", "EMS1", liquidation(), "V-LIQ", [fill("f1", "2"), fill("f2", "3")],
                   text)
    trades = [r for _s, r, _i in again.to_ems if isinstance(r, ExecutionEvent)]
    assert [(r.exec_type, r.ord_status, r.last_qty) for r in trades] == [(ExecType.TRADE, OrdStatus.FILLED, D(3))]
    assert h.order(order.order_id).cum_qty == D(5)


def test_our_own_orders_are_left_to_their_own_reports() -> None:
    h = Harness()
    h.new("C1", instrument_id="BTC/USD", order_qty="1", price="50000.00")
    [ours] = list(h.book)
    h.ack(ours.order_id)
    assert ours.venue_cl_ord_id is not None
    fx = h.call(h.core.on_venue_order, "PB", "EMS1", liquidation(ours.venue_cl_ord_id), f"V-{ours.order_id}",
                [fill("x1", "1")], "not ours?")
    assert not fx.to_ems and h.order(ours.order_id).cum_qty == 0
