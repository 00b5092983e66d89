"""FalconX adapter for the bridge's order sync: synchronous orders, lookups by client_order_id.

The calls made for an order follow its FIX account's API versions (`accounts.<account>.api_versions`, else the
venue's): its create and its reads by id. The account of an order is remembered from its submit; an order known
only by its client order id (after a restart) is read with the venue's versions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.errors import VenueRejected
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.factory import ClientDeps
from fixgw.venues.bridge.common.versions import ApiVersionRouter
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView
from fixgw.venues.bridge.falconx import mapping
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.http import FalconXHttp
from fixgw.venues.bridge.falconx.schemas import QuoteResponse

REMEMBERED_ACCOUNTS = 100_000
"""Orders whose account is remembered for their reads; FalconX orders are final when answered."""


class FalconXAdapter:
    symbol_scheme = mapping.SYMBOL_SCHEME
    rejects_repeated_client_order_id = False
    """FalconX documents no uniqueness check of client_order_id (its orders never rest): a repeat may execute."""

    def __init__(self, config: FalconXConfig, deps: ClientDeps | None = None) -> None:
        self.config = config
        self.name = config.name
        self.http = FalconXHttp(config, deps)
        self._accounts: dict[str, str] = {}
        """client_order_id -> FIX account, for the accounts with their own API versions."""

    @property
    def api_versions(self) -> ApiVersionRouter:
        """Which version serves each endpoint (read by the metrics)."""
        return self.http.versions

    def _versions(self, client_order_id: str) -> Sequence[str]:
        return self.config.api_versions_for(self._accounts.get(client_order_id))

    def client_order_id(self, cl_ord_id: str) -> str:
        return mapping.client_order_id(cl_ord_id)

    async def submit(self, order: NewOrder, instrument: Instrument, client_order_id: str) -> VenueOrderView:
        if order.account is not None and order.account in self.config.accounts:
            self._accounts[client_order_id] = order.account
            if len(self._accounts) > REMEMBERED_ACCOUNTS:
                del self._accounts[next(iter(self._accounts))]  # the oldest: long final (nothing rests)
        request = mapping.order_request(order, instrument, self.config.slippage_bps)
        answer = await self.http.place_order(request, self._versions(client_order_id))
        return mapping.order_view(answer)

    async def find(self, client_order_id: str, instrument: Instrument, since: datetime) -> VenueOrderView | None:
        found = await self.http.find_by_client_order_id(client_order_id, since, self._versions(client_order_id))
        return mapping.order_view(found) if found else None

    async def refresh(self, view: VenueOrderView, instrument: Instrument) -> VenueOrderView:
        return mapping.order_view(await self._get_order(view))

    async def fills(self, view: VenueOrderView, instrument: Instrument) -> list[VenueFill]:
        return mapping.fills(await self._get_order(view))

    async def _get_order(self, view: VenueOrderView) -> QuoteResponse:
        return await self.http.get_order(view.venue_order_id, self._versions(view.client_order_id))

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
