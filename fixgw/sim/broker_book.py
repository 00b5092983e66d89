"""The simulated FIX broker's order book and the replies it produces, without any I/O.

Requests come in as ordered (tag, value) lists, replies go out as `Reply(session, fields)`; the QuickFIX
shell in fix_broker.py only moves them. Quantities and prices are Decimal end to end. The book keeps its
own tiny Decimal helpers instead of importing fixgw.model, so a bug there cannot hide itself here.

Dialects: FIX 4.2 reports fills as ExecType 1/2 with ExecTransType 0 (New), trade busts and corrections
as ExecTransType 1/2 with ExecRefID, status answers as ExecTransType 3; FIX 4.4 and later use ExecType
F (trade), H (trade cancel), G (trade correct) and I (order status) instead.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from fixgw.fix.fields import Fields

FIX42 = "FIX.4.2"
_NO_ORDER_ID = "NONE"
_AVG_PX_QUANTUM = Decimal("1e-10")

# OrdStatus (39) values
NEW, PARTIALLY_FILLED, FILLED, DONE_FOR_DAY, CANCELED, REPLACED, REJECTED, EXPIRED = (
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "8",
    "C",
)
_TERMINAL = {FILLED, DONE_FOR_DAY, CANCELED, REJECTED, EXPIRED}
_CLOSED = {DONE_FOR_DAY, CANCELED, REJECTED, EXPIRED}  # closed by event, not by quantity

# OrdRejReason (103) and CxlRejReason (102)
REJECT_BROKER_OPTION, REJECT_UNKNOWN_SYMBOL, REJECT_EXCEEDS_LIMIT, REJECT_DUPLICATE = "0", "1", "3", "6"
CXL_TOO_LATE, CXL_UNKNOWN_ORDER, CXL_BROKER_OPTION = "0", "1", "2"
CXL_RESPONSE_TO_CANCEL, CXL_RESPONSE_TO_REPLACE = "1", "2"


class BookError(ValueError):
    """A test asked the simulator for something impossible (unknown order or execution, overfill)."""


def format_decimal(value: Decimal) -> str:
    """FIX text for a Decimal: never an exponent, no trailing zeros ("100", "0.5", "12.345")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def split_quantity(quantity: Decimal, slices: int) -> list[Decimal]:
    """`quantity` in at most `slices` equal parts (whole units of its last digit), the last taking the rest."""
    unit = Decimal(1).scaleb(min(0, int(quantity.normalize().as_tuple().exponent)))
    units = int(quantity / unit)
    slices = max(1, min(slices, units))
    base = units // slices
    parts = [base] * (slices - 1) + [units - base * (slices - 1)]
    return [part * unit for part in parts]


@dataclass(frozen=True)
class Reply:
    """FIX body fields (starting with 35) to send on the session keyed `session`."""

    session: str
    fields: Fields


@dataclass(frozen=True)
class BrokerRules:
    reject_symbols: frozenset[str] = frozenset()
    max_order_qty: Decimal | None = None
    reference_price: Decimal = Decimal("100")


@dataclass(frozen=True)
class OrderSnapshot:
    """A copy of one broker order for tests and tools."""

    order_id: str
    session: str
    cl_ord_id: str
    cl_ord_ids: tuple[str, ...]
    symbol: str
    side: str
    ord_type: str
    order_qty: Decimal
    price: Decimal | None
    status: str
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    exec_ids: tuple[str, ...]


@dataclass(frozen=True)
class ExecutionSnapshot:
    """One standing execution, as the broker's end-of-day statement lists it."""

    exec_id: str
    order_id: str
    cl_ord_id: str
    account: str | None
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    at: datetime


