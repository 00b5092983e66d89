"""Async Coinbase Prime REST client: typed requests in, typed venue models out, typed errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fixgw.venues.bridge.coinbase_prime.auth import make_signer
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.schemas import (
    Balance,
    BalancesResponse,
    CancelOrderResponse,
    CreateOrderRequest,
    CreateOrderResponse,
    ErrorResponse,
    Fill,
    FillsPage,
    Order,
    OrderResponse,
    OrdersPage,
    Product,
    ProductsPage,
)
from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.factory import ClientDeps, build_client
from fixgw.venues.bridge.common.http import VenueRequest
from fixgw.venues.bridge.common.jsonwire import dumps

DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
PAGE_LIMIT = 1000  # well below the documented maximum of 3000


def error_factory(venue: str) -> Any:
    def make(status: int, payload: Any) -> VenueRejected:
        body = ErrorResponse.model_validate(payload) if isinstance(payload, dict) else ErrorResponse()
        message = body.message or f"HTTP {status}"
        code = str(body.code or "")
        if status in (401, 403):
            clock = "timestamp" in message
            return VenueAuthError(venue, message, http_status=status, code="timestamp" if clock else code)
        if status == 404:
            return VenueNotFound(venue, message, http_status=status, code=code)
        if status == 409 or ("client_order_id" in message and "active" in message):
            return VenueRejected(venue, message, http_status=status, code=DUPLICATE_CLIENT_ORDER_ID)
        return VenueRejected(venue, message, http_status=status, code=code)

    return make


async def _no_resync() -> None:
    """Coinbase Prime has no time endpoint: the Date header of the refusal has already corrected the clock."""


class CoinbasePrimeHttp:
    def __init__(self, config: CoinbasePrimeConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.client = build_client(
            config,
            key=config.portfolio_id,
            signer=make_signer(config),
            error_factory=error_factory(config.name),
            deps=deps,
        )
        self.client.is_clock_error = lambda error: error.code == "timestamp"
        self.client.resync_clock = _no_resync
        self._prefix = f"/v1/portfolios/{config.portfolio_id}"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _get(self, path: str, route: str, params: list[tuple[str, str]] | None = None) -> Any:
        query = urlencode(params or [])
        return await self.client.send(VenueRequest("GET", self._prefix + path, route, query=query))

    async def create_order(self, order: CreateOrderRequest) -> CreateOrderResponse:
        body = dumps(order.wire()).encode()
        request = VenueRequest(
            "POST",
            f"{self._prefix}/order",
            "create_order",
            body=body,
            content_type="application/json",
            idempotent=False,
        )
        return CreateOrderResponse.model_validate(await self.client.send(request))

    async def get_order(self, order_id: str) -> Order:
        return OrderResponse.model_validate(await self._get(f"/orders/{order_id}", "get_order")).order

    async def cancel_order(self, order_id: str) -> CancelOrderResponse:
        # Cancelling twice is harmless, so a cancel may be resent after an unknown outcome.
        request = VenueRequest(
            "POST",
            f"{self._prefix}/orders/{order_id}/cancel",
            "cancel_order",
            body=b"{}",
            content_type="application/json",
        )
        return CancelOrderResponse.model_validate(await self.client.send(request))

    async def order_fills(self, order_id: str) -> list[Fill]:
        """All fills of an order, following the cursor pagination."""
        fills: list[Fill] = []
        cursor = ""
        while True:
            params = [("limit", str(PAGE_LIMIT)), ("sort_direction", "ASC")] + ([("cursor", cursor)] if cursor else [])
            page = FillsPage.model_validate(await self._get(f"/orders/{order_id}/fills", "order_fills", params))
            fills.extend(page.fills)
            if not page.pagination.has_next or not page.pagination.next_cursor:
                return fills
            cursor = page.pagination.next_cursor

    async def portfolio_fills(self, start: datetime) -> list[Fill]:
        """The portfolio's fills since `start`, every order's, following the cursor pagination."""
        fills: list[Fill] = []
        cursor = ""
        since = start.isoformat().replace("+00:00", "Z")
        while True:
            params = [("start_date", since), ("limit", str(PAGE_LIMIT)), ("sort_direction", "ASC")]
            page = FillsPage.model_validate(await self._get("/fills", "portfolio_fills",
                                                            params + ([("cursor", cursor)] if cursor else [])))
            fills.extend(page.fills)
            if not page.pagination.has_next or not page.pagination.next_cursor:
                return fills
            cursor = page.pagination.next_cursor

    async def _orders(self, path: str, route: str, params: list[tuple[str, str]]) -> list[Order]:
        orders: list[Order] = []
        cursor = ""
        while True:
            page_params = [*params, ("limit", str(PAGE_LIMIT))] + ([("cursor", cursor)] if cursor else [])
            page = OrdersPage.model_validate(await self._get(path, route, page_params))
            orders.extend(page.orders)
            if not page.pagination.has_next or not page.pagination.next_cursor:
                return orders
            cursor = page.pagination.next_cursor

    async def open_orders(self, product_ids: list[str] | None = None) -> list[Order]:
        return await self._orders("/open_orders", "open_orders", [("product_ids", p) for p in product_ids or []])

    async def list_orders(self, start_date: datetime | None = None) -> list[Order]:
        params = [("start_date", start_date.isoformat().replace("+00:00", "Z"))] if start_date else []
        return await self._orders("/orders", "list_orders", params)

    async def find_by_client_order_id(self, client_order_id: str, since: datetime | None = None) -> Order | None:
        """Prime cannot filter by client_order_id: scan open orders, then orders created since `since`."""
        for order in await self.open_orders():
            if order.client_order_id == client_order_id:
                return order
        matches = [o for o in await self.list_orders(since) if o.client_order_id == client_order_id]
        return matches[-1] if matches else None

    async def balances(self) -> list[Balance]:
        return BalancesResponse.model_validate(await self._get("/balances", "balances")).balances

    async def products(self) -> list[Product]:
        return ProductsPage.model_validate(await self._get("/products", "products")).products
