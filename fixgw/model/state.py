"""The order state machine: one table of (status, event) -> status, and the order of record it governs.

Targets that depend on quantities or history are markers, resolved by `apply`:
BY_QUANTITY (FILLED when leaves is 0, else PARTIALLY_FILLED when anything filled, else NEW),
KEEP_OR_FILLED (stay in a pending or closed status unless the fill completes the order) and
PREVIOUS (back to the status held before a cancel/replace request, refreshed from quantities).
Anything not in the table raises InvalidTransition and leaves the order untouched.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from fixgw.model.decimals import ZERO, Dec, to_decimal
from fixgw.model.enums import OrdStatus, OrdType, Side, TimeInForce
from fixgw.model.errors import InvalidTransition, OverfillError
from fixgw.model.orders import Fill, utc_now


class OrderEvent(str, Enum):
    DENY = "deny"                            # our own validation or risk refused it; nothing sent
    OUTCOME_UNKNOWN = "outcome_unknown"      # a send timed out / the link dropped: venue outcome unknown
    ACK = "ack"                              # venue accepted (ExecType NEW)
    REJECT = "reject"                        # venue rejected (ExecType REJECTED)
    FILL = "fill"                            # a trade
    CANCEL_REQUESTED = "cancel_requested"
    CANCELED = "canceled"                    # solicited or unsolicited
    CANCEL_REJECTED = "cancel_rejected"
    REPLACE_REQUESTED = "replace_requested"
    REPLACED = "replaced"
    REPLACE_REJECTED = "replace_rejected"
    EXPIRE = "expire"
    DONE_FOR_DAY = "done_for_day"
    TRADE_CANCEL = "trade_cancel"            # a bust
    TRADE_CORRECT = "trade_correct"
    FOUND_LATE = "found_late"                # an order rejected as "not placed" turned up live at its venue


class Derived(str, Enum):
    BY_QUANTITY = "by_quantity"
    KEEP_OR_FILLED = "keep_or_filled"
    PREVIOUS = "previous"
    KEEP = "keep"


Target = OrdStatus | Derived

S = OrdStatus
E = OrderEvent
D = Derived

_LIVE = (S.NEW, S.PARTIALLY_FILLED)
_PENDING = (S.PENDING_CANCEL, S.PENDING_REPLACE)
_OPENING = (S.PENDING_NEW, S.UNKNOWN)
_CLOSED_WITH_FILLS = (S.CANCELED, S.EXPIRED, S.DONE_FOR_DAY)


def _rows() -> dict[tuple[OrdStatus, OrderEvent], Target]:
    table: dict[tuple[OrdStatus, OrderEvent], Target] = {}

    def put(statuses: tuple[OrdStatus, ...], event: OrderEvent, target: Target) -> None:
        for status in statuses:
            table[(status, event)] = target

    put((S.PENDING_NEW,), E.DENY, S.DENIED)
    put((S.PENDING_NEW,), E.OUTCOME_UNKNOWN, S.UNKNOWN)
    put(_PENDING, E.OUTCOME_UNKNOWN, D.KEEP)
    put((S.UNKNOWN,), E.OUTCOME_UNKNOWN, D.KEEP)
    put(_OPENING, E.ACK, S.NEW)
    put(_LIVE + _PENDING, E.ACK, D.KEEP)            # a late or repeated ack changes nothing
    put(_OPENING, E.REJECT, S.REJECTED)
    # The one way out of a final status: a REST create rejected as "not placed" (absent for its whole settle
    # window) that the venue committed after all. The router applies it only to a report marked `found_late`.
    put((S.REJECTED,), E.FOUND_LATE, S.NEW)
    put(_OPENING + _LIVE, E.FILL, D.BY_QUANTITY)
    put(_PENDING + _CLOSED_WITH_FILLS, E.FILL, D.KEEP_OR_FILLED)   # a late fill after a cancel is applied
    put(_OPENING + _LIVE, E.CANCEL_REQUESTED, S.PENDING_CANCEL)
    put(_OPENING + _LIVE + _PENDING, E.CANCELED, S.CANCELED)
    put((S.CANCELED,), E.CANCELED, D.KEEP)
    put((S.PENDING_CANCEL,), E.CANCEL_REJECTED, D.PREVIOUS)
    put((S.FILLED, *_CLOSED_WITH_FILLS, *_LIVE), E.CANCEL_REJECTED, D.KEEP)
    put(_LIVE, E.REPLACE_REQUESTED, S.PENDING_REPLACE)
    put((S.PENDING_REPLACE,), E.REPLACED, D.BY_QUANTITY)
    put((S.PENDING_REPLACE,), E.REPLACE_REJECTED, D.PREVIOUS)
    put((S.FILLED, *_CLOSED_WITH_FILLS, *_LIVE), E.REPLACE_REJECTED, D.KEEP)
    put(_OPENING + _LIVE + _PENDING, E.EXPIRE, S.EXPIRED)
    put(_LIVE + _PENDING, E.DONE_FOR_DAY, S.DONE_FOR_DAY)
    put((*_LIVE, S.FILLED), E.TRADE_CANCEL, D.BY_QUANTITY)
    put(_PENDING, E.TRADE_CANCEL, D.KEEP_OR_FILLED)    # a bust does not answer the outstanding request
    put(_CLOSED_WITH_FILLS, E.TRADE_CANCEL, D.KEEP)
    put((*_LIVE, S.FILLED), E.TRADE_CORRECT, D.BY_QUANTITY)
    put(_PENDING, E.TRADE_CORRECT, D.KEEP_OR_FILLED)
    put(_CLOSED_WITH_FILLS, E.TRADE_CORRECT, D.KEEP)
    return table


TRANSITIONS: Final[dict[tuple[OrdStatus, OrderEvent], Target]] = _rows()


def transition(status: OrdStatus, event: OrderEvent, order_id: str | None = None) -> Target:
    """The table's target for (status, event); InvalidTransition when the pair is not in the table."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event, order_id) from None