@dataclass
class _Execution:
    exec_id: str
    order_id: str
    qty: Decimal
    price: Decimal
    exec_type_42: str  # "1" partial or "2" fill: FIX 4.2 repeats it on a bust or correction
    active: bool = True
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class _Order:
    order_id: str
    session: str
    begin_string: str
    cl_ord_id: str
    symbol: str
    side: str
    ord_type: str
    order_qty: Decimal
    price: Decimal | None
    account: str | None
    status: str = NEW
    cl_ord_ids: list[str] = field(default_factory=list)
    executions: list[_Execution] = field(default_factory=list)

    @property
    def cum_qty(self) -> Decimal:
        return sum((e.qty for e in self.executions if e.active), Decimal(0))

    @property
    def leaves_qty(self) -> Decimal:
        if self.status in _CLOSED:
            return Decimal(0)
        return max(self.order_qty - self.cum_qty, Decimal(0))

    @property
    def avg_px(self) -> Decimal:
        cum = self.cum_qty
        if not cum:
            return Decimal(0)
        notional = sum((e.qty * e.price for e in self.executions if e.active), Decimal(0))
        return (notional / cum).quantize(_AVG_PX_QUANTUM, rounding=ROUND_HALF_EVEN)

    @property
    def legacy(self) -> bool:
        return self.begin_string == FIX42

    def quantity_status(self) -> str:
        """Status from quantities alone, unless an event (cancel, expiry, ...) closed the order."""
        if self.status in _CLOSED:
            return self.status
        cum = self.cum_qty
        if cum >= self.order_qty:
            return FILLED
        return PARTIALLY_FILLED if cum > 0 else NEW

    def fill_price(self, reference_price: Decimal) -> Decimal:
        return self.price if self.ord_type == "2" and self.price is not None else reference_price


class _Request:
    """First value of each tag of an inbound request (groups are irrelevant to the simulator)."""

    def __init__(self, fields: Sequence[tuple[int, str]]) -> None:
        self._values: dict[int, str] = {}
        for tag, value in fields:
            self._values.setdefault(tag, value)

    def get(self, tag: int) -> str | None:
        return self._values.get(tag)

    def text(self, tag: int) -> str:
        return self._values.get(tag, "")

    def decimal(self, tag: int) -> Decimal | None:
        value = self._values.get(tag)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None


