"""The order state machine: every (status, event) pair either lands where the table says or raises a typed
error leaving the order exactly as it was; quantities, not ExecTypes, decide "filled"."""

from __future__ import annotations

from decimal import Decimal
from itertools import count, product
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fixgw.model.enums import OrdStatus, OrdType, Side
from fixgw.model.errors import FixgwError, InvalidTransition, OverfillError
from fixgw.model.orders import Fill
from fixgw.model.state import (
    TRANSITIONS,
    Derived,
    Order,
    OrderEvent,
    amend,
    apply,
    correct_fill,
    remove_fill,
)

S = OrdStatus
E = OrderEvent

OPENING = {S.PENDING_NEW, S.UNKNOWN}
LIVE = {S.NEW, S.PARTIALLY_FILLED}
PENDING = {S.PENDING_CANCEL, S.PENDING_REPLACE}
BY_QUANTITY = {S.NEW, S.PARTIALLY_FILLED, S.FILLED}
REQUEST_SOURCES = sorted({s for (s, e) in TRANSITIONS if e in (E.CANCEL_REQUESTED, E.REPLACE_REQUESTED)})

_exec_ids = count()


def new_order(qty: int | str = 10, **fields: Any) -> Order:
    return Order(order_id="ORD-1", ems_session="EMS1", cl_ord_id="C1", instrument_id="AAPL", side=Side.BUY,
                 ord_type=OrdType.LIMIT, order_qty=qty, price="100.25", **fields)


def a_fill(qty: int | str, exec_id: str | None = None, price: str = "100.25") -> Fill:
    return Fill(exec_id=exec_id or f"X{next(_exec_ids)}", venue="BRK", qty=qty, price=price)


def possible_targets(status: OrdStatus, event: OrderEvent, before_request: OrdStatus | None) -> set[OrdStatus]:
    """Every status the table allows `apply` to land in from (status, event), whatever the quantities."""
    target = TRANSITIONS[(status, event)]
    if isinstance(target, OrdStatus):
        return {target}
    return {
        Derived.KEEP: {status},
        Derived.BY_QUANTITY: BY_QUANTITY,
        Derived.KEEP_OR_FILLED: {status, S.FILLED},
        Derived.PREVIOUS: BY_QUANTITY | {before_request or S.NEW},
    }[target]


@st.composite
def orders_in(draw: st.DrawFn, status: OrdStatus) -> Order:
    """An order in `status` with any fills that fit its quantity and any pre-request status."""
    qty = draw(st.integers(min_value=1, max_value=1000))
    order = new_order(qty, status=status, status_before_request=draw(st.sampled_from([None, *REQUEST_SOURCES])))
    remaining = qty
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        if remaining == 0:
            break
        part = draw(st.integers(min_value=1, max_value=remaining))
        order.fills[f"F{i}"] = a_fill(part, exec_id=f"F{i}")
        remaining -= part
    return order


@st.composite
def fills_for(draw: st.DrawFn, order: Order) -> Fill:
    """A fresh fill (possibly an overfill) or a replay of one already applied."""
    if order.fills and draw(st.booleans()):
        return draw(st.sampled_from(list(order.fills.values())))
    qty = draw(st.integers(min_value=1, max_value=int(order.order_qty) + 2))
    return a_fill(qty, exec_id=f"NEW{draw(st.integers(0, 9))}")


@pytest.mark.parametrize(("status", "event"), list(product(OrdStatus, OrderEvent)),
                         ids=lambda v: v.name)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_status_event_pair_lands_in_the_table_or_raises_without_mutation(
    status: OrdStatus, event: OrderEvent, data: st.DataObject
) -> None:
    order = data.draw(orders_in(status))
    fill = data.draw(fills_for(order)) if event is E.FILL else None
    before = order.model_dump()
    cum_before = order.cum_qty
    in_table = (status, event) in TRANSITIONS
    try:
        applied = apply(order, event, fill=fill)
    except InvalidTransition:
        assert not in_table
        assert order.model_dump() == before
        return
    except OverfillError:
        assert in_table and fill is not None and cum_before + fill.qty > order.order_qty
        assert order.model_dump() == before
        return
    if not applied:     # the only no-op: a fill already applied
        assert fill is not None and fill.exec_id in before["fills"]
        assert order.model_dump() == before
        return
    assert in_table
    assert order.status in possible_targets(status, event, before["status_before_request"])


