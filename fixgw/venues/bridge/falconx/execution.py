"""FalconX adapter for the bridge's order sync: synchronous orders, lookups by client_order_id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.errors import VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView
from fixgw.venues.bridge.falconx import mapping
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.http import FalconXHttp


class FalconXAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME
    rejects_repeated_client_order_id = False
    """FalconX documents no uniqueness check of client_order_id (its orders never rest): a repeat may execute."""

    def __init__(self, config: FalconXConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = FalconXHttp(config, deps)

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        answer = await self.http.place_order(mapping.order_request(order, instrument, self.config.slippage_bps))
        return mapping.order_view(answer)

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        found = await self.http.find_by_client_order_id(client_order_id, since)
        return mapping.order_view(found) if found else None

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        return mapping.order_view(await self.http.get_order(view.venue_order_id))

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        return mapping.fills(await self.http.get_order(view.venue_order_id))

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        raise VenueRejected(self.name, "FalconX orders do not rest: nothing to cancel", http_status=0)

    async def open_orders(self) -> list[VenueOrderView]:
        return []  # FalconX orders execute or fail at once: nothing rests there to sweep

    def is_duplicate(self, error: VenueRejected) -> bool:
        return False

    async def watch(self, on_update: Callable[[str], None]) -> None:
        return None

    async def aclose(self) -> None:
        await self.http.aclose()


def falconx_venue(
    config: FalconXConfig, symbols: SymbolMaster, deps: ClientDeps | None = None, *, lookup_delay_s: float = 0.2
) -> RestExecutionClient:
    return RestExecutionClient(FalconXAdapter(config, deps), config, symbols, lookup_delay_s=lookup_delay_s)