class BrokerBook:
    """Orders of one simulator run. Not thread-safe: the simulator calls it from one worker thread."""

    def __init__(self, rules: BrokerRules, id_prefix: str) -> None:
        self._rules = rules
        self._prefix = id_prefix
        self._order_numbers = itertools.count(1)
        self._exec_numbers = itertools.count(1)
        self._orders: dict[str, _Order] = {}
        self._executions: dict[str, _Execution] = {}
        self._by_cl_ord_id: dict[tuple[str, str], str] = {}  # (session, any ClOrdID of a chain) -> OrderID
        self._new_order_counts: Counter[str] = Counter()
        self._possdup_new_order_counts: Counter[str] = Counter()

    # -- requests from the client ---------------------------------------------------------------

    def on_new_order(
        self, session: str, begin_string: str, fields: Fields, possdup: bool
    ) -> tuple[str | None, list[Reply]]:
        """Accept or reject an order: (the new OrderID or None, replies)."""
        request = _Request(fields)
        cl_ord_id = request.text(11)
        (self._possdup_new_order_counts if possdup else self._new_order_counts)[cl_ord_id] += 1
        if (session, cl_ord_id) in self._by_cl_ord_id:
            if possdup:
                return None, []  # a resend of an order we already have: answering again would duplicate it
            return None, [
                self._reject(session, begin_string, request, REJECT_DUPLICATE, f"duplicate ClOrdID {cl_ord_id}")
            ]
        problem = self._new_order_problem(request)
        if problem is not None:
            return None, [self._reject(session, begin_string, request, *problem)]
        order = _Order(
            order_id=f"{self._prefix}-{next(self._order_numbers)}",
            session=session,
            begin_string=begin_string,
            cl_ord_id=cl_ord_id,
            symbol=request.text(55),
            side=request.text(54),
            ord_type=request.text(40),
            order_qty=request.decimal(38) or Decimal(0),
            price=request.decimal(44),
            account=request.get(1),
            cl_ord_ids=[cl_ord_id],
        )
        self._orders[order.order_id] = order
        self._by_cl_ord_id[(session, cl_ord_id)] = order.order_id
        return order.order_id, [self._report(order, exec_type=NEW)]

    def _new_order_problem(self, request: _Request) -> tuple[str, str] | None:
        """(OrdRejReason, Text) when the order breaks a rule, else None."""
        symbol, ord_type, qty = request.text(55), request.text(40), request.decimal(38)
        if symbol in self._rules.reject_symbols:
            return REJECT_UNKNOWN_SYMBOL, f"symbol {symbol} is not tradable at this broker"
        if qty is None or qty <= 0:
            return REJECT_BROKER_OPTION, "OrderQty must be a positive number"
        if self._rules.max_order_qty is not None and qty > self._rules.max_order_qty:
            limit = format_decimal(self._rules.max_order_qty)
            return REJECT_EXCEEDS_LIMIT, f"order qty {format_decimal(qty)} exceeds max order qty {limit}"
        if ord_type not in ("1", "2"):
            return REJECT_BROKER_OPTION, f"OrdType {ord_type} not supported (market 1 and limit 2 only)"
        price = request.decimal(44)
        if ord_type == "2" and (price is None or price <= 0):
            return REJECT_BROKER_OPTION, "limit order without a positive Price"
        return None

    def on_cancel_request(self, session: str, begin_string: str, fields: Fields) -> list[Reply]:
        request = _Request(fields)
        order, problem = self._target_order(session, request)
        if order is None or problem is not None:
            return [self._cancel_reject(session, request, order, CXL_RESPONSE_TO_CANCEL, problem)]
        orig_cl_ord_id = order.cl_ord_id
        self._take_cl_ord_id(order, request.text(11))
        order.status = CANCELED
        return [self._report(order, exec_type=CANCELED, orig_cl_ord_id=orig_cl_ord_id)]

    def on_replace_request(self, session: str, begin_string: str, fields: Fields) -> list[Reply]:
        request = _Request(fields)
        order, problem = self._target_order(session, request)
        new_qty = request.decimal(38)
        if order is not None and problem is None:
            problem = self._replace_problem(order, request, new_qty)
        if order is None or problem is not None or new_qty is None:
            return [self._cancel_reject(session, request, order, CXL_RESPONSE_TO_REPLACE, problem)]
        orig_cl_ord_id = order.cl_ord_id
        self._take_cl_ord_id(order, request.text(11))
        order.order_qty = new_qty
        order.ord_type = request.get(40) or order.ord_type
        order.price = request.decimal(44) if order.ord_type == "2" else None
        order.status = order.quantity_status()
        # FIX 4.2 announces a replace with OrdStatus 5; 4.4 deprecated it for the order's real status.
        status = REPLACED if order.legacy and order.status != FILLED else order.status
        return [self._report(order, exec_type=REPLACED, status=status, orig_cl_ord_id=orig_cl_ord_id)]

    def _replace_problem(self, order: _Order, request: _Request, new_qty: Decimal | None) -> tuple[str, str] | None:
        if new_qty is None or new_qty <= 0:
            return CXL_BROKER_OPTION, "OrderQty must be a positive number"
        if new_qty < order.cum_qty:
            return CXL_BROKER_OPTION, (
                f"new qty {format_decimal(new_qty)} is below the executed qty {format_decimal(order.cum_qty)}"
            )
        if self._rules.max_order_qty is not None and new_qty > self._rules.max_order_qty:
            return CXL_BROKER_OPTION, f"new qty {format_decimal(new_qty)} exceeds max order qty"
        price = request.decimal(44)
        if (request.get(40) or order.ord_type) == "2" and (price is None or price <= 0):
            return CXL_BROKER_OPTION, "limit order without a positive Price"
        return None

    def on_status_request(self, session: str, begin_string: str, fields: Fields) -> list[Reply]:
        request = _Request(fields)
        order = self._order_by_ref(session, request.get(37), request.text(11))
        extra = [(790, value)] if (value := request.get(790)) and begin_string != FIX42 else []
        if order is None:
            return [self._unknown_order_status(session, begin_string, request, extra)]
        exec_type = order.status if order.legacy else "I"
        return [self._report(order, exec_type=exec_type, exec_trans_type="3", extra=extra)]

    def on_mass_status_request(self, session: str, begin_string: str, fields: Fields) -> list[Reply]:
        """OrderMassStatusRequest (35=AF): one status report (150=I, 584) per order of the session, the last with
        LastRptRequested(912)=Y; with none, one order-less report saying so."""
        request = _Request(fields)
        tag = [(584, request.text(584))]
        orders = [order for order in self._orders.values() if order.session == session]
        if not orders:
            return [Reply(session, [
                (35, "8"), (37, _NO_ORDER_ID), (17, self._next_exec_id()), (150, "I"), (39, REJECTED), (55, "[N/A]"),
                (54, "1"), (151, "0"), (14, "0"), (6, "0"), (60, _transact_time()), (58, "no orders"), *tag,
                (911, "0"), (912, "Y")])]
        total = [(911, str(len(orders)))]
        return [self._report(order, exec_type="I", exec_trans_type="3",
                             extra=[*tag, *total, (912, "Y" if index == len(orders) - 1 else "N")])
                for index, order in enumerate(orders)]

    def _target_order(self, session: str, request: _Request) -> tuple[_Order | None, tuple[str, str] | None]:
        """The order a cancel/replace refers to, and why it cannot be changed (None if it can)."""
        orig, cl_ord_id = request.text(41), request.text(11)
        order = self._order_by_ref(session, request.get(37), orig)
        if order is None:
            return None, (CXL_UNKNOWN_ORDER, f"unknown order {orig}")
        if (session, cl_ord_id) in self._by_cl_ord_id:
            return order, (CXL_BROKER_OPTION, f"duplicate ClOrdID {cl_ord_id}")
        if orig != order.cl_ord_id and request.get(37) != order.order_id:
            return order, (CXL_UNKNOWN_ORDER, f"OrigClOrdID {orig} is not the current ClOrdID {order.cl_ord_id}")
        if order.status in _TERMINAL or order.quantity_status() == FILLED:
            return order, (CXL_TOO_LATE, f"order {order.order_id} is {_STATUS_NAMES[order.status]}")
        return order, None

    # -- broker-initiated events (tests) --------------------------------------------------------

    def next_slice(self, order_id: str, slices: int) -> Decimal | None:
        """Quantity of the next automatic fill, or None when the order is no longer fillable."""
        order = self._orders.get(order_id)
        if order is None or order.status in _TERMINAL or order.leaves_qty <= 0:
            return None
        planned = split_quantity(order.order_qty, slices)
        done = sum(1 for e in order.executions if e.active)
        if done >= len(planned) - 1:
            return order.leaves_qty
        return min(planned[done], order.leaves_qty)

    def fill(self, order_ref: str, qty: Decimal, price: Decimal | None = None) -> tuple[str, list[Reply]]:
        """Execute `qty` at `price` (limit price or reference price by default). A fill after a cancel
        is allowed and reported as-is: tests use it for the late-fill race."""
        order = self._require_order(order_ref)
        if qty <= 0 or order.cum_qty + qty > order.order_qty:
            raise BookError(
                f"cannot fill {format_decimal(qty)} on {order.order_id}: "
                f"{format_decimal(order.cum_qty)} of {format_decimal(order.order_qty)} already executed"
            )
        px = price if price is not None else order.fill_price(self._rules.reference_price)
        execution = self._new_execution(order, qty, px)
        order.status = order.quantity_status()
        exec_type = execution.exec_type_42 if order.legacy else "F"
        return execution.exec_id, [self._report(order, exec_type=exec_type, last=execution)]

    def cancel_unsolicited(self, order_ref: str) -> list[Reply]:
        return self._close(order_ref, CANCELED, "canceled by broker")

    def expire(self, order_ref: str) -> list[Reply]:
        return self._close(order_ref, EXPIRED, "order expired")

    def done_for_day(self, order_ref: str) -> list[Reply]:
        return self._close(order_ref, DONE_FOR_DAY, "done for day")

    def _close(self, order_ref: str, status: str, text: str) -> list[Reply]:
        order = self._require_order(order_ref)
        if order.status in _TERMINAL:
            raise BookError(f"order {order.order_id} is already {_STATUS_NAMES[order.status]}")
        order.status = status
        return [self._report(order, exec_type=status, text=text)]

    def bust(self, exec_id: str) -> list[Reply]:
        """Cancel an execution (trade bust): quantities roll back and a filled order reopens."""
        execution = self._require_execution(exec_id)
        order = self._orders[execution.order_id]
        execution.active = False
        order.status = order.quantity_status()
        if order.legacy:
            return [self._report(order, exec_type=execution.exec_type_42, exec_trans_type="1", ref_exec_id=exec_id)]
        return [self._report(order, exec_type="H", ref_exec_id=exec_id)]

    def correct(self, exec_id: str, qty: Decimal, price: Decimal) -> tuple[str, list[Reply]]:
        """Replace an execution's quantity and price; returns the correction's own ExecID."""
        execution = self._require_execution(exec_id)
        order = self._orders[execution.order_id]
        if qty <= 0 or order.cum_qty - execution.qty + qty > order.order_qty:
            raise BookError(f"cannot correct {exec_id} to {format_decimal(qty)}: more than the order qty")
        execution.active = False
        corrected = self._new_execution(order, qty, price)
        order.status = order.quantity_status()
        if order.legacy:
            reply = self._report(
                order, exec_type=corrected.exec_type_42, exec_trans_type="2", last=corrected, ref_exec_id=exec_id
            )
        else:
            reply = self._report(order, exec_type="G", last=corrected, ref_exec_id=exec_id)
        return corrected.exec_id, [reply]

    # -- views --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, OrderSnapshot]:
        return {order_id: _snapshot(order) for order_id, order in self._orders.items()}

    def executions(self) -> list[ExecutionSnapshot]:
        """Every execution not busted or corrected away, oldest first (the broker's trade record)."""
        found = []
        for execution in self._executions.values():
            if execution.active:
                order = self._orders[execution.order_id]
                found.append(ExecutionSnapshot(execution.exec_id, order.order_id, order.cl_ord_ids[0], order.account,
                                               order.symbol, order.side, execution.qty, execution.price,
                                               execution.at))
        return found

    def new_order_counts(self, include_possdup: bool = False) -> dict[str, int]:
        counts = Counter(self._new_order_counts)
        if include_possdup:
            counts.update(self._possdup_new_order_counts)
        return dict(counts)

    def order_ids(self) -> list[str]:
        return list(self._orders)

    # -- helpers ------------------------------------------------------------------------------

    def _order_by_ref(self, session: str | None, order_id: str | None, cl_ord_id: str) -> _Order | None:
        if order_id and order_id in self._orders:
            order = self._orders[order_id]
            if session is None or order.session == session:
                return order
        if session is None:
            matches = [oid for (_, cid), oid in self._by_cl_ord_id.items() if cid == cl_ord_id]
            return self._orders[matches[-1]] if matches else None
        found = self._by_cl_ord_id.get((session, cl_ord_id))
        return self._orders[found] if found else None

    def _require_order(self, order_ref: str) -> _Order:
        order = self._order_by_ref(None, order_ref, order_ref)
        if order is None:
            raise BookError(f"no order with OrderID or ClOrdID {order_ref!r}")
        return order

    def _require_execution(self, exec_id: str) -> _Execution:
        execution = self._executions.get(exec_id)
        if execution is None or not execution.active:
            raise BookError(f"no active execution {exec_id!r}")
        return execution

    def _take_cl_ord_id(self, order: _Order, cl_ord_id: str) -> None:
        order.cl_ord_id = cl_ord_id
        order.cl_ord_ids.append(cl_ord_id)
        self._by_cl_ord_id[(order.session, cl_ord_id)] = order.order_id

    def _next_exec_id(self) -> str:
        return f"{self._prefix}-E{next(self._exec_numbers)}"

    def _new_execution(self, order: _Order, qty: Decimal, price: Decimal) -> _Execution:
        completes = order.cum_qty + qty >= order.order_qty
        execution = _Execution(self._next_exec_id(), order.order_id, qty, price, "2" if completes else "1")
        order.executions.append(execution)
        self._executions[execution.exec_id] = execution
        return execution

    def _report(
        self,
        order: _Order,
        *,
        exec_type: str,
        status: str | None = None,
        exec_trans_type: str = "0",
        last: _Execution | None = None,
        orig_cl_ord_id: str | None = None,
        ref_exec_id: str | None = None,
        text: str | None = None,
        extra: Fields | None = None,
    ) -> Reply:
        fields: Fields = [
            (35, "8"),
            (37, order.order_id),
            (11, order.cl_ord_id),
            (17, last.exec_id if last is not None else self._next_exec_id()),
            (150, exec_type),
            (39, status or order.status),
            (55, order.symbol),
            (54, order.side),
            (38, format_decimal(order.order_qty)),
            (40, order.ord_type),
            (151, format_decimal(order.leaves_qty)),
            (14, format_decimal(order.cum_qty)),
            (6, format_decimal(order.avg_px)),
            (60, _transact_time()),
        ]
        if order.legacy:
            fields.append((20, exec_trans_type))
        if order.price is not None:
            fields.append((44, format_decimal(order.price)))
        if order.account is not None:
            fields.append((1, order.account))
        if last is not None:
            fields += [(32, format_decimal(last.qty)), (31, format_decimal(last.price))]
        if orig_cl_ord_id is not None:
            fields.append((41, orig_cl_ord_id))
        if ref_exec_id is not None:
            fields.append((19, ref_exec_id))
        if text is not None:
            fields.append((58, text))
        fields += extra or []
        return Reply(order.session, fields)

    def _reject(self, session: str, begin_string: str, request: _Request, reason: str, text: str) -> Reply:
        fields = self._orderless_report(begin_string, request, exec_type=REJECTED, exec_trans_type="0")
        return Reply(session, [*fields, (103, reason), (58, text)])

    def _unknown_order_status(self, session: str, begin_string: str, request: _Request, extra: Fields) -> Reply:
        exec_type = REJECTED if begin_string == FIX42 else "I"
        fields = self._orderless_report(begin_string, request, exec_type=exec_type, exec_trans_type="3")
        return Reply(session, [*fields, (58, "unknown order"), *extra])

    def _orderless_report(
        self, begin_string: str, request: _Request, *, exec_type: str, exec_trans_type: str
    ) -> Fields:
        fields: Fields = [
            (35, "8"),
            (37, _NO_ORDER_ID),
            (11, request.text(11)),
            (17, self._next_exec_id()),
            (150, exec_type),
            (39, REJECTED),
            (55, request.text(55)),
            (54, request.text(54)),
            (151, "0"),
            (14, "0"),
            (6, "0"),
            (60, _transact_time()),
        ]
        if (qty := request.get(38)) is not None:
            fields.append((38, qty))
        if begin_string == FIX42:
            fields.append((20, exec_trans_type))
        return fields

    def _cancel_reject(
        self,
        session: str,
        request: _Request,
        order: _Order | None,
        response_to: str,
        problem: tuple[str, str] | None,
    ) -> Reply:
        reason, text = problem or (CXL_BROKER_OPTION, "request refused")
        return Reply(
            session,
            [
                (35, "9"),
                (37, order.order_id if order is not None else _NO_ORDER_ID),
                (11, request.text(11)),
                (41, request.text(41)),
                (39, order.status if order is not None else REJECTED),
                (434, response_to),
                (102, reason),
                (58, text),
            ],
        )


