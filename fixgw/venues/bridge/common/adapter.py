"""The per-venue half of an execution client: how to submit, look up, refresh, fill-list and cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.errors import VenueRejected
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView


class VenueAdapter(Protocol):
    name: str
    symbol_scheme: str
    rejects_repeated_client_order_id: bool
    """True only when the venue refuses every create that repeats a client order id it has seen, whatever the
    first order's state: then an order of unknown outcome may be sent again before `create_settle_s` passed."""

    def client_order_id(self, cl_ord_id: str) -> str:
        """Deterministic venue client order id for our outbound ClOrdID."""

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        """Send the order once. Raises VenueRejected (definitive) or VenueUnknown (look it up)."""

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        """The venue's order with this client order id, None when the venue definitively has none."""

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        """The order's current state at the venue."""

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        """Every fill of the order so far (duplicates are fine: the caller de-duplicates by trade id)."""

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        """Request the cancel; the resulting status is read with `refresh`."""

    async def open_orders(self) -> list[VenueOrderView]:
        """Every order open at the venue on our account (ours or not), with its `symbol`: the open-orders sweep."""

    def is_duplicate(self, error: VenueRejected) -> bool:
        """True when a submit was refused because the client order id is already in use (so: look it up)."""

    async def watch(self, on_update: Callable[[str], None]) -> None:
        """Push updates (client order ids) from a WebSocket until cancelled; return at once when not configured."""

    async def aclose(self) -> None: ...
