"""Clear Street adapter for the bridge's order sync: equity orders by `reference_id`, read back over REST.

A `reference_id` repeated after an unknown outcome is not documented as refused, so an order whose create
answer was lost is looked up (never sent again). Studio's WebSocket activity stream is not followed: the
status poll reads each open order, and its trades from the account's trade listing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.clear_street import mapping
from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.clear_street.http import ClearStreetHttp
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView


class ClearStreetAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME
    rejects_repeated_client_order_id = False
    """The Studio documents no uniqueness check of `reference_id`: a resend could become a second order."""

    def __init__(self, config: ClearStreetConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = ClearStreetHttp(config, deps)

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        request = mapping.create_order(order, instrument)
        created = await self.http.create_order(request)
        # The create answer is only an id ("received, pending further processing"): read the order back.
        try:
            return mapping.order_view(await self.http.get_order(created.order_id))
        except VenueNotFound:
            return VenueOrderView(created.order_id, client_order_id, mapping.ORDER_STATUS["pending-new"],
                                  cum_qty=Decimal(0), order_qty=request.quantity)

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        found = await self.http.find_by_reference_id(client_order_id, since)
        return mapping.order_view(found) if found else None

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        return mapping.order_view(await self.http.get_order(view.venue_order_id))

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        return [mapping.fill_view(t) for t in await self.http.trades() if t.order_id == view.venue_order_id]

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        await self.http.cancel_order(view.venue_order_id)

    async def open_orders(self) -> list[VenueOrderView]:
        """The account's orders still open today (Studio lists the current trading day only; `state` is the
        venue's own open | rejected | closed)."""
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return [mapping.order_view(order) for order in await self.http.list_orders(today) if order.state == "open"]

    def is_duplicate(self, error: VenueRejected) -> bool:
        return False

    async def watch(self, on_update: Callable[[str], None]) -> None:
        return None

    async def aclose(self) -> None:
        await self.http.aclose()


def clear_street_venue(config: ClearStreetConfig, symbols: SymbolMaster, deps: ClientDeps | None = None, *,
                       lookup_delay_s: float = 0.2) -> RestExecutionClient:
    return RestExecutionClient(ClearStreetAdapter(config, deps), config, symbols, lookup_delay_s=lookup_delay_s)
