"""One order as the bridge tracks it, and the canonical execution events it produces.

Cumulative quantity and average price come from the de-duplicated fills we have seen, never from the venue's
summary fields; "filled" is decided from quantities.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fixgw.model.enums import ExecType, OrdRejReason, OrdStatus
from fixgw.model.instruments import Instrument
from fixgw.model.orders import CancelOrder, ExecutionEvent, NewOrder, utc_now
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

TERMINAL_EXEC_TYPES = {
    OrdStatus.CANCELED: ExecType.CANCELED,
    OrdStatus.EXPIRED: ExecType.EXPIRED,
    OrdStatus.REJECTED: ExecType.REJECTED,
}


@dataclass
class TrackedOrder:
    order: NewOrder
    instrument: Instrument
    client_order_id: str
    submitted_at: datetime
    view: VenueOrderView | None = None
    outcome_unknown: bool = False
    recovered: bool = False
    """Adopted from the journal or found by a status lookup after a restart, not submitted by this process."""
    sends: int = 0
    last_send_at: float = 0.0
    """Monotonic time of the last send: a create is not called absent until `create_settle_s` after it."""
    unknown_reason: str = ""
    not_placed: bool = False
    """Reported to the EMS as not placed; still looked up a while in case it turns up (then adopted)."""
    seen_trade_ids: set[str] = field(default_factory=set)
    cum_qty: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    final_reported: bool = False
    cancel: CancelOrder | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    status_seq: int = 0
    synced_at: float = 0.0
    """Monotonic time of its last refresh from the venue (poll or pushed update): the poll takes the stalest."""

    @property
    def venue_order_id(self) -> str | None:
        return self.view.venue_order_id if self.view else None

    @property
    def avg_px(self) -> Decimal:
        return self.notional / self.cum_qty if self.cum_qty else Decimal(0)

    @property
    def quantity_status(self) -> OrdStatus:
        if self.cum_qty >= self.order.order_qty:
            return OrdStatus.FILLED
        return OrdStatus.PARTIALLY_FILLED if self.cum_qty > 0 else OrdStatus.NEW

    @property
    def current_status(self) -> OrdStatus:
        if self.not_placed:
            return OrdStatus.REJECTED
        if self.view is None:
            return OrdStatus.UNKNOWN if self.outcome_unknown else OrdStatus.PENDING_NEW
        if self.view.status in TERMINAL_EXEC_TYPES and self.final_reported:
            return self.view.status
        return self.quantity_status

    def add_fill(self, fill: VenueFill) -> bool:
        """Applies a fill once; False when its trade id was already seen."""
        if fill.trade_id in self.seen_trade_ids:
            return False
        self.seen_trade_ids.add(fill.trade_id)
        self.cum_qty += fill.qty
        self.notional += fill.qty * fill.price
        return True

    def event(self, exec_id: str, exec_type: ExecType, ord_status: OrdStatus, **extra: object) -> ExecutionEvent:
        order = self.order
        cancel = self.cancel if exec_type is ExecType.CANCELED else None
        fields: dict[str, object] = {
            "exec_id": exec_id,
            "exec_type": exec_type,
            "ord_status": ord_status,
            "cl_ord_id": cancel.cl_ord_id if cancel else order.cl_ord_id,
            "orig_cl_ord_id": cancel.orig_cl_ord_id if cancel else None,
            "order_id": self.venue_order_id,
            "instrument_id": order.instrument_id,
            "side": order.side,
            "account": order.account,
            "ord_type": order.ord_type,
            "order_qty": order.order_qty,
            "price": order.price,
            "time_in_force": order.time_in_force,
            "cum_qty": self.cum_qty,
            "leaves_qty": Decimal(0) if ord_status.is_terminal else max(Decimal(0), order.order_qty - self.cum_qty),
            "avg_px": self.avg_px,
            "transact_time": utc_now(),
        }
        fields.update(extra)
        return ExecutionEvent.model_validate(fields)

    def trade_event(self, fill: VenueFill, venue: str) -> ExecutionEvent:
        return self.event(
            fill.trade_id,
            ExecType.TRADE,
            self.quantity_status,
            last_qty=fill.qty,
            last_px=fill.price,
            commission=fill.commission,
            last_mkt=venue,
            transact_time=fill.time or utc_now(),
        )


def denied_event(order: NewOrder, reason: str, rej_reason: OrdRejReason = OrdRejReason.OTHER) -> ExecutionEvent:
    """Refused before anything was sent (unknown symbol, not representable at the venue)."""
    return ExecutionEvent(
        exec_id=f"denied:{order.cl_ord_id}",
        exec_type=ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        cl_ord_id=order.cl_ord_id,
        instrument_id=order.instrument_id,
        side=order.side,
        order_qty=order.order_qty,
        cum_qty=Decimal(0),
        leaves_qty=Decimal(0),
        avg_px=Decimal(0),
        ord_rej_reason=rej_reason,
        text=f"not sent: {reason}",
        transact_time=utc_now(),
    )