class PendingRequest(BaseModel):
    """A cancel or replace in flight: the EMS's ids, ours at the venue, and (for a replace) the new terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str  # "cancel" | "replace"
    ems_cl_ord_id: str
    venue_cl_ord_id: str
    order_qty: Dec | None = None
    price: Dec | None = None
    stop_price: Dec | None = None
    ord_type: OrdType | None = None
    time_in_force: TimeInForce | None = None


class Order(BaseModel):
    """The order of record: one per EMS order, owned by the router core (single writer)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    order_id: str
    ems_session: str
    cl_ord_id: str
    orig_cl_ord_id: str | None = None
    cl_ord_id_chain: list[str] = Field(default_factory=list)
    account: str | None = None
    instrument_id: str
    side: Side
    ord_type: OrdType
    order_qty: Dec
    price: Dec | None = None
    stop_price: Dec | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    status: OrdStatus = OrdStatus.PENDING_NEW
    status_before_request: OrdStatus | None = None
    venue: str | None = None
    venue_cl_ord_id: str | None = None
    venue_order_id: str | None = None
    fills: dict[str, Fill] = Field(default_factory=dict)
    voided_exec_ids: list[str] = Field(default_factory=list)
    """ExecIDs of fills busted or replaced by a correction: a resend of one is not applied again."""
    pending: PendingRequest | None = None
    """The cancel or replace the EMS asked for and the venue has not answered yet."""
    venue_cl_ord_ids: list[str] = Field(default_factory=list)
    """Every outbound ClOrdID used for this order at its venue (new, cancels, replaces), oldest first."""
    text: str | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def cum_qty(self) -> Decimal:
        return sum((fill.qty for fill in self.fills.values()), ZERO)

    @property
    def leaves_qty(self) -> Decimal:
        if self.status.is_terminal:
            return ZERO
        return max(self.order_qty - self.cum_qty, ZERO)

    @property
    def avg_px(self) -> Decimal:
        cum = self.cum_qty
        if cum == 0:
            return ZERO
        notional = sum((fill.qty * fill.price for fill in self.fills.values()), ZERO)
        return _avg(notional, cum)

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def quantity_status(self) -> OrdStatus:
        cum = self.cum_qty
        if cum >= self.order_qty:
            return OrdStatus.FILLED
        return OrdStatus.PARTIALLY_FILLED if cum > 0 else OrdStatus.NEW


def _avg(notional: Decimal, qty: Decimal) -> Decimal:
    # Average price keeps the canonical scale; rounding is half-even like a venue's.
    from fixgw.model.decimals import SCALE

    return to_decimal((notional / qty).quantize(Decimal(1).scaleb(-SCALE)))