@pytest.mark.parametrize("status", list(OrdStatus), ids=lambda v: v.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_busts_and_corrections_in_every_status_follow_the_table_or_leave_the_order_untouched(
    status: OrdStatus, data: st.DataObject
) -> None:
    order = data.draw(orders_in(status))
    exec_id = data.draw(st.sampled_from([*order.fills, "UNKNOWN-EXEC"]))
    bust = data.draw(st.booleans())
    before = order.model_dump()
    event = E.TRADE_CANCEL if bust else E.TRADE_CORRECT
    try:
        if bust:
            remove_fill(order, exec_id)
        else:
            correct_fill(order, exec_id, a_fill(data.draw(st.integers(1, int(order.order_qty) + 1))))
    except (InvalidTransition, OverfillError):
        assert order.model_dump() == before
        return
    assert (status, event) in TRANSITIONS and exec_id in before["fills"]
    assert order.status in possible_targets(status, event, before["status_before_request"])
    assert order.cum_qty <= order.order_qty


def test_table_covers_each_event_and_only_real_statuses() -> None:
    events_in_table = {event for (_, event) in TRANSITIONS}
    assert events_in_table == set(OrderEvent)
    # REPLACED is reported on the wire as an ExecType; the order of record never rests in it.
    assert not any(target is S.REPLACED for target in TRANSITIONS.values())


# --- the life of an order, event by event -------------------------------------------------------------------


class OrderLife(RuleBasedStateMachine):
    """Random event sequences from PENDING_NEW, checked against a reference of what has filled."""

    def __init__(self) -> None:
        super().__init__()
        self.order = new_order(100)
        self.filled: dict[str, Decimal] = {}       # reference: exec_id -> qty of every fill in force
        self.requested_from: OrdStatus | None = None
        self._fills = 0  # ExecIDs from the machine itself: a replayed example must draw the same ones

    def new_fill(self, qty: int) -> Fill:
        self._fills += 1
        return a_fill(qty, exec_id=f"L{self._fills:06d}")

    def step(self, action: Any) -> bool:
        """Run one action; on a typed error the order must be exactly as before. True when it applied."""
        before = self.order.model_dump()
        try:
            action()
        except FixgwError:
            assert self.order.model_dump() == before
            return False
        return True

    def plain(self, event: OrderEvent) -> None:
        status = self.order.status
        if self.step(lambda: apply(self.order, event)):
            assert (status, event) in TRANSITIONS
            if event in (E.CANCEL_REQUESTED, E.REPLACE_REQUESTED):
                self.requested_from = status
        else:
            assert (status, event) not in TRANSITIONS

    @rule(event=st.sampled_from([E.ACK, E.REJECT, E.DENY, E.OUTCOME_UNKNOWN, E.CANCEL_REQUESTED, E.CANCELED,
                                 E.REPLACE_REQUESTED, E.EXPIRE, E.DONE_FOR_DAY]))
    def event(self, event: OrderEvent) -> None:
        self.plain(event)

    @rule(event=st.sampled_from([E.CANCEL_REJECTED, E.REPLACE_REJECTED]))
    def request_rejected(self, event: OrderEvent) -> None:
        status = self.order.status
        self.plain(event)
        pending = S.PENDING_CANCEL if event is E.CANCEL_REJECTED else S.PENDING_REPLACE
        if status is pending:
            assert self.requested_from is not None
            if self.requested_from in LIVE or self.order.cum_qty > 0:
                assert self.order.status is self.order.quantity_status()
            else:
                assert self.order.status is self.requested_from
        elif (status, event) in TRANSITIONS:
            assert self.order.status is status

    @rule(qty=st.integers(min_value=1, max_value=60))
    def fill(self, qty: int) -> None:
        status, cum, fill = self.order.status, self.order.cum_qty, self.new_fill(qty)
        applied = self.step(lambda: apply(self.order, E.FILL, fill=fill))
        assert applied == ((status, E.FILL) in TRANSITIONS and cum + qty <= self.order.order_qty)
        if not applied:
            return
        self.filled[fill.exec_id] = fill.qty
        if self.order.cum_qty == self.order.order_qty:
            assert self.order.status is S.FILLED         # even from PENDING_CANCEL or CANCELED
        elif status in PENDING or status in (S.CANCELED, S.EXPIRED, S.DONE_FOR_DAY):
            assert self.order.status is status           # a late fill is applied; the status stays
        else:
            assert self.order.status is S.PARTIALLY_FILLED

    @precondition(lambda self: self.filled)
    @rule(data=st.data())
    def replay_fill(self, data: st.DataObject) -> None:
        fill = self.order.fills[data.draw(st.sampled_from(sorted(self.filled)))]
        before = self.order.model_dump()
        assert apply(self.order, E.FILL, fill=fill) is False
        assert self.order.model_dump() == before

    @precondition(lambda self: self.filled)
    @rule(data=st.data())
    def bust(self, data: st.DataObject) -> None:
        exec_id = data.draw(st.sampled_from(sorted(self.filled)))
        status = self.order.status
        if self.step(lambda: remove_fill(self.order, exec_id)):
            del self.filled[exec_id]
            if status in LIVE or status is S.FILLED:
                assert self.order.status is self.order.quantity_status()
            else:
                assert self.order.status is status

    @precondition(lambda self: self.filled)
    @rule(data=st.data(), qty=st.integers(min_value=1, max_value=60))
    def correct(self, data: st.DataObject, qty: int) -> None:
        exec_id = data.draw(st.sampled_from(sorted(self.filled)))
        status, corrected = self.order.status, self.new_fill(qty)
        others = sum(self.filled.values()) - self.filled[exec_id]
        applied = self.step(lambda: correct_fill(self.order, exec_id, corrected))
        if others + qty > self.order.order_qty:
            assert not applied
        if applied:
            del self.filled[exec_id]
            self.filled[corrected.exec_id] = corrected.qty
            if status in LIVE or status is S.FILLED:
                assert self.order.status is self.order.quantity_status()

    @rule(qty=st.integers(min_value=1, max_value=150))
    def replace(self, qty: int) -> None:
        status, old_cl_ord_id = self.order.status, self.order.cl_ord_id
        new_cl_ord_id = f"C{len(self.order.cl_ord_id_chain) + 2}"
        if self.step(lambda: amend(self.order, cl_ord_id=new_cl_ord_id, order_qty=Decimal(qty), price=None)):
            assert status is S.PENDING_REPLACE and qty >= sum(self.filled.values())
            assert (self.order.cl_ord_id, self.order.orig_cl_ord_id) == (new_cl_ord_id, old_cl_ord_id)
            assert self.order.cl_ord_id_chain[-1] == new_cl_ord_id
            assert self.order.status is self.order.quantity_status()

    @invariant()
    def quantities_add_up(self) -> None:
        order = self.order
        assert order.cum_qty == sum(self.filled.values(), Decimal(0))
        assert order.cum_qty <= order.order_qty
        if order.is_open:
            assert order.cum_qty + order.leaves_qty == order.order_qty
            assert order.cum_qty < order.order_qty          # a complete order is never left open
        else:
            assert order.leaves_qty == 0

    @invariant()
    def status_agrees_with_quantities(self) -> None:
        order = self.order
        if order.status in OPENING or order.status is S.NEW:
            assert order.cum_qty == 0
        if order.status is S.PARTIALLY_FILLED:
            assert 0 < order.cum_qty < order.order_qty
        if order.status in PENDING:
            assert order.status_before_request is not None   # the request is outstanding until answered


TestOrderLife = OrderLife.TestCase
TestOrderLife.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


# --- named cases ---------------------------------------------------------------------------------------------


def test_fill_completing_the_quantity_gives_filled_even_from_pending_cancel() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.CANCEL_REQUESTED)
    apply(order, E.FILL, fill=a_fill(4))
    assert order.status is S.PENDING_CANCEL
    apply(order, E.FILL, fill=a_fill(6))
    assert (order.status, order.cum_qty, order.leaves_qty) == (S.FILLED, 10, 0)