_STATUS_NAMES = {
    NEW: "new",
    PARTIALLY_FILLED: "partially filled",
    FILLED: "filled",
    DONE_FOR_DAY: "done for day",
    CANCELED: "canceled",
    REPLACED: "replaced",
    REJECTED: "rejected",
    EXPIRED: "expired",
}


STATEMENT_COLUMNS = ("RecordType", "ExecID", "OrderID", "ClOrdID", "Account", "Symbol", "Side", "Quantity",
                     "Price", "TradeTime", "Opening")


def statement_csv(executions: Sequence[ExecutionSnapshot]) -> str:
    """The simulated broker's end-of-day statement: one TRD row per execution, then one POS row per symbol
    (net quantity, opening 0: the simulator starts flat). Specs: specs/recon/fix-broker-sim.toml."""
    lines = [",".join(STATEMENT_COLUMNS)]
    positions: dict[str, Decimal] = {}
    for e in executions:
        lines.append(",".join(("TRD", e.exec_id, e.order_id, e.cl_ord_id, e.account or "", e.symbol, e.side,
                               format_decimal(e.qty), format_decimal(e.price),
                               e.at.strftime("%Y%m%d-%H:%M:%S.%f"), "")))
        signed = e.qty if e.side == "1" else -e.qty
        positions[e.symbol] = positions.get(e.symbol, Decimal(0)) + signed
    for symbol, quantity in sorted(positions.items()):
        lines.append(",".join(("POS", "", "", "", "", symbol, "", format_decimal(quantity), "", "", "0")))
    return "\n".join(lines) + "\n"


def _transact_time() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def _snapshot(order: _Order) -> OrderSnapshot:
    return OrderSnapshot(
        order_id=order.order_id,
        session=order.session,
        cl_ord_id=order.cl_ord_id,
        cl_ord_ids=tuple(order.cl_ord_ids),
        symbol=order.symbol,
        side=order.side,
        ord_type=order.ord_type,
        order_qty=order.order_qty,
        price=order.price,
        status=order.status,
        cum_qty=order.cum_qty,
        leaves_qty=order.leaves_qty,
        avg_px=order.avg_px,
        exec_ids=tuple(e.exec_id for e in order.executions if e.active),
    )