def _resolve(order: Order, target: Target, *, now_status: OrdStatus) -> OrdStatus:
    if isinstance(target, OrdStatus):
        return target
    if target is Derived.KEEP:
        return now_status
    if target is Derived.BY_QUANTITY:
        return order.quantity_status()
    if target is Derived.KEEP_OR_FILLED:
        return OrdStatus.FILLED if order.cum_qty >= order.order_qty else now_status
    # PREVIOUS: back to what the order was before the request, refreshed from what has filled since.
    previous = order.status_before_request or OrdStatus.NEW
    if previous in _LIVE or order.cum_qty > 0:   # a fill proves the venue holds the order
        return order.quantity_status()
    return previous


def apply(order: Order, event: OrderEvent, *, fill: Fill | None = None, at: datetime | None = None) -> bool:
    """Apply one event to the order of record. Returns False when a fill was already applied (a replay).

    Validates everything before mutating: on any error the order is exactly as it was.
    """
    if event is OrderEvent.FILL and fill is not None and (
            fill.exec_id in order.fills or fill.exec_id in order.voided_exec_ids):
        return False    # a replay, e.g. a PossResend of the fill that completed the order
    target = transition(order.status, event, order.order_id)
    if event is OrderEvent.FILL:
        if fill is None:
            raise ValueError("a FILL event needs its fill")
        if order.cum_qty + fill.qty > order.order_qty:
            raise OverfillError(
                f"order {order.order_id}: fill {fill.exec_id} of {fill.qty} exceeds leaves "
                f"{order.order_qty - order.cum_qty}"
            )
        order.fills[fill.exec_id] = fill
    previous_status = order.status
    order.status = _resolve(order, target, now_status=previous_status)
    if event in (OrderEvent.CANCEL_REQUESTED, OrderEvent.REPLACE_REQUESTED):
        order.status_before_request = previous_status
    elif event in (OrderEvent.CANCEL_REJECTED, OrderEvent.REPLACE_REJECTED, OrderEvent.REPLACED):
        order.status_before_request = None
    order.updated_at = at or utc_now()
    return True


def remove_fill(order: Order, exec_id: str, *, at: datetime | None = None) -> Fill:
    """A bust (TRADE_CANCEL): drop the referenced fill and re-derive the status."""
    target = transition(order.status, OrderEvent.TRADE_CANCEL, order.order_id)
    if exec_id not in order.fills:
        raise InvalidTransition(order.status, f"trade_cancel of unknown exec {exec_id}", order.order_id)
    busted = order.fills.pop(exec_id)
    order.voided_exec_ids.append(exec_id)
    order.status = _resolve(order, target, now_status=order.status)
    order.updated_at = at or utc_now()
    return busted


def correct_fill(order: Order, exec_id: str, corrected: Fill, *, at: datetime | None = None) -> None:
    """A correction (TRADE_CORRECT): replace the referenced fill's quantity/price."""
    target = transition(order.status, OrderEvent.TRADE_CORRECT, order.order_id)
    if exec_id not in order.fills:
        raise InvalidTransition(order.status, f"trade_correct of unknown exec {exec_id}", order.order_id)
    if corrected.exec_id != exec_id and corrected.exec_id in order.fills:
        raise InvalidTransition(order.status, f"trade_correct onto existing exec {corrected.exec_id}", order.order_id)
    others = order.cum_qty - order.fills[exec_id].qty
    if others + corrected.qty > order.order_qty:
        raise OverfillError(f"order {order.order_id}: correction of {exec_id} overfills the order")
    del order.fills[exec_id]
    if corrected.exec_id != exec_id:
        order.voided_exec_ids.append(exec_id)
    order.fills[corrected.exec_id] = corrected
    order.status = _resolve(order, target, now_status=order.status)
    order.updated_at = at or utc_now()


def amend(order: Order, *, cl_ord_id: str, order_qty: Decimal, price: Decimal | None,
          stop_price: Decimal | None = None, time_in_force: TimeInForce | None = None) -> None:
    """Apply the terms of an accepted replace, then the REPLACED event."""
    if order_qty < order.cum_qty:
        raise OverfillError(f"order {order.order_id}: new qty {order_qty} is below cum qty {order.cum_qty}")
    transition(order.status, OrderEvent.REPLACED, order.order_id)
    order.orig_cl_ord_id = order.cl_ord_id
    order.cl_ord_id = cl_ord_id
    order.cl_ord_id_chain.append(cl_ord_id)
    order.order_qty = order_qty
    order.price = price
    order.stop_price = stop_price
    if time_in_force is not None:
        order.time_in_force = time_in_force
    apply(order, OrderEvent.REPLACED)
