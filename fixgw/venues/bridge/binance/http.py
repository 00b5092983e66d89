"""Async Binance spot client. A -1021 (timestamp outside recvWindow) resyncs with /api/v3/time and retries once."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fixgw.venues.bridge.binance.auth import make_signer
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.schemas import Account, ErrorResponse, NewOrderParams, Order, ServerTime, Trade
from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.factory import ClientDeps, build_client
from fixgw.venues.bridge.common.http import VenueRequest

ORDER_DOES_NOT_EXIST = "-2013"
UNKNOWN_ORDER_SENT = "-2011"
DUPLICATE_ORDER = "-2010"
TIMESTAMP_OUTSIDE_WINDOW = "-1021"
AUTH_CODES = {"-1021", "-1022", "-2014", "-2015"}


def error_factory(venue: str) -> Any:
    def make(status: int, payload: Any) -> VenueRejected:
        body = ErrorResponse.model_validate(payload) if isinstance(payload, dict) else ErrorResponse()
        code = str(body.code) if body.code else ""
        message = body.msg or f"HTTP {status}"
        if status in (401, 403) or code in AUTH_CODES:
            return VenueAuthError(venue, message, http_status=status, code=code)
        if code == ORDER_DOES_NOT_EXIST:
            return VenueNotFound(venue, message, http_status=status, code=code)
        if code == "-2010" and "Duplicate" in message:
            return VenueRejected(venue, message, http_status=status, code=DUPLICATE_ORDER)
        return VenueRejected(venue, message, http_status=status, code=code)

    return make


class BinanceHttp:
    def __init__(self, config: BinanceConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.client = build_client(
            config,
            key=config.api_key.get_secret_value()[:8],  # bucket key: enough to tell keys apart
            signer=make_signer(config),
            error_factory=error_factory(config.name),
            deps=deps,
        )
        self.client.is_clock_error = lambda error: error.code == TIMESTAMP_OUTSIDE_WINDOW
        self.client.resync_clock = self.sync_clock

    async def aclose(self) -> None:
        await self.client.aclose()

    async def server_time(self) -> ServerTime:
        request = VenueRequest("GET", "/api/v3/time", "time", signed=False)
        return ServerTime.model_validate(await self.client.send(request))

    async def sync_clock(self) -> None:
        sent = time.time()
        answer = await self.server_time()
        self.client.clock.observe_server_time(answer.serverTime / 1000, sent, time.time())

    async def _signed(self, method: str, route: str, params: list[tuple[str, str]], *, idempotent: bool = True) -> Any:
        if method == "POST":
            request = VenueRequest(
                method,
                "/api/v3/order",
                route,
                body=urlencode(params).encode(),
                content_type="application/x-www-form-urlencoded",
                idempotent=idempotent,
            )
        else:
            path = {"my_trades": "/api/v3/myTrades", "account": "/api/v3/account", "open_orders": "/api/v3/openOrders"}
            request = VenueRequest(method, path.get(route, "/api/v3/order"), route, query=urlencode(params))
        return await self.client.send(request)

    async def new_order(self, order: NewOrderParams) -> Order:
        return Order.model_validate(await self._signed("POST", "new_order", order.params(), idempotent=False))

    async def query_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        return Order.model_validate(
            await self._signed("GET", "query_order", _order_ref(symbol, order_id, client_order_id))
        )

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        # A second cancel of the same order is refused (-2011), never harmful: safe to resend.
        return Order.model_validate(
            await self._signed("DELETE", "cancel_order", _order_ref(symbol, order_id, client_order_id))
        )

    async def my_trades(self, symbol: str, order_id: int) -> list[Trade]:
        rows = await self._signed("GET", "my_trades", [("symbol", symbol), ("orderId", str(order_id))])
        return [Trade.model_validate(row) for row in rows]

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        rows = await self._signed("GET", "open_orders", [("symbol", symbol)] if symbol else [])
        return [Order.model_validate(row) for row in rows]

    async def account(self) -> Account:
        return Account.model_validate(await self._signed("GET", "account", []))


def _order_ref(symbol: str, order_id: int | None, client_order_id: str | None) -> list[tuple[str, str]]:
    if order_id is not None:
        return [("symbol", symbol), ("orderId", str(order_id))]
    if client_order_id is None:
        raise ValueError("an order id or a client order id is needed")
    return [("symbol", symbol), ("origClientOrderId", client_order_id)]
