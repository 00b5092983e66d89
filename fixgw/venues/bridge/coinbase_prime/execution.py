"""Coinbase Prime adapter for the bridge's order sync, and the ready-made execution client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import websockets

from fixgw.logs import get_logger
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.coinbase_prime import mapping
from fixgw.venues.bridge.coinbase_prime.auth import sign_ws_subscribe
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.http import DUPLICATE_CLIENT_ORDER_ID, CoinbasePrimeHttp
from fixgw.venues.bridge.coinbase_prime.schemas import WsMessage
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.jsonwire import dumps, loads
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

log = get_logger("fixgw.bridge.coinbase_prime")
WS_RECONNECT_S = 1.0


class CoinbasePrimeAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME

    def __init__(self, config: CoinbasePrimeConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = CoinbasePrimeHttp(config, deps)

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        request = mapping.create_order_request(order, instrument, self.config.portfolio_id)
        created = await self.http.create_order(request)
        # The create answer is only an id: read the order so fills of a MARKET order are seen at once.
        try:
            return mapping.order_view(await self.http.get_order(created.order_id))
        except VenueNotFound:
            return VenueOrderView(
                created.order_id, client_order_id, mapping.ORDER_STATUS["PENDING"], cum_qty=Decimal(0)
            )

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        found = await self.http.find_by_client_order_id(client_order_id, since)
        return mapping.order_view(found) if found else None

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        return mapping.order_view(await self.http.get_order(view.venue_order_id))

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        return [mapping.fill_view(f) for f in await self.http.order_fills(view.venue_order_id)]

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        await self.http.cancel_order(view.venue_order_id)

    def is_duplicate(self, error: VenueRejected) -> bool:
        return error.code == DUPLICATE_CLIENT_ORDER_ID

    async def aclose(self) -> None:
        await self.http.aclose()

    async def watch(self, on_update: Callable[[str], None]) -> None:
        """Follows the `orders` channel, reconnecting forever; each update names an order to re-sync."""
        if not self.config.ws_url:
            return
        while True:
            try:
                await self._follow(on_update)
            except (OSError, websockets.WebSocketException, ValueError) as exc:
                log.warning("coinbase_ws_disconnected", venue=self.name, error=type(exc).__name__)
            await asyncio.sleep(WS_RECONNECT_S)

    async def _follow(self, on_update: Callable[[str], None]) -> None:
        assert self.config.ws_url is not None
        async with websockets.connect(self.config.ws_url) as socket:
            await socket.send(dumps(self._subscribe_message()))
            async for raw in socket:
                message = WsMessage.model_validate(loads(raw))
                if message.channel != "orders":
                    continue
                for event in message.events:
                    for order in event.orders:
                        if order.client_order_id:
                            on_update(order.client_order_id)

    def _subscribe_message(self) -> dict[str, object]:
        config = self.config
        timestamp = str(int(self.http.client.clock.now()))
        access_key = config.access_key.get_secret_value()
        return {
            "type": "subscribe",
            "channel": "orders",
            "access_key": access_key,
            "api_key_id": config.service_account_id,
            "timestamp": timestamp,
            "passphrase": config.passphrase.get_secret_value(),
            "signature": sign_ws_subscribe(
                config.signing_key.get_secret_value(),
                channel="orders",
                access_key=access_key,
                api_key_id=config.service_account_id,
                timestamp=timestamp,
                portfolio_id=config.portfolio_id,
                product_ids=[],
            ),
            "portfolio_id": config.portfolio_id,
            "product_ids": [],
        }


def coinbase_prime_venue(
    config: CoinbasePrimeConfig, symbols: SymbolMaster, deps: ClientDeps | None = None, *, lookup_delay_s: float = 0.2
) -> RestExecutionClient:
    return RestExecutionClient(CoinbasePrimeAdapter(config, deps), config, symbols, lookup_delay_s=lookup_delay_s)
