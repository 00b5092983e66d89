"""Binance adapter for the bridge's order sync: lookups by origClientOrderId, fills from myTrades."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.binance import mapping
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.http import DUPLICATE_ORDER, BinanceHttp
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView


class BinanceAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME
    rejects_repeated_client_order_id = False
    """Binance refuses a newClientOrderId only while an order with it is OPEN (-2010 "Duplicate order sent");
    a market order that filled at once is no longer open, so a repeat could create a second order."""

    def __init__(self, config: BinanceConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = BinanceHttp(config, deps)

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        return mapping.order_view(await self.http.new_order(mapping.new_order_params(order, instrument)))

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        try:
            found = await self.http.query_order(mapping.symbol(instrument), client_order_id=client_order_id)
        except VenueNotFound:
            return None
        return mapping.order_view(found)

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        order = await self.http.query_order(mapping.symbol(instrument), order_id=int(view.venue_order_id))
        return mapping.order_view(order)

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        trades = await self.http.my_trades(mapping.symbol(instrument), int(view.venue_order_id))
        return [mapping.fill_view(t) for t in trades]

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        await self.http.cancel_order(mapping.symbol(instrument), order_id=int(view.venue_order_id))

    async def open_orders(self) -> list[VenueOrderView]:
        """GET /api/v3/openOrders without a symbol: every symbol at once (weight 80 - hence the sweep's period)."""
        return [mapping.order_view(order) for order in await self.http.open_orders()]

    def is_duplicate(self, error: VenueRejected) -> bool:
        return error.code == DUPLICATE_ORDER

    async def watch(self, on_update: Callable[[str], None]) -> None:
        return None

    async def aclose(self) -> None:
        await self.http.aclose()


def binance_venue(
    config: BinanceConfig, symbols: SymbolMaster, deps: ClientDeps | None = None, *, lookup_delay_s: float = 0.2
) -> RestExecutionClient:
    return RestExecutionClient(BinanceAdapter(config, deps), config, symbols, lookup_delay_s=lookup_delay_s)