def test_late_fill_after_cancel_is_applied_and_the_order_stays_canceled() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.CANCELED)
    assert apply(order, E.FILL, fill=a_fill(3, price="99.5")) is True
    assert (order.status, order.cum_qty, order.avg_px) == (S.CANCELED, 3, Decimal("99.5"))


def test_replaying_a_fill_changes_nothing_even_the_one_that_completed_the_order() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    first, last = a_fill(4), a_fill(6)
    apply(order, E.FILL, fill=first)
    assert apply(order, E.FILL, fill=first) is False
    apply(order, E.FILL, fill=last)
    before = order.model_dump()
    assert apply(order, E.FILL, fill=last) is False    # a PossResend of the last fill is not a protocol error
    assert order.model_dump() == before


@pytest.mark.parametrize(("request_event", "reject_event"), [(E.CANCEL_REQUESTED, E.CANCEL_REJECTED),
                                                               (E.REPLACE_REQUESTED, E.REPLACE_REJECTED)])
@pytest.mark.parametrize("filled_first", [0, 3])
def test_request_reject_returns_the_order_to_its_previous_status(
    request_event: OrderEvent, reject_event: OrderEvent, filled_first: int
) -> None:
    order = new_order(10)
    apply(order, E.ACK)
    if filled_first:
        apply(order, E.FILL, fill=a_fill(filled_first))
    previous = order.status
    apply(order, request_event)
    assert order.status in PENDING
    apply(order, reject_event)
    assert order.status is previous and order.status_before_request is None


