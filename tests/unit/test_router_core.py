"""Sans-I/O tests of the router core: canonical commands and venue events in, `Effects` out.

Every handler call goes through `Harness.call`, which also checks persist-before-send on that pass's effects:
an order command leaving for a venue belongs to an order of record in the same journal batch with its outbound
ClOrdID already recorded, and every state-changing report to an EMS has its order and an event journaled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import (
    AssetClass,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
)
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from fixgw.model.state import Order
from fixgw.router.book import OrderBook
from fixgw.router.core import (
    STATUS_RETRY_SECONDS,
    STATUS_SWEEP_BATCH,
    Denial,
    EmsPolicy,
    PreTradeCheck,
    RouterCore,
)
from fixgw.router.effects import Effects, EmsReport
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable
from fixgw.router.rules import RouteMatch, RouteRule, RoutingConfig

D = Decimal
S = OrdStatus
X = ExecType

AAPL = Instrument(id="AAPL", asset_class=AssetClass.EQUITY, currency="USD", tick_size=D("0.01"), lot_size=D("1"))
BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=D("0.01"), lot_size=D("0.00000001"))
BOND = Instrument(id="US91282CJL54", asset_class=AssetClass.FIXED_INCOME, currency="USD",
                  tick_size=D("0.0078125"), lot_size=D("1000"))

ROUTING = RoutingConfig(rules=[
    RouteRule(name="crypto", match=RouteMatch(asset_class=[AssetClass.CRYPTO_SPOT]), destination="PB"),
    RouteRule(name="equities", match=RouteMatch(asset_class=[AssetClass.EQUITY]), destination="BRK", backup="BRK2"),
])  # no default route: fixed income has nowhere to go

POLICIES = {
    "EMS1": EmsPolicy(allowed_accounts=frozenset({"ACC1", "ACC2"}), cancel_on_disconnect=True),
    "EMS2": EmsPolicy(),
}

T0 = datetime(2031, 3, 14, 15, 9, 26, tzinfo=UTC)   # the tick's clock, deliberately far from wall time


def limit_check(session: str, order: NewOrder, instrument: Instrument, venue: str) -> Denial | None:
    if order.order_qty > 1000:
        return Denial(OrdRejReason.ORDER_EXCEEDS_LIMIT, f"order qty {fmt_decimal(order.order_qty)} exceeds the "
                                                        f"1000 limit for {venue}")
    return None


def new_order(cl_ord_id: str = "C1", **terms: Any) -> NewOrder:
    fields: dict[str, Any] = {"instrument_id": "AAPL", "side": Side.BUY, "order_qty": "100",
                              "ord_type": OrdType.LIMIT, "price": "100.00", "account": "ACC1"}
    fields.update(terms)
    return NewOrder(cl_ord_id=cl_ord_id, **fields)


def assert_persist_before_send(fx: Effects) -> None:
    for venue, command, order_id in fx.to_venue:
        if isinstance(command, (StatusRequest, MassStatusRequest)):
            continue
        journaled = fx.orders.get(order_id)
        assert journaled is not None, f"{command!r} would leave before its order is journaled"
        assert journaled.venue == venue
        assert command.cl_ord_id in journaled.venue_cl_ord_ids, "outbound ClOrdID not on the journaled order"
    for _session, report, order_id in fx.to_ems:
        if order_id is None or (isinstance(report, ExecutionEvent) and report.is_status_response):
            continue
        assert order_id in fx.orders, f"report {report!r} for an order missing from the journal batch"
        assert any(record.order_id == order_id for record in fx.events)


class Harness:
    """One RouterCore with two EMS sessions, a FIX broker (BRK, backup BRK2) and a crypto PB."""

    def __init__(self, *, checks: Sequence[PreTradeCheck] = (limit_check,),
                 routing: RoutingConfig = ROUTING) -> None:
        self.connected = {"BRK": True, "BRK2": True, "PB": True}
        self.book = OrderBook()
        self.core = RouterCore(book=self.book, routes=RouteTable(routing), ids=IdFactory(run_id=7),
                               symbols=SymbolMaster([AAPL, BTC, BOND]), ems_policies=POLICIES,
                               is_connected=lambda venue: self.connected.get(venue, False), checks=checks)
        self._venue_exec_ids = itertools.count(1)

    def call(self, handler: Callable[..., object], *args: object) -> Effects:
        fx = Effects()
        handler(*args, fx)
        assert_persist_before_send(fx)
        for _session, report, _order_id in fx.to_ems:  # reports are built without validation: they must pass it
            assert type(report).model_validate(report.model_dump()) == report
        return fx

    def order(self, order_id: str) -> Order:
        order = self.book.get(order_id)
        assert order is not None
        return order

    # EMS side
    def new(self, cl_ord_id: str = "C1", *, session: str = "EMS1", **terms: Any) -> Effects:
        return self.call(self.core.on_new_order, session, new_order(cl_ord_id, **terms))

    def cancel(self, cl_ord_id: str, orig: str, *, session: str = "EMS1") -> Effects:
        return self.call(self.core.on_cancel, session, CancelOrder(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, instrument_id="AAPL", side=Side.BUY))

    def replace(self, cl_ord_id: str, orig: str, *, session: str = "EMS1", qty: str = "100",
                price: str = "100.00") -> Effects:
        return self.call(self.core.on_replace, session, ReplaceOrder(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, instrument_id="AAPL", side=Side.BUY, order_qty=qty,
            ord_type=OrdType.LIMIT, price=price))

    def status(self, cl_ord_id: str, *, session: str = "EMS1") -> Effects:
        return self.call(self.core.on_status_request, session, StatusRequest(cl_ord_id=cl_ord_id))

    # venue side: reports carry the order's live outbound ClOrdID unless told otherwise
    def report(self, our_id: str, exec_type: ExecType, ord_status: OrdStatus, **fields: Any) -> Effects:
        order = self.order(our_id)
        fields.setdefault("exec_id", f"VX{next(self._venue_exec_ids)}")
        fields.setdefault("cl_ord_id", order.venue_cl_ord_id)
        fields.setdefault("order_id", f"V-{our_id}")
        venue = fields.pop("venue", order.venue)
        event = ExecutionEvent(exec_type=exec_type, ord_status=ord_status, **fields)
        return self.call(self.core.on_venue_execution, venue, event)

    def ack(self, order_id: str) -> Effects:
        return self.report(order_id, X.NEW, S.NEW)

    def trade(self, order_id: str, qty: str, px: str, *, ord_status: OrdStatus = S.PARTIALLY_FILLED,
              **fields: Any) -> Effects:
        return self.report(order_id, X.TRADE, ord_status, last_qty=qty, last_px=px, **fields)

    def status_answer(self, our_id: str, ord_status: OrdStatus, **fields: Any) -> Effects:
        return self.report(our_id, X.ORDER_STATUS, ord_status, is_status_response=True, **fields)

    def cancel_reject(self, order_id: str, *, response_to: CxlRejResponseTo = CxlRejResponseTo.CANCEL,
                      reason: CxlRejReason = CxlRejReason.TOO_LATE_TO_CANCEL, text: str = "too late") -> Effects:
        order = self.order(order_id)
        assert order.pending is not None and order.venue is not None
        return self.call(self.core.on_venue_cancel_reject, order.venue, CancelRejectEvent(
            cl_ord_id=order.pending.venue_cl_ord_id, orig_cl_ord_id=order.venue_cl_ord_id,
            order_id=f"V-{order_id}", ord_status=S.NEW, response_to=response_to, reason=reason, text=text))

    def live_order(self, cl_ord_id: str = "C1", **terms: Any) -> str:
        """Place and acknowledge an order; its order id."""
        fx = self.new(cl_ord_id, **terms)
        [(_venue, _command, order_id)] = fx.to_venue
        self.ack(order_id)
        return order_id


def only_report(fx: Effects, session: str = "EMS1") -> EmsReport:
    assert len(fx.to_ems) == 1, fx.to_ems
    [(to_session, report, _order_id)] = fx.to_ems
    assert to_session == session
    return report


def only_er(fx: Effects, session: str = "EMS1") -> ExecutionEvent:
    report = only_report(fx, session)
    assert isinstance(report, ExecutionEvent)
    return report


def only_cancel_reject(fx: Effects, session: str = "EMS1") -> CancelRejectEvent:
    report = only_report(fx, session)
    assert isinstance(report, CancelRejectEvent)
    return report


def only_command(fx: Effects) -> tuple[str, Any]:
    assert len(fx.to_venue) == 1, fx.to_venue
    [(venue, command, _order_id)] = fx.to_venue
    return venue, command


def event_names(fx: Effects) -> list[str]:
    return [record.event for record in fx.events]


def quantities(report: ExecutionEvent) -> tuple[Decimal | None, ...]:
    return report.order_qty, report.cum_qty, report.leaves_qty, report.avg_px


# ---------------------------------------------------------------------------------------------- new orders


def test_new_order_is_journaled_with_its_outbound_clordid_then_sent() -> None:
    h = Harness()
    fx = h.new("C1")
    order = h.order("7-1")
    assert event_names(fx) == ["new", "route"]
    assert fx.orders == {"7-1": order}
    assert (order.status, order.venue, order.venue_cl_ord_id) == (S.PENDING_NEW, "BRK", "7-1.0")
    assert order.venue_cl_ord_ids == ["7-1.0"]
    assert fx.to_venue == [("BRK", new_order("7-1.0"), "7-1")]   # the EMS's terms under our ClOrdID
    assert fx.to_ems == []

    fx = h.new("C2", instrument_id="BTC/USD", order_qty="0.00000001", price="50000.01")
    assert fx.to_venue == [("PB", new_order("7-2.0", instrument_id="BTC/USD", order_qty="0.00000001",
                                            price="50000.01"), "7-2")]


def test_venue_ack_reports_new_to_the_ems_with_our_order_id_once() -> None:
    h = Harness()
    h.new("C1")
    report = only_er(h.ack("7-1"))
    assert (report.exec_type, report.ord_status, report.cl_ord_id, report.order_id) == (X.NEW, S.NEW, "C1", "7-1")
    assert quantities(report) == (100, 0, 100, 0)
    assert h.order("7-1").venue_order_id == "V-7-1"
    assert h.ack("7-1").to_ems == []     # a repeated ack changes nothing


FILL_CASES = [
    pytest.param(
        {}, [("40", "100.10"), ("60", "100.25")],
        [(S.PARTIALLY_FILLED, "40", "60", "100.10"), (S.FILLED, "100", "0", "100.19")], id="equity-two-fills"),
    pytest.param(
        {"order_qty": "3"}, [("1", "100.01"), ("1", "100.02"), ("1", "100.04")],
        [(S.PARTIALLY_FILLED, "1", "2", "100.01"), (S.PARTIALLY_FILLED, "2", "1", "100.015"),
         (S.FILLED, "3", "0", "100.0233333333")], id="equity-avg-at-canonical-scale"),
    pytest.param(
        {"instrument_id": "BTC/USD", "order_qty": "0.3", "price": "50000.02"},
        [("0.1", "50000.01"), ("0.2", "50000.02")],
        [(S.PARTIALLY_FILLED, "0.1", "0.2", "50000.01"), (S.FILLED, "0.3", "0", "50000.0166666667")],
        id="crypto-0.1+0.2"),
    pytest.param(
        {"instrument_id": "BTC/USD", "order_qty": "0.00000003", "price": "50000.00"},
        [("0.00000001", "50000.00"), ("0.00000002", "49999.99")],
        [(S.PARTIALLY_FILLED, "0.00000001", "0.00000002", "50000.00"),
         (S.FILLED, "0.00000003", "0", "49999.9933333333")], id="crypto-one-lot"),
]


@pytest.mark.parametrize(("terms", "fills", "expected"), FILL_CASES)
def test_fills_report_trades_with_quantities_derived_from_fills(
        terms: dict[str, str], fills: list[tuple[str, str]],
        expected: list[tuple[OrdStatus, str, str, str]]) -> None:
    h = Harness()
    order_id = h.live_order("C1", **terms)
    for number, ((qty, px), (status, cum, leaves, avg)) in enumerate(zip(fills, expected, strict=True)):
        # The venue's own cum/leaves/avg are deliberately wrong: ours come from the fills.
        fx = h.trade(order_id, qty, px, exec_id=f"F{number}", cum_qty="0", leaves_qty="999", avg_px="1")
        report = only_er(fx)
        assert (report.exec_type, report.ord_status, report.cl_ord_id) == (X.TRADE, status, "C1")
        assert (report.last_qty, report.last_px) == (D(qty), D(px))
        assert (report.cum_qty, report.leaves_qty, report.avg_px) == (D(cum), D(leaves), D(avg))
        assert report.exec_id == f"{order_id}:F{number}"     # deterministic: a rebuilt report has the same id
        [(fill_order, fill)] = fx.fills
        assert (fill_order, fill.exec_id, fill.qty, fill.price, fill.venue) == (order_id, f"F{number}", D(qty),
                                                                                D(px), h.order(order_id).venue)
    assert h.order(order_id).status is expected[-1][0]


def test_duplicate_fill_with_the_same_venue_exec_id_is_not_reported_twice() -> None:
    h = Harness()
    order_id = h.live_order()
    assert only_er(h.trade(order_id, "40", "100.00", exec_id="F1")).cum_qty == 40
    fx = h.trade(order_id, "40", "100.00", exec_id="F1", poss_resend=True)
    assert fx.is_empty()
    assert (h.order(order_id).cum_qty, h.order(order_id).status) == (40, S.PARTIALLY_FILLED)


@pytest.mark.parametrize(("qty", "venue_status", "leaves", "expected"), [
    ("100", S.PARTIALLY_FILLED, "0", S.FILLED),        # 39=1 with leaves 0 completes the order
    ("40", S.FILLED, "0", S.PARTIALLY_FILLED),         # 39=2 does not, while quantity is left
])
def test_filled_is_decided_by_quantity_not_by_the_venue_status(qty: str, venue_status: OrdStatus, leaves: str,
                                                               expected: OrdStatus) -> None:
    h = Harness()
    order_id = h.live_order()
    report = only_er(h.trade(order_id, qty, "100.00", ord_status=venue_status, leaves_qty=leaves))
    assert report.ord_status is expected
    assert h.order(order_id).status is expected
    assert report.leaves_qty == 100 - D(qty)


def test_duplicate_clordid_on_a_new_order_is_rejected_and_nothing_is_sent() -> None:
    h = Harness()
    h.new("C1")
    fx = h.new("C1", order_qty="5")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.ord_rej_reason) == (X.REJECTED, S.REJECTED,
                                                                           OrdRejReason.DUPLICATE_ORDER)
    assert (report.cl_ord_id, report.order_id) == ("C1", "NONE")
    assert "C1" in (report.text or "")
    assert fx.to_venue == [] and fx.orders == {}
    assert len(h.book) == 1 and h.order("7-1").order_qty == 100
    # ClOrdIDs are per session: another EMS may use the same one.
    assert [venue for venue, _command, _id in h.new("C1", session="EMS2").to_venue] == ["BRK"]


DENIALS = [
    pytest.param({"account": "ACC9"}, (), OrdRejReason.UNKNOWN_ACCOUNT, "ACC9", id="account-not-allowed"),
    pytest.param({"account": None}, (), OrdRejReason.UNKNOWN_ACCOUNT, "not allowed", id="no-account"),
    pytest.param({"instrument_id": "TSLA"}, (), OrdRejReason.UNKNOWN_SYMBOL, "TSLA", id="unknown-instrument"),
    pytest.param({"order_qty": "10.5"}, (), OrdRejReason.OTHER, "lot size 1", id="qty-not-lot-multiple"),
    pytest.param({"instrument_id": "BTC/USD", "order_qty": "0.000000015"}, (), OrdRejReason.OTHER,
                 "lot size 0.00000001", id="crypto-qty-below-lot"),
    pytest.param({"price": "100.005"}, (), OrdRejReason.INVALID_PRICE_INCREMENT, "tick size", id="price-off-tick"),
    pytest.param({"ord_type": OrdType.STOP_LIMIT, "stop_price": "99.999"}, (),
                 OrdRejReason.INVALID_PRICE_INCREMENT, "99.999", id="stop-price-off-tick"),
    pytest.param({"instrument_id": "US91282CJL54", "order_qty": "1000", "price": "99.5"}, (),
                 OrdRejReason.BROKER_OPTION, "no routing rule", id="no-route"),
    pytest.param({"instrument_id": "BTC/USD"}, ("PB",), OrdRejReason.EXCHANGE_CLOSED, "PB",
                 id="destination-not-connected"),
    pytest.param({}, ("BRK", "BRK2"), OrdRejReason.EXCHANGE_CLOSED, "BRK", id="primary-and-backup-down"),
    pytest.param({"order_qty": "5000"}, (), OrdRejReason.ORDER_EXCEEDS_LIMIT, "exceeds the 1000 limit for BRK",
                 id="pre-trade-check"),
]


@pytest.mark.parametrize(("terms", "down", "reason", "text"), DENIALS)
def test_denied_order_is_journaled_and_rejected_to_the_ems_and_nothing_is_sent(
        terms: dict[str, Any], down: tuple[str, ...], reason: OrdRejReason, text: str) -> None:
    h = Harness()
    for venue in down:
        h.connected[venue] = False
    fx = h.new("C1", **terms)
    assert fx.to_venue == []
    report = only_er(fx)
    assert (report.exec_type, report.ord_status.fix_code, report.ord_rej_reason) == (X.REJECTED, "8", reason)
    assert (report.cl_ord_id, report.order_id, report.leaves_qty) == ("C1", "7-1", 0)
    assert text in (report.text or "")
    order = fx.orders["7-1"]
    assert order.status is S.DENIED and order.venue_cl_ord_ids == []
    assert event_names(fx) == ["new", "deny"]
    assert fx.events[-1].detail["reason"] == reason.name


def test_pre_trade_checks_see_the_routed_venue_and_a_passing_check_lets_the_order_go() -> None:
    seen: list[tuple[str, str, str, str]] = []

    def record(session: str, order: NewOrder, instrument: Instrument, venue: str) -> Denial | None:
        seen.append((session, order.cl_ord_id, instrument.id, venue))
        return None

    h = Harness(checks=[record, limit_check])
    assert [venue for venue, _c, _o in h.new("C1", instrument_id="BTC/USD").to_venue] == ["PB"]
    assert seen == [("EMS1", "C1", "BTC/USD", "PB")]


# ---------------------------------------------------------------------------------------------- cancel


def test_cancel_flow_reports_pending_cancel_then_canceled_with_the_ems_ids() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "40", "100.00")
    fx = h.cancel("C2", "C1")
    pending = only_er(fx)
    assert (pending.exec_type, pending.ord_status, pending.cl_ord_id, pending.orig_cl_ord_id) == (
        X.PENDING_CANCEL, S.PENDING_CANCEL, "C2", "C1")
    venue, command = only_command(fx)
    assert venue == "BRK" and isinstance(command, CancelOrder)
    assert (command.cl_ord_id, command.orig_cl_ord_id, command.order_id) == ("7-1.1", "7-1.0", "V-7-1")

    fx = h.report(order_id, X.CANCELED, S.CANCELED, cl_ord_id="7-1.1", orig_cl_ord_id="7-1.0")
    done = only_er(fx)
    assert (done.exec_type, done.ord_status, done.cl_ord_id, done.orig_cl_ord_id) == (X.CANCELED, S.CANCELED,
                                                                                   "C2", "C1")
    assert quantities(done) == (100, 40, 0, 100)
    order = h.order(order_id)
    assert (order.status, order.pending, order.cl_ord_id) == (S.CANCELED, None, "C2")


@pytest.mark.parametrize(("fills", "previous"), [((), S.NEW), (("40",), S.PARTIALLY_FILLED)])
def test_cancel_rejected_by_the_venue_goes_to_the_ems_and_the_order_back_to_its_status(
        fills: tuple[str, ...], previous: OrdStatus) -> None:
    h = Harness()
    order_id = h.live_order("C1")
    for qty in fills:
        h.trade(order_id, qty, "100.00")
    h.cancel("C2", "C1")
    reject = only_cancel_reject(h.cancel_reject(order_id, text="order is being worked"))
    assert (reject.cl_ord_id, reject.orig_cl_ord_id, reject.order_id) == ("C2", "C1", order_id)
    assert (reject.response_to, reject.reason, reject.text) == (CxlRejResponseTo.CANCEL,
                                                                CxlRejReason.TOO_LATE_TO_CANCEL,
                                                                "order is being worked")
    assert reject.ord_status is previous
    order = h.order(order_id)
    assert (order.status, order.pending, order.cl_ord_id) == (previous, None, "C1")
    # The next cancel goes out against the same live venue order.
    _venue, command = only_command(h.cancel("C3", "C1"))
    assert (command.cl_ord_id, command.orig_cl_ord_id) == ("7-1.2", "7-1.0")


def test_ack_while_a_cancel_is_pending_then_cancel_reject_leaves_the_order_new() -> None:
    h = Harness()
    h.new("C1")
    h.cancel("C2", "C1")                  # before the venue acknowledged the order
    fx = h.ack("7-1")                     # the venue now holds it
    assert fx.to_ems == [] and event_names(fx) == ["ack"]
    assert h.order("7-1").status is S.PENDING_CANCEL
    reject = only_cancel_reject(h.cancel_reject("7-1"))
    assert reject.ord_status is S.NEW
    assert h.order("7-1").status is S.NEW


# ---------------------------------------------------------------------------------------------- replace


def test_replace_flow_applies_new_terms_and_keeps_the_clordid_chain() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "30", "100.00")
    fx = h.replace("C2", "C1", qty="150", price="101.00")
    pending = only_er(fx)
    assert (pending.exec_type, pending.ord_status, pending.cl_ord_id, pending.orig_cl_ord_id) == (
        X.PENDING_REPLACE, S.PENDING_REPLACE, "C2", "C1")
    venue, command = only_command(fx)
    assert venue == "BRK" and isinstance(command, ReplaceOrder)
    assert (command.cl_ord_id, command.orig_cl_ord_id, command.order_id) == ("7-1.1", "7-1.0", "V-7-1")
    assert (command.order_qty, command.price) == (150, D("101.00"))
    assert (h.order(order_id).order_qty, h.order(order_id).price) == (100, D("100.00"))   # not before the venue

    replaced = only_er(h.report(order_id, X.REPLACED, S.PARTIALLY_FILLED, cl_ord_id="7-1.1",
                                orig_cl_ord_id="7-1.0"))
    assert (replaced.exec_type, replaced.ord_status, replaced.cl_ord_id, replaced.orig_cl_ord_id) == (
        X.REPLACED, S.PARTIALLY_FILLED, "C2", "C1")
    assert (replaced.order_qty, replaced.price, replaced.cum_qty, replaced.leaves_qty) == (150, D("101.00"), 30, 120)
    order = h.order(order_id)
    assert (order.cl_ord_id, order.orig_cl_ord_id, order.venue_cl_ord_id) == ("C2", "C1", "7-1.1")
    assert order.cl_ord_id_chain == ["C1", "C2"]

    # The venue reports under the replace's ClOrdID; the EMS may still name the order by its first ClOrdID.
    assert only_er(h.trade(order_id, "20", "101.00", cl_ord_id="7-1.1")).cum_qty == 50
    status = only_er(h.status("C1"))
    assert (status.order_id, status.order_qty, status.cum_qty) == (order_id, 150, 50)
    fx = h.cancel("C3", "C1")
    assert only_er(fx).exec_type is X.PENDING_CANCEL
    _venue, cancel = only_command(fx)
    assert (cancel.cl_ord_id, cancel.orig_cl_ord_id) == ("7-1.2", "7-1.1")   # against the live venue ClOrdID


@pytest.mark.parametrize("how", ["cancel_reject", "execution_report"])
def test_replace_rejected_by_the_venue_keeps_the_old_terms(how: str) -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.replace("C2", "C1", qty="150", price="101.00")
    if how == "cancel_reject":
        fx = h.cancel_reject(order_id, response_to=CxlRejResponseTo.REPLACE, reason=CxlRejReason.BROKER_OPTION,
                             text="no")
    else:
        fx = h.report(order_id, X.REJECTED, S.NEW, cl_ord_id="7-1.1", orig_cl_ord_id="7-1.0", text="no")
    reject = only_cancel_reject(fx)
    assert (reject.cl_ord_id, reject.orig_cl_ord_id, reject.response_to, reject.ord_status) == (
        "C2", "C1", CxlRejResponseTo.REPLACE, S.NEW)
    order = h.order(order_id)
    assert (order.status, order.pending, order.order_qty, order.price) == (S.NEW, None, 100, D("100.00"))
    assert (order.cl_ord_id, order.venue_cl_ord_id) == ("C1", "7-1.0")


def test_replace_below_cum_qty_is_refused_locally() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "60", "100.00")
    fx = h.replace("C2", "C1", qty="50")
    assert fx.to_venue == []
    reject = only_cancel_reject(fx)
    assert (reject.cl_ord_id, reject.response_to) == ("C2", CxlRejResponseTo.REPLACE)
    assert "cum qty 60" in (reject.text or "")
    order = h.order(order_id)
    assert (order.status, order.pending, order.order_qty) == (S.PARTIALLY_FILLED, None, 100)


def test_replace_to_a_qty_that_is_not_a_lot_multiple_is_refused_locally() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    fx = h.replace("C2", "C1", qty="150.5")
    assert fx.to_venue == []
    assert "lot size" in (only_cancel_reject(fx).text or "")
    assert (h.order(order_id).status, h.order(order_id).pending) == (S.NEW, None)


def _unknown(h: Harness) -> tuple[str, str, str]:
    h.live_order("C1")
    return "EMS1", "C9", "NOPE"


def _other_session(h: Harness) -> tuple[str, str, str]:
    h.live_order("C1")
    h.live_order("X1", session="EMS2")
    return "EMS2", "X2", "C1"


def _filled(h: Harness) -> tuple[str, str, str]:
    h.trade(h.live_order("C1"), "100", "100.00")
    return "EMS1", "C9", "C1"


def _filled_while_cancel_pending(h: Harness) -> tuple[str, str, str]:
    order_id = h.live_order("C1")
    h.cancel("C2", "C1")
    h.trade(order_id, "100", "100.00")
    return "EMS1", "C9", "C1"


def _pending(h: Harness) -> tuple[str, str, str]:
    h.live_order("C1")
    h.cancel("C2", "C1")
    return "EMS1", "C9", "C1"


def _duplicate(h: Harness) -> tuple[str, str, str]:
    h.live_order("C1")
    h.live_order("C2")
    return "EMS1", "C2", "C1"


REFUSALS = [
    pytest.param(_unknown, CxlRejReason.UNKNOWN_ORDER, id="unknown-order"),
    pytest.param(_other_session, CxlRejReason.UNKNOWN_ORDER, id="another-sessions-order"),
    pytest.param(_filled, CxlRejReason.TOO_LATE_TO_CANCEL, id="filled"),
    pytest.param(_filled_while_cancel_pending, CxlRejReason.TOO_LATE_TO_CANCEL, id="filled-while-cancel-pending"),
    pytest.param(_pending, CxlRejReason.ALREADY_PENDING, id="request-pending"),
    pytest.param(_duplicate, CxlRejReason.DUPLICATE_CLORDID, id="duplicate-clordid"),
]


@pytest.mark.parametrize("response_to", [CxlRejResponseTo.CANCEL, CxlRejResponseTo.REPLACE])
@pytest.mark.parametrize(("setup", "reason"), REFUSALS)
def test_cancel_or_replace_that_cannot_proceed_gets_a_cancel_reject_and_nothing_is_sent(
        setup: Callable[[Harness], tuple[str, str, str]], reason: CxlRejReason,
        response_to: CxlRejResponseTo) -> None:
    h = Harness()
    session, cl_ord_id, orig = setup(h)
    before = {order.order_id: order.model_dump() for order in h.book}
    if response_to is CxlRejResponseTo.CANCEL:
        fx = h.cancel(cl_ord_id, orig, session=session)
    else:
        fx = h.replace(cl_ord_id, orig, session=session, qty="200")
    assert fx.to_venue == []
    reject = only_cancel_reject(fx, session)
    assert (reject.cl_ord_id, reject.orig_cl_ord_id, reject.response_to, reject.reason) == (
        cl_ord_id, orig, response_to, reason)
    if reason is CxlRejReason.UNKNOWN_ORDER:   # nothing about other sessions' orders leaks
        assert (reject.order_id, reject.ord_status) == ("NONE", S.REJECTED)
        assert fx.orders == {}
    assert {order.order_id: order.model_dump() for order in h.book} == before


# ---------------------------------------------------------------------------------------------- venue events


@pytest.mark.parametrize(("exec_type", "expected"), [
    (X.CANCELED, S.CANCELED), (X.EXPIRED, S.EXPIRED), (X.DONE_FOR_DAY, S.DONE_FOR_DAY)])
def test_unsolicited_close_by_the_venue_is_reported_with_the_fills_kept(exec_type: ExecType,
                                                                        expected: OrdStatus) -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "40", "100.00")
    fx = h.report(order_id, exec_type, expected, text="venue closed it")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.cl_ord_id, report.orig_cl_ord_id) == (exec_type, expected,
                                                                                           "C1", None)
    assert quantities(report) == (100, 40, 0, 100)
    assert report.text == "venue closed it"
    assert h.order(order_id).status is expected
    assert fx.to_venue == []


def test_unsolicited_cancel_while_a_replace_is_pending_also_rejects_the_replace() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.replace("C2", "C1", qty="150")
    fx = h.report(order_id, X.CANCELED, S.CANCELED)
    reports = {type(report).__name__: report for _s, report, _o in fx.to_ems}
    assert set(reports) == {"CancelRejectEvent", "ExecutionEvent"}
    reject, canceled = reports["CancelRejectEvent"], reports["ExecutionEvent"]
    assert isinstance(reject, CancelRejectEvent) and isinstance(canceled, ExecutionEvent)
    assert (reject.cl_ord_id, reject.response_to) == ("C2", CxlRejResponseTo.REPLACE)
    assert (canceled.exec_type, canceled.cl_ord_id) == (X.CANCELED, "C1")
    assert (h.order(order_id).status, h.order(order_id).pending) == (S.CANCELED, None)


def test_bust_removes_the_referenced_fill_and_reopens_the_order() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "40", "100.00", exec_id="F1")
    h.trade(order_id, "60", "101.00", exec_id="F2")
    assert h.order(order_id).status is S.FILLED
    fx = h.report(order_id, X.TRADE_CANCEL, S.PARTIALLY_FILLED, exec_ref_id="F2")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.exec_ref_id) == (X.TRADE_CANCEL, S.PARTIALLY_FILLED,
                                                                          f"{order_id}:F2")
    assert quantities(report) == (100, 40, 60, 100)
    assert list(h.order(order_id).fills) == ["F1"]
    assert event_names(fx) == ["trade_cancel"]


def test_correction_replaces_the_referenced_fill() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "40", "100.00", exec_id="F1")
    fx = h.report(order_id, X.TRADE_CORRECT, S.PARTIALLY_FILLED, exec_id="F1C", exec_ref_id="F1",
                  last_qty="30", last_px="99.50")
    report = only_er(fx)
    assert (report.exec_type, report.exec_id, report.exec_ref_id) == (X.TRADE_CORRECT, f"{order_id}:F1C",
                                                                      f"{order_id}:F1")
    assert (report.last_qty, report.last_px) == (30, D("99.50"))
    assert quantities(report) == (100, 30, 70, D("99.50"))
    assert [(oid, fill.exec_id, fill.qty) for oid, fill in fx.fills] == [(order_id, "F1C", 30)]


def test_late_fill_after_a_cancel_is_applied_and_reported() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.cancel("C2", "C1")
    h.report(order_id, X.CANCELED, S.CANCELED, cl_ord_id="7-1.1", orig_cl_ord_id="7-1.0")
    fx = h.trade(order_id, "25", "99.99", cl_ord_id="7-1.0", exec_id="LATE")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.cl_ord_id) == (X.TRADE, S.CANCELED, "C2")
    assert (report.last_qty, report.cum_qty, report.leaves_qty, report.avg_px) == (25, 25, 0, D("99.99"))
    assert [fill.exec_id for _oid, fill in fx.fills] == ["LATE"]


def test_venue_reject_of_a_new_order_is_reported_as_rejected() -> None:
    h = Harness()
    h.new("C1")
    fx = h.report("7-1", X.REJECTED, S.REJECTED, ord_rej_reason=OrdRejReason.EXCHANGE_CLOSED, text="halted")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.ord_rej_reason, report.text) == (
        X.REJECTED, S.REJECTED, OrdRejReason.EXCHANGE_CLOSED, "halted")
    assert (report.cl_ord_id, report.leaves_qty) == ("C1", 0)
    assert h.order("7-1").status is S.REJECTED


def test_an_order_rejected_not_placed_and_found_late_is_reopened_reported_alerted_and_cancellable() -> None:
    h = Harness()
    alerts: list[tuple[object, ...]] = []
    h.core.alert = lambda *args, **detail: alerts.append(args)
    h.new("C1")
    h.report("7-1", X.REJECTED, S.REJECTED, text="not placed: PB has no order 7-1.0 30 s after the send")
    # A late NEW without the found-late mark stays refused: REJECTED is final for everything else.
    fx = h.report("7-1", X.NEW, S.NEW)
    assert not fx.to_ems and h.order("7-1").status is S.REJECTED
    fx = h.report("7-1", X.NEW, S.NEW, found_late=True, text="found at PB after it was reported not placed")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status, report.cl_ord_id) == (X.NEW, S.NEW, "C1")
    assert "reported not placed" in (report.text or "") and report.leaves_qty == D(100)
    assert [e.event for e in fx.events] == ["found_late"] and len(alerts) == 1 and alerts[0][0] == "found_late"
    assert h.order("7-1").status is S.NEW
    # Live from here: it fills and the EMS can cancel it.
    h.trade("7-1", "40", "100.00")
    fx = h.cancel("C1-X", "C1")
    assert [command for _venue, command, _id in fx.to_venue if isinstance(command, CancelOrder)]
    only_er(h.report("7-1", X.CANCELED, S.CANCELED, cl_ord_id=h.order("7-1").pending.venue_cl_ord_id))  # type: ignore[union-attr]
    assert h.order("7-1").status is S.CANCELED and h.order("7-1").cum_qty == D(40)


def test_report_for_an_unknown_venue_order_is_ignored() -> None:
    h = Harness()
    h.live_order("C1")
    fx = h.call(h.core.on_venue_execution, "BRK", ExecutionEvent(
        exec_id="Z1", exec_type=X.TRADE, ord_status=S.FILLED, cl_ord_id="9-9.0", order_id="V-NOBODY",
        last_qty="1", last_px="1"))
    assert fx.is_empty()
    # Our outbound id at another venue is not this venue's order either.
    fx = h.call(h.core.on_venue_execution, "PB", ExecutionEvent(
        exec_id="Z2", exec_type=X.TRADE, ord_status=S.FILLED, cl_ord_id="7-1.0", last_qty="1", last_px="1"))
    assert fx.is_empty()
    assert h.order("7-1").cum_qty == 0


Offence = Callable[[], Effects]


def _replaced_without_pending(h: Harness, order_id: str) -> Offence:
    return lambda: h.report(order_id, X.REPLACED, S.NEW)


def _ack_of_a_filled_order(h: Harness, order_id: str) -> Offence:
    h.trade(order_id, "100", "100.00")
    return lambda: h.ack(order_id)


def _overfill(h: Harness, order_id: str) -> Offence:
    h.trade(order_id, "60", "100.00")
    return lambda: h.trade(order_id, "60", "100.00")


def _bust_of_an_unknown_trade(h: Harness, order_id: str) -> Offence:
    h.trade(order_id, "60", "100.00", exec_id="F1")
    return lambda: h.report(order_id, X.TRADE_CANCEL, S.NEW, exec_ref_id="F404")


def _reject_of_a_live_order(h: Harness, order_id: str) -> Offence:
    return lambda: h.report(order_id, X.REJECTED, S.REJECTED)


def _trade_without_quantity(h: Harness, order_id: str) -> Offence:
    return lambda: h.report(order_id, X.TRADE, S.PARTIALLY_FILLED, last_px="100.00")


@pytest.mark.parametrize("scenario", [_replaced_without_pending, _ack_of_a_filled_order, _overfill,
                                      _bust_of_an_unknown_trade, _reject_of_a_live_order, _trade_without_quantity])
def test_out_of_table_venue_event_leaves_the_order_unchanged_and_journals_a_protocol_error(
        scenario: Callable[[Harness, str], Offence]) -> None:
    h = Harness()
    order_id = h.live_order("C1")
    offence = scenario(h, order_id)
    before = h.order(order_id).model_dump()
    fx = offence()
    assert h.order(order_id).model_dump() == before
    assert event_names(fx) == ["protocol_error"]
    assert fx.to_ems == [] and fx.to_venue == [] and fx.fills == []


# ---------------------------------------------------------------------------------------------- unknown outcomes


def test_outcome_unknown_is_settled_by_status_requests_without_spam() -> None:
    h = Harness()
    h.new("C1")
    fx = h.call(h.core.on_venue_outcome_unknown, "BRK", "7-1.0", "new", "send timed out")
    assert h.order("7-1").status is S.UNKNOWN
    assert event_names(fx) == ["outcome_unknown"]
    assert fx.to_ems == [] and fx.to_venue == []      # never reported as rejected on a guess

    venue, query = only_command(h.call(h.core.on_tick, T0))
    assert venue == "BRK" and isinstance(query, StatusRequest) and query.cl_ord_id == "7-1.0"
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=1)).to_venue == []
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=STATUS_RETRY_SECONDS - 0.001)).to_venue == []
    h.connected["BRK"] = False
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=STATUS_RETRY_SECONDS + 1)).to_venue == []
    h.connected["BRK"] = True
    _venue, again = only_command(h.call(h.core.on_tick, T0 + timedelta(seconds=STATUS_RETRY_SECONDS + 1)))
    assert isinstance(again, StatusRequest) and again.cl_ord_id == "7-1.0"

    report = only_er(h.status_answer("7-1", S.NEW))
    assert (report.exec_type, report.ord_status, report.cl_ord_id) == (X.NEW, S.NEW, "C1")
    assert h.order("7-1").status is S.NEW
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=60)).to_venue == []


def test_outcome_unknown_after_the_order_was_settled_changes_nothing() -> None:
    h = Harness()
    h.live_order("C1")           # the ack overtook the transport's timeout
    fx = h.call(h.core.on_venue_outcome_unknown, "BRK", "7-1.0", "new", "send timed out")
    assert h.order("7-1").status is S.NEW
    assert fx.to_ems == [] and fx.to_venue == []
    assert event_names(fx) == ["outcome_unknown_ignored"]
    assert h.call(h.core.on_tick, T0).to_venue == []


def test_status_answer_unknown_order_for_a_pending_new_resubmits_once_with_the_same_clordid() -> None:
    h = Harness()
    fx = h.new("C1")
    [(_venue, first, _oid)] = fx.to_venue
    for fx in (h.call(h.core.on_venue_connected, "BRK"), h.call(h.core.on_venue_connected, "BRK")):
        _venue, query = only_command(fx)
        assert isinstance(query, StatusRequest)
    answer = {"ord_rej_reason": OrdRejReason.UNKNOWN_ORDER, "text": "unknown order", "order_id": "NONE"}
    fx = h.status_answer("7-1", S.REJECTED, **answer)
    venue, resubmit = only_command(fx)
    assert venue == "BRK" and isinstance(resubmit, NewOrder)
    assert resubmit == first                         # the same outbound ClOrdID and terms
    assert fx.to_ems == [] and h.order("7-1").status is S.PENDING_NEW
    assert h.order("7-1").venue_cl_ord_ids == ["7-1.0"]
    assert h.status_answer("7-1", S.REJECTED, **answer).to_venue == []      # exactly once


def test_venue_reconnect_queries_every_open_order_there() -> None:
    h = Harness()
    h.new("P1")                                                   # 7-1 PENDING_NEW
    h.live_order("N1")                                            # 7-2 NEW
    h.live_order("K1")                                            # 7-3 PENDING_CANCEL
    h.cancel("K2", "K1")
    h.trade(h.live_order("F1"), "100", "100.00")                  # 7-4 FILLED
    h.new("U1")                                                   # 7-5 UNKNOWN
    h.call(h.core.on_venue_outcome_unknown, "BRK", "7-5.0", "new", "disconnect")
    h.live_order("R1")                                            # 7-6 PENDING_REPLACE
    h.replace("R2", "R1", qty="150")
    h.new("B1", instrument_id="BTC/USD")                          # 7-7 PENDING_NEW at another venue
    h.new("D1", account="ACC9")                                   # 7-8 DENIED
    fx = h.call(h.core.on_venue_connected, "BRK")
    queried = {(venue, command.cl_ord_id) for venue, command, _oid in fx.to_venue
               if isinstance(command, StatusRequest)}
    assert len(fx.to_venue) == len(queried)
    # NEW 7-2 too: a broker that lost its book would otherwise leave it open here for ever (issue 24).
    assert queried == {("BRK", "7-1.0"), ("BRK", "7-2.0"), ("BRK", "7-3.0"), ("BRK", "7-5.0"), ("BRK", "7-6.0")}


def test_cancel_on_disconnect_only_when_the_sessions_policy_says_so() -> None:
    h = Harness()
    h.live_order("A1")                                         # 7-1 EMS1 live
    h.trade(h.live_order("A2"), "100", "100.00")               # 7-2 EMS1 filled
    h.live_order("B1", session="EMS2")                         # 7-3 EMS2 live
    assert h.call(h.core.on_ems_logout, "EMS2").to_venue == []
    assert h.order("7-3").status is S.NEW
    fx = h.call(h.core.on_ems_logout, "EMS1")
    venue, command = only_command(fx)
    assert venue == "BRK" and isinstance(command, CancelOrder)
    assert (command.cl_ord_id, command.orig_cl_ord_id) == ("7-1.1", "7-1.0")
    assert h.order("7-1").status is S.PENDING_CANCEL
    assert (h.order("7-2").status, h.order("7-3").status) == (S.FILLED, S.NEW)


def test_ems_status_request_for_a_known_and_an_unknown_order() -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.trade(order_id, "40", "100.50")
    known = only_er(h.status("C1"))
    assert (known.exec_type, known.ord_status, known.cl_ord_id, known.order_id) == (
        X.ORDER_STATUS, S.PARTIALLY_FILLED, "C1", order_id)
    assert known.is_status_response and quantities(known) == (100, 40, 60, D("100.50"))
    for session in ("EMS1", "EMS2"):                       # EMS2 cannot see EMS1's C1
        unknown = only_er(h.status("C9" if session == "EMS1" else "C1", session=session), session)
        assert (unknown.exec_type, unknown.ord_status, unknown.order_id, unknown.ord_rej_reason) == (
            X.ORDER_STATUS, S.REJECTED, "NONE", OrdRejReason.UNKNOWN_ORDER)
        assert unknown.is_status_response


# ---------------------------------------------------------------------------------------------- ids


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=200))
def test_ids_from_two_run_ids_never_collide(run_a: int, run_b: int) -> None:
    if run_a == run_b:
        run_b += 1
    issued: list[set[str]] = []
    for run in (run_a, run_b):
        ids = IdFactory(run)
        order_ids = [ids.order_id() for _ in range(120)]
        outbound = [IdFactory.next_venue_cl_ord_id(Order(
            order_id=oid, ems_session="E", cl_ord_id="C", instrument_id="AAPL", side=Side.BUY,
            ord_type=OrdType.MARKET, order_qty="1", venue_cl_ord_ids=["x"] * n)) for oid in order_ids[:12]
            for n in range(12)]
        issued.append(set(order_ids) | {ids.exec_id() for _ in range(120)} | set(outbound))
    assert len(issued[0]) == 120 + 120 + 144
    assert issued[0].isdisjoint(issued[1])


def test_id_factory_refuses_a_run_id_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        IdFactory(0)


@pytest.mark.parametrize(("exec_type", "ord_status"), [(X.EXPIRED, S.EXPIRED), (X.DONE_FOR_DAY, S.DONE_FOR_DAY)])
def test_expiry_while_a_replace_is_pending_answers_the_replace(exec_type: ExecType, ord_status: OrdStatus) -> None:
    h = Harness()
    order_id = h.live_order("C1")
    h.replace("C2", "C1", qty="150")
    fx = h.report(order_id, exec_type, ord_status)
    reports = {type(report).__name__: report for _s, report, _o in fx.to_ems}
    reject = reports["CancelRejectEvent"]
    assert isinstance(reject, CancelRejectEvent)
    assert (reject.cl_ord_id, reject.response_to) == ("C2", CxlRejResponseTo.REPLACE)
    assert h.order(order_id).status is ord_status


# ---------------------------------------------------------------------------------------------- unanswered orders


def test_an_order_unanswered_past_the_limit_gets_its_best_known_state_and_an_alert_once() -> None:
    h = Harness()
    alerts: list[tuple[Any, ...]] = []
    h.core.max_unanswered = timedelta(seconds=30)
    h.core.alert = lambda *args, **detail: alerts.append((*args, detail))
    h.new("C1")
    h.new("C2")
    h.call(h.core.on_venue_outcome_unknown, "BRK", "7-2.0", "new", "send timed out")
    assert h.call(h.core.on_tick, T0).to_ems == []                       # first seen
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=29)).to_ems == []
    fx = h.call(h.core.on_tick, T0 + timedelta(seconds=30))
    reports = {report.cl_ord_id: report for _s, report, _o in fx.to_ems}
    assert set(reports) == {"C1", "C2"}
    assert isinstance(reports["C1"], ExecutionEvent)
    assert (reports["C1"].exec_type, reports["C1"].ord_status) == (X.PENDING_NEW, S.PENDING_NEW)
    assert reports["C2"].ord_status is S.UNKNOWN and "BRK" in (reports["C2"].text or "")
    assert "unanswered" in event_names(fx)
    assert sorted(alert[1] for alert in alerts) == ["order:7-1", "order:7-2"]
    assert set(h.core.overdue) == {"7-1", "7-2"}
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=90)).to_ems == []   # once per order
    h.ack("7-1")
    h.call(h.core.on_tick, T0 + timedelta(seconds=91))
    assert set(h.core.overdue) == {"7-2"}                                # settled: no longer counted


def test_an_acknowledged_order_is_never_reported_unanswered() -> None:
    h = Harness()
    h.core.max_unanswered = timedelta(seconds=30)
    h.live_order("C1")
    h.call(h.core.on_tick, T0)
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=60)).to_ems == [] and h.core.overdue == {}


def test_a_command_the_venue_cannot_carry_is_denied_not_left_unknown() -> None:
    h = Harness()
    h.new("C1")
    fx = h.call(h.core.on_venue_refused, "BRK", "7-1", "NewOrder", "no VWAP strategy")
    report = only_er(fx)
    assert (report.exec_type, report.ord_status) == (X.REJECTED, S.DENIED)
    assert "no VWAP strategy" in (report.text or "") and "BRK" in (report.text or "")
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=60)).to_venue == []   # no status queries


def test_a_cancel_the_venue_cannot_carry_is_refused_with_a_cancel_reject() -> None:
    h = Harness()
    h.live_order("C1")
    h.cancel("C1-X", "C1")
    fx = h.call(h.core.on_venue_refused, "BRK", "7-1", "CancelOrder", "no such field")
    [(_s, reject, _o)] = fx.to_ems
    assert isinstance(reject, CancelRejectEvent) and reject.cl_ord_id == "C1-X"
    assert h.order("7-1").status is S.NEW


# ----------------------------------------------------------------------------------- a venue that lost its book


def test_the_status_sweep_after_a_logon_is_paced() -> None:
    h = Harness(checks=())
    for index in range(STATUS_SWEEP_BATCH + 5):
        h.live_order(f"N{index}")
    first = h.call(h.core.on_venue_connected, "BRK").to_venue
    assert len(first) == STATUS_SWEEP_BATCH
    rest = h.call(h.core.on_tick, T0).to_venue
    assert len(rest) == 5 and all(isinstance(command, StatusRequest) for _v, command, _o in rest)
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=1)).to_venue == []


def test_an_acknowledged_order_the_venue_forgot_alerts_then_closes_after_the_grace() -> None:
    h = Harness()
    alerts: list[tuple[Any, ...]] = []
    h.core.alert = lambda *args, **detail: alerts.append((*args, detail))
    h.core.unknown_order_grace = timedelta(seconds=60)
    order_id = h.live_order("N1")
    h.trade(order_id, "10", "100.00")
    unknown = {"ord_rej_reason": OrdRejReason.UNKNOWN_ORDER, "text": "unknown order", "order_id": "NONE"}
    fx = h.status_answer(order_id, S.REJECTED, **unknown)
    assert event_names(fx) == ["unknown_at_venue"] and fx.to_ems == [] and fx.to_venue == []
    assert [alert[:2] for alert in alerts] == [("unknown_at_venue", f"order:{order_id}")]
    h.status_answer(order_id, S.REJECTED, **unknown)                     # asked again: one alert
    assert len(alerts) == 1
    assert h.call(h.core.on_tick, T0).to_ems == []
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=59)).to_ems == []
    report = only_er(h.call(h.core.on_tick, T0 + timedelta(seconds=60)))
    assert (report.exec_type, report.ord_status, report.cum_qty) == (X.CANCELED, S.CANCELED, Decimal(10))
    assert "no longer knows" in (report.text or "")


def test_a_live_report_after_an_unknown_order_answer_keeps_the_order_open() -> None:
    h = Harness()
    h.core.unknown_order_grace = timedelta(seconds=60)
    order_id = h.live_order("N1")
    h.status_answer(order_id, S.REJECTED, ord_rej_reason=OrdRejReason.UNKNOWN_ORDER, text="unknown order")
    h.call(h.core.on_tick, T0)
    h.trade(order_id, "10", "100.00")                                     # the venue knows it after all
    assert h.call(h.core.on_tick, T0 + timedelta(seconds=120)).to_ems == []
    assert h.order(order_id).status is S.PARTIALLY_FILLED


def test_a_venue_that_answers_mass_status_gets_one_request_for_its_acknowledged_orders() -> None:
    h = Harness()
    h.core.mass_status = lambda venue: venue == "BRK"
    h.new("P1")                                                   # 7-1 PENDING_NEW: asked about at once
    h.live_order("N1")                                            # 7-2 NEW
    h.trade(h.live_order("N2"), "10", "100.00")                   # 7-3 PARTIALLY_FILLED
    fx = h.call(h.core.on_venue_connected, "BRK")
    commands = [command for _venue, command, _oid in fx.to_venue]
    assert [type(command) for command in commands] == [StatusRequest, MassStatusRequest]
    assert commands[0].cl_ord_id == "7-1.0"
    assert commands[1].cl_ord_ids == ("7-2.0", "7-3.0")
    assert h.call(h.core.on_tick, T0).to_venue == []              # no per-order sweep behind it
