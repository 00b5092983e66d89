"""Clear Street as a venue kind: `[venues.<name>] kind = "clear_street"` (Studio API, US equities, OAuth 2.0)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.secretref import Secret
from fixgw.venues.bridge.clear_street.config import ClearStreetConfig
from fixgw.venues.bridge.clear_street.mapping import SYMBOL_SCHEME
from fixgw.venues.bridge.common.plugin import rest_plugin
from fixgw.venues.plugin import ListedOrder, VenueBalances, VenueSection

if TYPE_CHECKING:
    from fixgw.venues.bridge.clear_street.execution import ClearStreetAdapter
    from fixgw.venues.bridge.common.execution import RestExecutionClient

_SIDES = {"buy": Side.BUY, "sell": Side.SELL, "sell-short": Side.SELL_SHORT}


class ClearStreetSection(ClearStreetConfig, VenueSection):
    kind: Literal["clear_street"]
    client_id: Secret
    client_secret: Secret


async def _listed_orders(adapter: ClearStreetAdapter, symbols: SymbolMaster, start: datetime,
                         end: datetime) -> list[ListedOrder]:
    listed: list[ListedOrder] = []
    for order in await adapter.http.list_orders(start, end):
        side = _SIDES.get(order.side)
        try:
            instrument = symbols.resolve(SYMBOL_SCHEME, order.symbol)
        except UnknownSymbolError:
            continue
        if side is not None and order.filled_quantity > 0:
            listed.append(ListedOrder(order.order_id, order.reference_id, instrument, side))
    return listed


async def _balances(adapter: ClearStreetAdapter) -> VenueBalances:
    """Holdings by symbol (cash under its currency code), as the custodian reports them."""
    total: dict[str, Decimal] = {}
    for row in await adapter.http.holdings():
        total[row.symbol] = total.get(row.symbol, Decimal(0)) + row.quantity
    return VenueBalances(total, {})


def _client(section: Any, symbols: SymbolMaster) -> RestExecutionClient:
    from fixgw.venues.bridge.clear_street.execution import clear_street_venue  # the HTTP stack loads when built

    return clear_street_venue(section, symbols)


PLUGIN = rest_plugin("clear_street", ClearStreetSection, _client, http_client=lambda adapter: adapter.http.client,
                     balances=_balances, listed_orders=_listed_orders)
