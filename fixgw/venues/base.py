"""The one interface the router sees for every venue, FIX broker session or REST prime broker alike.

Threading contract: the router calls `send_*` from its single owner thread; they must not block on the
network (a REST venue schedules the request on its own event loop). A venue reports back through the
`VenueListener` from whatever thread it runs on; the router hands those calls to its owner thread.

Ids: commands handed to a venue carry the venue-side ids - `cl_ord_id` is our outbound ClOrdID (deterministic,
unique across restarts), `order_id` the venue's order id when known. Events coming back carry them too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)


class CommandKind:
    NEW = "new"
    CANCEL = "cancel"
    REPLACE = "replace"
    STATUS = "status"


class VenueListener(Protocol):
    def on_execution(self, venue: str, event: ExecutionEvent) -> None:
        """An execution report from the venue (ack, fill, cancel, reject, status answer, bust, ...)."""

    def on_cancel_reject(self, venue: str, event: CancelRejectEvent) -> None:
        """The venue refused a cancel or replace."""

    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None:
        """A command's outcome could not be learned (timeout, 5xx, disconnect, retries exhausted).

        The order stays in flight; the router settles it with a status request later. Never a reject.
        """

    def on_connectivity(self, venue: str, connected: bool) -> None:
        """The venue became reachable (logged on) or unreachable."""


class Venue(ABC):
    """A destination orders can be routed to."""

    name: str
    kind: str = ""
    """The plugin kind that built it (`fixgw/venues/registry.py`): which hooks serve it."""
    symbol_scheme: str = "canonical"
    """Which symbol scheme of the symbol master this venue speaks."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """True when commands can be sent now (FIX session logged on / REST venue healthy)."""

    @abstractmethod
    def bind(self, listener: VenueListener) -> None:
        """Register where events go; called once before start()."""

    @abstractmethod
    def start(self) -> None:
        """Start connecting; returns without waiting for the connection."""

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect cleanly within `timeout` seconds."""

    @abstractmethod
    def send_new(self, order: NewOrder) -> None:
        """Submit a new order; `order.cl_ord_id` is our outbound ClOrdID."""

    @abstractmethod
    def send_cancel(self, cancel: CancelOrder) -> None:
        """Request a cancel."""

    supports_mass_status: bool = False
    """The venue answers OrderMassStatusRequest: the router sends one at logon instead of one request per order."""

    def send_mass_status_request(self, request: MassStatusRequest) -> None:
        """Ask the status of every order (only called when `supports_mass_status`)."""
        raise NotImplementedError(f"{type(self).__name__} has no mass status request")

    @abstractmethod
    def send_replace(self, replace: ReplaceOrder) -> None:
        """Request a cancel/replace."""

    @abstractmethod
    def send_status_request(self, request: StatusRequest) -> None:
        """Ask for the order's current status; the answer arrives as an execution event."""
