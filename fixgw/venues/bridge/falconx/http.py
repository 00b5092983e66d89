"""Async FalconX client: quotes + execute, orders, order lookups, balances - each on its API version.

Business failures come back as HTTP 200 with `status: failure`; they raise `VenueRejected` here.

Wire facts (FalconX API change log and the official falconx-python client): `POST /v3/order` (4 March 2024)
and `POST /v3/quotes`, `/v3/quotes/execute` (29 August 2024) sit beside their v1 originals; v3 order bodies
carry numbers where v1 sends decimal strings. Order reads (`GET /v1/orders/<id>`, 18 July 2024, and the
listing), quote reads, balances and transfers exist under v1 only. Since April 2025 the official client sends
orders and quotes to v3 only. Each call here goes through `ApiVersionRouter` with a preference list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fixgw.venues.bridge.common.errors import VenueAuthError, VenueNotFound, VenueRejected
from fixgw.venues.bridge.common.factory import ClientDeps, build_client
from fixgw.venues.bridge.common.http import VenueRequest
from fixgw.venues.bridge.common.jsonwire import dumps
from fixgw.venues.bridge.common.versions import ApiVersionRouter
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


ENDPOINTS: dict[str, dict[str, str]] = {
    "create_order": {"v3": "/v3/order", "v1": "/v1/order"},
    "create_quote": {"v3": "/v3/quotes", "v1": "/v1/quotes"},
    "execute_quote": {"v3": "/v3/quotes/execute", "v1": "/v1/quotes/execute"},
    "get_quote": {"v1": "/v1/quotes/{id}"},
    "get_order": {"v1": "/v1/orders/{id}"},
    "list_orders": {"v1": "/v1/orders"},
    "balances": {"v1": "/v1/balances"},
    "transfers": {"v1": "/v1/transfers"},
}
"""endpoint -> version -> path, newest version first: what FalconX publishes where."""


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
        self.versions = ApiVersionRouter(config.name, {e: tuple(paths) for e, paths in ENDPOINTS.items()},
                                         recheck_s=config.api_version_recheck_s)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _preference(self, versions: Sequence[str] | None) -> Sequence[str]:
        return self.config.venue_api_versions if versions is None else versions

    async def _send(self, endpoint: str, versions: Sequence[str] | None, request: Any, *,
                    lookup: bool = False, **path: str) -> Any:
        """`request(version, path)` -> VenueRequest, sent on the first version serving the endpoint."""

        async def send(version: str) -> Any:
            return await self.client.send(request(version, ENDPOINTS[endpoint][version].format(**path)))

        return await self.versions.call(endpoint, self._preference(versions), send, lookup=lookup)

    async def _post(self, endpoint: str, body: Any, versions: Sequence[str] | None, *, idempotent: bool,
                    lookup: bool = False) -> QuoteResponse:
        """`body(version)` -> the JSON object to send."""

        def request(version: str, path: str) -> VenueRequest:
            return VenueRequest("POST", path, f"{endpoint}_{version}", body=dumps(body(version)).encode(),
                                content_type="application/json", idempotent=idempotent)

        answer = await self._send(endpoint, versions, request, lookup=lookup)
        return self._checked(QuoteResponse.model_validate(answer))

    async def _get(self, endpoint: str, versions: Sequence[str] | None = None, *, query: str = "",
                   lookup: bool = False, **path: str) -> Any:
        def request(version: str, full_path: str) -> VenueRequest:
            return VenueRequest("GET", full_path, f"{endpoint}_{version}", query=query)

        return await self._send(endpoint, versions, request, lookup=lookup, **path)

    def _checked(self, answer: QuoteResponse) -> QuoteResponse:
        if answer.status != "success":
            error = answer.error
            code = "" if error is None or error.code is None else str(error.code)
            raise VenueRejected(self.config.name, error.reason if error else answer.status, http_status=200, code=code)
        return answer

    async def create_quote(self, quote: QuoteRequest, versions: Sequence[str] | None = None) -> QuoteResponse:
        return await self._post("create_quote", lambda version: quote.wire(), versions, idempotent=True)

    async def execute_quote(self, execute: ExecuteQuoteRequest,
                            versions: Sequence[str] | None = None) -> QuoteResponse:
        # A 404 may be "no such quote": asked on the next version before anything is concluded.
        return await self._post("execute_quote", lambda version: execute.model_dump(), versions, idempotent=False,
                                lookup=True)

    async def get_quote(self, fx_quote_id: str, versions: Sequence[str] | None = None) -> QuoteResponse:
        return QuoteResponse.model_validate(await self._get("get_quote", versions, lookup=True, id=fx_quote_id))

    async def place_order(self, order: OrderRequest, versions: Sequence[str] | None = None) -> QuoteResponse:
        return await self._post("create_order", order.wire, versions, idempotent=False)

    async def get_order(self, fx_quote_id: str, versions: Sequence[str] | None = None) -> QuoteResponse:
        return QuoteResponse.model_validate(await self._get("get_order", versions, lookup=True, id=fx_quote_id))

    async def list_orders(self, t_start: datetime, t_end: datetime | None = None,
                          versions: Sequence[str] | None = None) -> list[QuoteResponse]:
        params = [("t_start", _iso(t_start))] + ([("t_end", _iso(t_end))] if t_end else [])
        rows = await self._get("list_orders", versions, query=urlencode(params))
        return [QuoteResponse.model_validate(row) for row in rows]

    async def find_by_client_order_id(self, client_order_id: str, since: datetime,
                                      versions: Sequence[str] | None = None) -> QuoteResponse | None:
        matches = [o for o in await self.list_orders(since, versions=versions) if o.client_order_id == client_order_id]
        return matches[-1] if matches else None

    async def balances(self) -> list[Balance]:
        return [Balance.model_validate(row) for row in await self._get("balances")]

    async def transfers(self, query: str) -> Any:
        """The raw rows of `GET /v1/transfers` (parsed by `transfers.py`)."""
        return await self._get("transfers", query=query)