def test_cancel_reject_before_the_ack_returns_to_pending_new_unless_something_filled() -> None:
    order = new_order(10)
    apply(order, E.CANCEL_REQUESTED)
    apply(order, E.CANCEL_REJECTED)
    assert order.status is S.PENDING_NEW
    apply(order, E.CANCEL_REQUESTED)
    apply(order, E.FILL, fill=a_fill(2))
    apply(order, E.CANCEL_REJECTED)
    assert order.status is S.PARTIALLY_FILLED      # a fill proves the venue has the order


def test_bust_and_correction_rederive_the_status_from_quantity() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.FILL, fill=a_fill(4, exec_id="A"))
    apply(order, E.FILL, fill=a_fill(6, exec_id="B"))
    assert order.status is S.FILLED
    assert remove_fill(order, "B").qty == 6
    assert (order.status, order.cum_qty, order.leaves_qty) == (S.PARTIALLY_FILLED, 4, 6)
    correct_fill(order, "A", a_fill(10, exec_id="A2"))
    assert (order.status, list(order.fills)) == (S.FILLED, ["A2"])
    remove_fill(order, "A2")
    assert order.status is S.NEW


def test_bust_while_a_cancel_is_pending_keeps_it_pending() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.FILL, fill=a_fill(4, exec_id="A"))
    apply(order, E.CANCEL_REQUESTED)
    remove_fill(order, "A")
    assert order.status is S.PENDING_CANCEL
    apply(order, E.CANCEL_REJECTED)
    assert order.status is S.NEW


def test_correction_onto_another_fills_exec_id_is_refused() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.FILL, fill=a_fill(3, exec_id="A"))
    apply(order, E.FILL, fill=a_fill(3, exec_id="B"))
    before = order.model_dump()
    with pytest.raises(InvalidTransition):
        correct_fill(order, "A", a_fill(1, exec_id="B"))
    assert order.model_dump() == before


@pytest.mark.parametrize("action", ["fill", "correct", "amend"])
def test_overfill_raises_without_mutation(action: str) -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.FILL, fill=a_fill(7, exec_id="A"))
    if action == "amend":
        apply(order, E.REPLACE_REQUESTED)
    before = order.model_dump()
    with pytest.raises(OverfillError):
        if action == "fill":
            apply(order, E.FILL, fill=a_fill(4))
        elif action == "correct":
            correct_fill(order, "A", a_fill(11))
        else:
            amend(order, cl_ord_id="C2", order_qty=Decimal(6), price=None)
    assert order.model_dump() == before


def test_fill_event_without_its_fill_is_refused() -> None:
    order = new_order(10)
    before = order.model_dump()
    with pytest.raises(ValueError, match="needs its fill"):
        apply(order, E.FILL)
    assert order.model_dump() == before


def test_replace_records_the_clordid_chain() -> None:
    order = new_order(10)
    apply(order, E.ACK)
    apply(order, E.REPLACE_REQUESTED)
    amend(order, cl_ord_id="C2", order_qty=Decimal(20), price=Decimal("101"))
    assert (order.status, order.cl_ord_id, order.orig_cl_ord_id, order.cl_ord_id_chain) == (S.NEW, "C2", "C1", ["C2"])
    assert (order.order_qty, order.leaves_qty) == (20, 20)


def test_resend_of_a_busted_fill_is_not_applied_again() -> None:
    from fixgw.model.orders import Fill
    from fixgw.model.state import Order, OrderEvent, apply, correct_fill, remove_fill

    order = Order(order_id="V1", ems_session="E", cl_ord_id="C", instrument_id="AAPL", side="1", ord_type="2",
                  order_qty="100", price="10")
    apply(order, OrderEvent.ACK)
    apply(order, OrderEvent.FILL, fill=Fill(exec_id="X1", venue="v", qty="40", price="10"))
    remove_fill(order, "X1")
    assert order.cum_qty == 0
    assert apply(order, OrderEvent.FILL, fill=Fill(exec_id="X1", venue="v", qty="40", price="10")) is False
    assert order.cum_qty == 0
    apply(order, OrderEvent.FILL, fill=Fill(exec_id="X2", venue="v", qty="30", price="10"))
    correct_fill(order, "X2", Fill(exec_id="X3", venue="v", qty="20", price="10"))
    assert apply(order, OrderEvent.FILL, fill=Fill(exec_id="X2", venue="v", qty="30", price="10")) is False
    assert order.cum_qty == 20
