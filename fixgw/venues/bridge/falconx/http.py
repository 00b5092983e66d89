"""Async FalconX client: quotes + execute, v1 and v3 orders side by side, order lookups, balances.

Business failures come back as HTTP 200 with `status: failure`; they raise `VenueRejected` here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.factory import ClientDeps, build_client
from fixgw.venues.bridge.common.http import VenueRequest
from fixgw.venues.bridge.common.jsonwire import dumps
from fixgw.venues.bridge.falconx.auth import make_signer
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.schemas import (
    Balance,
    ErrorResponse,
    ExecuteQuoteRequest,
    OrderRequest,
    QuoteRequest,
    QuoteResponse,
)


def error_factory(venue: str) -> Any:
    def make(status: int, payload: Any) -> VenueRejected:
        body = ErrorResponse.model_validate(payload) if isinstance(payload, dict) else ErrorResponse()
        message = body.message or (body.error.reason if body.error else "") or f"HTTP {status}"
        if status in (401, 403):
            return VenueAuthError(
                venue, message, http_status=status, code="timestamp" if "timestamp" in message else ""
            )
        if status == 404:
            return VenueNotFound(venue, message, http_status=status)
        return VenueRejected(venue, message, http_status=status)

    return make


async def _no_resync() -> None:
    """No time endpoint: the refusal's Date header has already corrected the clock estimate."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class FalconXHttp:
    def __init__(self, config: FalconXConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.client = build_client(
            config,
            key=config.api_key.get_secret_value()[:8],  # bucket key: enough to tell keys apart, not the secret
            signer=make_signer(config),
            error_factory=error_factory(config.name),
            deps=deps,
        )
        self.client.is_clock_error = lambda error: error.code == "timestamp"
        self.client.resync_clock = _no_resync

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post(self, path: str, route: str, body: dict[str, Any], *, idempotent: bool) -> QuoteResponse:
        request = VenueRequest(
            "POST", path, route, body=dumps(body).encode(), content_type="application/json", idempotent=idempotent
        )
        return self._checked(QuoteResponse.model_validate(await self.client.send(request)))

    def _checked(self, answer: QuoteResponse) -> QuoteResponse:
        if answer.status != "success":
            error = answer.error
            code = "" if error is None or error.code is None else str(error.code)
            raise VenueRejected(self.config.name, error.reason if error else answer.status, http_status=200, code=code)
        return answer

    async def create_quote(self, quote: QuoteRequest) -> QuoteResponse:
        return await self._post("/v1/quotes", "create_quote", quote.wire(), idempotent=True)

    async def execute_quote(self, execute: ExecuteQuoteRequest) -> QuoteResponse:
        return await self._post("/v1/quotes/execute", "execute_quote", execute.model_dump(), idempotent=False)

    async def get_quote(self, fx_quote_id: str) -> QuoteResponse:
        request = VenueRequest("GET", f"/v1/quotes/{fx_quote_id}", "get_quote")
        return QuoteResponse.model_validate(await self.client.send(request))

    async def place_order(self, order: OrderRequest, version: Literal["v1", "v3"] | None = None) -> QuoteResponse:
        version = version or self.config.order_api
        return await self._post(f"/{version}/order", f"order_{version}", order.wire(version), idempotent=False)

    async def get_order(self, fx_quote_id: str) -> QuoteResponse:
        request = VenueRequest("GET", f"/v1/orders/{fx_quote_id}", "get_order")
        return QuoteResponse.model_validate(await self.client.send(request))

    async def list_orders(self, t_start: datetime, t_end: datetime | None = None) -> list[QuoteResponse]:
        params = [("t_start", _iso(t_start))] + ([("t_end", _iso(t_end))] if t_end else [])
        request = VenueRequest("GET", "/v1/orders", "list_orders", query=urlencode(params))
        return [QuoteResponse.model_validate(row) for row in await self.client.send(request)]

    async def find_by_client_order_id(self, client_order_id: str, since: datetime) -> QuoteResponse | None:
        matches = [o for o in await self.list_orders(since) if o.client_order_id == client_order_id]
        return matches[-1] if matches else None

    async def balances(self) -> list[Balance]:
        request = VenueRequest("GET", "/v1/balances", "balances")
        return [Balance.model_validate(row) for row in await self.client.send(request)]
