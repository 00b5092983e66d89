"""One `VenuePlugin` for a REST prime broker from its parts: every bridge venue is built, read for
reconciliation and measured the same way; only its client, its balances and its day listing differ."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from fixgw.model.enums import OrdStatus
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.venues.base import Venue
from fixgw.venues.bridge.common.errors import BridgeError
from fixgw.venues.bridge.common.views import VenueFill, VenueOrderView
from fixgw.venues.plugin import (
    BuildContext,
    ListedOrder,
    VenueBalances,
    VenuePlugin,
    VenueReadError,
    VenueSection,
    VenueStats,
)

if TYPE_CHECKING:  # the HTTP stack loads when a venue is built, not with the config
    from fixgw.venues.bridge.common.execution import RestExecutionClient
    from fixgw.venues.bridge.common.http import VenueHttpClient

STATS_READ_TIMEOUT_S = 1.0
T = TypeVar("T")

ClientFactory = Callable[[Any, SymbolMaster], "RestExecutionClient"]
"""(section, symbols) -> the venue's execution client (`<venue>/execution.py`)."""
BalancesReader = Callable[[Any], Awaitable[VenueBalances]]
"""(adapter) -> the venue's balances."""
OrderLister = Callable[[Any, SymbolMaster, datetime, datetime], Awaitable[list[ListedOrder]]]
"""(adapter, symbols, start, end) -> the venue's filled orders of the window."""


class RestReconReader:
    """A REST venue's own record through its adapter: fills per order, balances, and its day listing if any."""

    def __init__(self, adapter: Any, symbols: SymbolMaster, balances: BalancesReader,
                 listed_orders: OrderLister | None) -> None:
        self.adapter = adapter
        self.symbols = symbols
        self._balances = balances
        self._listed_orders = listed_orders

    async def fills(self, venue_order_id: str, client_order_id: str, instrument: Instrument) -> list[VenueFill]:
        view = VenueOrderView(venue_order_id, client_order_id, OrdStatus.NEW, Decimal(0))
        fills: list[VenueFill] = await _read(self.adapter.fills(view, instrument))
        return fills

    async def listed_orders(self, start: datetime, end: datetime) -> list[ListedOrder]:
        if self._listed_orders is None:
            return []
        return await _read(self._listed_orders(self.adapter, self.symbols, start, end))

    async def balances(self) -> VenueBalances:
        return await _read(self._balances(self.adapter))

    async def aclose(self) -> None:
        await self.adapter.aclose()


async def _read(work: Awaitable[T]) -> T:
    try:
        return await work
    except BridgeError as exc:
        raise VenueReadError(str(exc)) from None


def rest_stats(venue: Venue, http_client: Callable[[Any], VenueHttpClient]) -> VenueStats | None:
    """Rate-limit usage and request counts, read on the venue's own event loop (the bucket refills when read)."""
    from fixgw.venues.bridge.common.execution import RestExecutionClient

    if not isinstance(venue, RestExecutionClient):
        return None
    client = http_client(venue.adapter)

    versions = getattr(venue.adapter, "api_versions", None)  # an adapter speaking several API versions

    def read() -> VenueStats:
        return VenueStats(venue.name, client.bucket.usage(), client.stats.requests, client.stats.retries,
                          client.stats.unknown_outcomes, client.clock.offset_s, client.clock.samples,
                          client.clock.alert_threshold_s, venue.health.probe_rtt_s,
                          api_versions=versions.stats() if versions is not None else None,
                          endpoint_notices=client.deprecations.snapshot(),
                          rate_used_share=venue.headroom.used_share(), rate_headroom_low=venue.headroom.above,
                          rate_alert_share=venue.headroom.alert_share)

    return venue.read_on_loop(read, STATS_READ_TIMEOUT_S)


def rest_check(name: str, section: Any, symbols: SymbolMaster | None) -> list[tuple[str, str]]:
    """An http(s) base URL, a ws(s) feed URL if any, and instruments under the venue's symbol scheme."""
    problems: list[tuple[str, str]] = []
    if not section.base_url.startswith(("http://", "https://")):
        problems.append((f"venues.{name}.base_url", f"not an http(s) URL: {section.base_url!r}"))
    ws_url = getattr(section, "ws_url", None)
    if ws_url and not ws_url.startswith(("ws://", "wss://")):
        problems.append((f"venues.{name}.ws_url", f"not a ws(s) URL: {ws_url!r}"))
    if symbols is not None and not any(section.kind in instrument.symbols for instrument in symbols):
        problems.append((f"venues.{name}.kind", f"no instrument in the symbol master has a {section.kind!r} "
                                                "symbol: nothing could trade there"))
    return problems


def rest_summary(section: Any) -> str:
    return (f"REST venue {section.name}: {section.kind} at {section.base_url}, DAY orders: {section.day_orders}, "
            f"unknown open orders: {section.unknown_orders}")


def attach_health(venue: RestExecutionClient, client: VenueHttpClient, balances: BalancesReader) -> None:
    """Every request of the venue counts towards its health and its rate headroom; its balances read is the
    periodic probe."""
    client.on_answer = venue.health.answered
    client.headroom = venue.headroom
    venue.probe = lambda: balances(venue.adapter)


def rest_plugin(kind: str, settings: type[VenueSection], client: ClientFactory, *,
                http_client: Callable[[Any], VenueHttpClient], balances: BalancesReader,
                listed_orders: OrderLister | None = None) -> VenuePlugin:
    def build(name: str, section: Any, context: BuildContext) -> Venue:
        venue = client(section, context.symbols)
        http = http_client(venue.adapter)
        attach_health(venue, http, balances)
        if context.budgets_spent:
            http.bucket.spend_all()
        http.send_gate = context.send_gate
        http.on_wire = context.wire
        return venue

    def recon_reader(section: Any, symbols: SymbolMaster) -> RestReconReader:
        return RestReconReader(client(section, symbols).adapter, symbols, balances, listed_orders)

    return VenuePlugin(kind, settings, build, check=rest_check, summary=rest_summary, recon_reader=recon_reader,
                       stats=lambda venue: rest_stats(venue, http_client))
