"""The plain records the journal reads and writes, and the batch one router pass produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fixgw.model.errors import FixgwError
from fixgw.model.orders import Fill
from fixgw.model.state import Order


class JournalError(FixgwError):
    """The journal could not do what was asked (database unreachable, constraint, bad record); nothing written."""


@dataclass(slots=True)
class MessageRecord:
    """One FIX (or bridged REST) message as sent or received, raw text included."""

    session: str
    direction: str  # "in" | "out"
    msg_type: str
    raw: str
    at: datetime
    order_id: str | None = None
    cl_ord_id: str | None = None
    seq_num: int | None = None


@dataclass(slots=True)
class VenueWireRecord:
    """One REST request to a venue and its answer (or failure), secrets already masked: the venue wire archive."""

    venue: str
    at: datetime
    method: str
    endpoint: str
    """Method and path template ("GET /v1/orders/{id}")."""
    path: str
    status: int | None
    latency_us: int
    route: str
    attempt: int
    exchange: str
    """JSON: {"request": {"headers", "query", "body"}, "response": {"headers", "body"} or {"error"}}."""


@dataclass(slots=True)
class EventRecord:
    """One state change of an order of record: the event, the status it led to, and why."""

    order_id: str
    event: str
    status: str
    at: datetime
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class JournalBatch:
    """Everything one router pass produced; the journal writes it in one transaction (group commit)."""

    orders: dict[str, Order] = field(default_factory=dict)
    """Snapshots of the orders of record, by order id (the last one put wins)."""
    events: list[EventRecord] = field(default_factory=list)
    fills: list[tuple[str, Fill]] = field(default_factory=list)
    """(order_id, fill); a fill already journaled (same venue and exec id) is skipped, not an error."""
    messages: list[MessageRecord] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    """Small key/value state (kill switch, ...); the last value wins."""
    venue_wire: list[VenueWireRecord] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.orders or self.events or self.fills or self.messages or self.state or self.venue_wire)


class FencedError(FixgwError):
    """This node no longer holds the HA lease at the epoch it writes with: nothing was written, and it must stop
    sending at once (another node is active). Not a JournalError: a retry can never succeed."""
