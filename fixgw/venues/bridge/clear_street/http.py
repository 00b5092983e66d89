"""Async Clear Street Studio v2 client: orders, trades and holdings of one account, behind a bearer token.

Errors are RFC 9457 problem details: 401/403 -> `VenueAuthError` (a 401 first refreshes the token once, in
`VenueHttpClient`), 404 -> `VenueNotFound`, other 4xx -> `VenueRejected`. List endpoints are cursor-paged
(`page_size` up to 2000, `next_page_token`) and cover the current trading day.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fixgw.venues.bridge.clear_street.auth import token_provider, unsigned
from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.clear_street.schemas import (
    CreateOrder,
    CreateOrderResponse,
    Holding,
    HoldingsResponse,
    Order,
    OrderResponse,
    OrdersPage,
    ProblemDetails,
    Trade,
    TradesPage,
)
from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.factory import ClientDeps, build_client
from fixgw.venues.bridge.common.http import VenueRequest
from fixgw.venues.bridge.common.jsonwire import dumps

PAGE_SIZE = 1000  # the documented maximum is 2000
MAX_PAGES = 50
Row = TypeVar("Row")


def error_factory(venue: str) -> Any:
    def make(status: int, payload: Any) -> VenueRejected:
        body = ProblemDetails.model_validate(payload) if isinstance(payload, dict) else ProblemDetails()
        message = body.detail or body.title or f"HTTP {status}"
        code = body.type if body.type not in ("", "about:blank") else body.title
        if status in (401, 403):
            return VenueAuthError(venue, message, http_status=status, code=code)
        if status == 404:
            return VenueNotFound(venue, message, http_status=status, code=code)
        return VenueRejected(venue, message, http_status=status, code=code)

    return make


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


class ClearStreetHttp:
    def __init__(self, config: ClearStreetConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.client = build_client(config, key=config.account_id, signer=unsigned,
                                   error_factory=error_factory(config.name), deps=deps)
        self.tokens = token_provider(config, deps)
        self.client.bearer = self.tokens
        self._prefix = f"/accounts/{quote(config.account_id, safe='')}"

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.tokens.aclose()

    async def _get(self, path: str, route: str, params: list[tuple[str, str]] | None = None) -> Any:
        return await self.client.send(VenueRequest("GET", self._prefix + path, route, query=urlencode(params or [])))

    async def create_order(self, order: CreateOrder) -> CreateOrderResponse:
        request = VenueRequest("POST", self._prefix + "/orders", "create_order", body=dumps(order.wire()).encode(),
                               content_type="application/json", idempotent=False)
        return CreateOrderResponse.model_validate(await self.client.send(request))

    async def get_order(self, order_id: str) -> Order:
        answer = await self._get(f"/orders/{quote(order_id, safe='')}", "get_order")
        return OrderResponse.model_validate(answer).order

    async def cancel_order(self, order_id: str) -> None:
        """201 with no body: the cancel was attempted; the order's status says what became of it."""
        await self.client.send(VenueRequest("DELETE", f"{self._prefix}/orders/{quote(order_id, safe='')}",
                                            "cancel_order"))

    async def _pages(self, read: Callable[[list[tuple[str, str]]], Awaitable[tuple[list[Row], str | None]]],
                     params: list[tuple[str, str]]) -> list[Row]:
        rows: list[Row] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page, token = await read([*params, ("page_size", str(PAGE_SIZE))] + ([("page_token", token)]
                                                                                    if token else []))
            rows.extend(page)
            if not token:
                break
        return rows

    async def list_orders(self, since: datetime, until: datetime | None = None) -> list[Order]:
        async def read(params: list[tuple[str, str]]) -> tuple[list[Order], str | None]:
            page = OrdersPage.model_validate(await self._get("/orders", "list_orders", params))
            return page.data, page.next_page_token

        return await self._pages(read, [("from", _ms(since))] + ([("to", _ms(until))] if until else []))

    async def find_by_reference_id(self, reference_id: str, since: datetime) -> Order | None:
        matches = [o for o in await self.list_orders(since) if o.reference_id == reference_id]
        return matches[-1] if matches else None

    async def trades(self) -> list[Trade]:
        """The account's trades of the current trading day (the Studio has no per-order trade listing)."""
        async def read(params: list[tuple[str, str]]) -> tuple[list[Trade], str | None]:
            page = TradesPage.model_validate(await self._get("/trades", "trades", params))
            return page.data, page.next_page_token

        return await self._pages(read, [])

    async def holdings(self) -> list[Holding]:
        return HoldingsResponse.model_validate(await self._get("/holdings", "holdings")).data
