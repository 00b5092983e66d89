"""Coinbase Prime adapter for the bridge's order sync, and the ready-made execution client.

With the `orders` channel up, an order costs one request (its submit): its state comes from the stream and its
fills from batched reads of the portfolio's fills (stream.py). Without it - not configured, not yet subscribed,
or dropped - each order is read back over REST (the order after its submit, its fills, the status poll).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
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
from fixgw.venues.bridge.coinbase_prime.stream import BATCH_WINDOW, FillBatcher, OrderStream
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.jsonwire import dumps, loads
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView

log = get_logger("fixgw.bridge.coinbase_prime")
WS_RECONNECT_S = 1.0


class CoinbasePrimeAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME
    rejects_repeated_client_order_id = False
    """Coinbase Prime: client_order_id must be unique among ACTIVE orders only; once the first order completed
    (a market order at once) a repeat may be accepted as a second order."""

    def __init__(self, config: CoinbasePrimeConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = CoinbasePrimeHttp(config, deps)
        self.stream = OrderStream()
        self.batcher = FillBatcher(self.http.portfolio_fills)
        self._submitted: dict[str, datetime] = {}
        """Venue order id -> when we submitted it (venue clock), for batched fill reads; dropped when final."""

    def _venue_now(self) -> datetime:
        return datetime.fromtimestamp(self.http.client.clock.now(), UTC)

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        request = mapping.create_order_request(order, instrument, self.config.portfolio_id)
        submitted_at = self._venue_now()
        created = await self.http.create_order(request)
        self._submitted[created.order_id] = submitted_at
        if self.stream.live:  # the stream reports what became of it: no read back, and no poll meanwhile
            return self.stream.current(created.order_id) or self.stream.seed(VenueOrderView(
                created.order_id, client_order_id, mapping.ORDER_STATUS["PENDING"], cum_qty=Decimal(0),
                order_qty=request.base_quantity))
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
        streamed = self.stream.current(view.venue_order_id)
        if streamed is None and self.stream.live and view.venue_terminal:
            streamed = view  # a final state does not change: nothing to read back
        if streamed is not None:
            return streamed
        asked_at = self.stream.now()
        read = mapping.order_view(await self.http.get_order(view.venue_order_id))
        self.stream.read_back(read, asked_at)  # while live, the stream's updates take it from here
        return read

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        submitted_at = self._submitted.get(view.venue_order_id)
        if self.stream.live and submitted_at is not None and self._venue_now() - submitted_at < BATCH_WINDOW:
            found = await self.batcher.fills(view.venue_order_id, submitted_at)
        else:
            found = await self.http.order_fills(view.venue_order_id)
        if view.venue_terminal and sum((f.filled_quantity for f in found), Decimal(0)) >= view.cum_qty:
            self._submitted.pop(view.venue_order_id, None)
            self.stream.forget(view.venue_order_id)
        return [mapping.fill_view(f) for f in found]

    async def cancel(self, view: VenueOrderView, instrument: Instrument) -> None:
        await self.http.cancel_order(view.venue_order_id)

    async def open_orders(self) -> list[VenueOrderView]:
        return [mapping.order_view(order) for order in await self.http.open_orders()]

    def is_duplicate(self, error: VenueRejected) -> bool:
        return error.code == DUPLICATE_CLIENT_ORDER_ID

    async def aclose(self) -> None:
        await self.http.aclose()

    async def watch(self, on_update: Callable[[str], None]) -> None:
        """Follows the `orders` channel, reconnecting forever; each update names an order to re-sync. While it is
        down, every order is read over REST again (the poll), fills included."""
        if not self.config.ws_url:
            return
        while True:
            try:
                await self._follow(on_update)
            except (OSError, websockets.WebSocketException, ValueError) as exc:
                log.warning("coinbase_ws_disconnected", venue=self.name, error=type(exc).__name__)
            finally:
                self.stream.down()
            await asyncio.sleep(WS_RECONNECT_S)

    async def _follow(self, on_update: Callable[[str], None]) -> None:
        assert self.config.ws_url is not None
        async with websockets.connect(self.config.ws_url) as socket:
            await socket.send(dumps(self._subscribe_message()))
            expected: int | None = None
            async for raw in socket:
                payload = loads(raw)
                if isinstance(payload, dict) and payload.get("type") == "error":
                    raise ValueError(f"subscription refused: {payload.get('message', '')}")
                message = WsMessage.model_validate(payload)
                if expected is not None and message.sequence_num != expected:
                    # A message was lost: the cache may be stale. Reconnect for a fresh snapshot, polling meanwhile.
                    log.warning("coinbase_ws_sequence_gap", venue=self.name, expected=expected,
                                received=message.sequence_num)
                    return
                expected = message.sequence_num + 1
                if message.channel != "orders":
                    continue
                for event in message.events:
                    if event.type == "snapshot":
                        self.stream.up()  # subscribed: from here on no update of ours is missed
                    for order in event.orders:
                        self.stream.update(mapping.ws_order_view(order))
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
