"""What one pass of the router core produces: journal rows, reports for EMS sessions, commands for venues.

The engine journals everything in `Effects` in one group commit, then sends (persist before send).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fixgw.model.events import EventName
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    Fill,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    utc_now,
)
from fixgw.model.state import Order

VenueCommand = NewOrder | CancelOrder | ReplaceOrder | StatusRequest | MassStatusRequest
EmsReport = ExecutionEvent | CancelRejectEvent


@dataclass(slots=True)
class OrderEventRecord:
    order_id: str
    event: EventName
    status: str
    at: datetime
    detail: dict[str, str]


class RouterObserver(Protocol):
    def on_order_event(self, fx: Effects, order: Order, event: EventName, detail: Mapping[str, str]) -> None:
        """Called on the router thread as each order event is recorded, after the order changed (risk state)."""

    def on_venue_error(self, venue: str, error: str) -> None:
        """Called on the router thread when handling input from a venue raised an unexpected error."""


@dataclass(slots=True)
class Effects:
    orders: dict[str, Order] = field(default_factory=dict)
    events: list[OrderEventRecord] = field(default_factory=list)
    fills: list[tuple[str, Fill]] = field(default_factory=list)
    to_ems: list[tuple[str, EmsReport, str | None]] = field(default_factory=list)
    """(EMS session, report, order_id) - sent after the journal commit."""
    to_venue: list[tuple[str, VenueCommand, str]] = field(default_factory=list)
    """(venue, command, order_id) - sent after the journal commit (order_id "" for a MassStatusRequest)."""
    state: dict[str, str] = field(default_factory=dict)
    observer: RouterObserver | None = None

    def touch(self, order: Order, event: EventName, **detail: object) -> None:
        self.orders[order.order_id] = order
        record = OrderEventRecord(order.order_id, event, order.status.value, utc_now(),
                                  {k: str(v) for k, v in detail.items() if v is not None})
        self.events.append(record)
        if self.observer is not None:
            self.observer.on_order_event(self, order, event, record.detail)

    def is_empty(self) -> bool:
        return not (self.orders or self.events or self.fills or self.to_ems or self.to_venue or self.state)
