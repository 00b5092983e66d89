"""Coinbase Prime as a venue kind: `[venues.<name>] kind = "coinbase_prime"`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fixgw.model.enums import Side
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import SymbolMaster
from fixgw.secretref import Secret
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.mapping import SYMBOL_SCHEME
from fixgw.venues.bridge.common.plugin import rest_plugin
from fixgw.venues.plugin import ListedOrder, VenueBalances, VenueSection

if TYPE_CHECKING:
    from fixgw.venues.bridge.coinbase_prime.execution import CoinbasePrimeAdapter
    from fixgw.venues.bridge.common.execution import RestExecutionClient

_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


class CoinbasePrimeSection(CoinbasePrimeConfig, VenueSection):
    kind: Literal["coinbase_prime"]
    access_key: Secret
    passphrase: Secret
    signing_key: Secret


async def _listed_orders(adapter: CoinbasePrimeAdapter, symbols: SymbolMaster, start: datetime,
                         end: datetime) -> list[ListedOrder]:
    listed: list[ListedOrder] = []
    for order in await adapter.http.list_orders(start):
        side = _SIDES.get(order.side)
        try:
            instrument = symbols.resolve(SYMBOL_SCHEME, order.product_id)
        except UnknownSymbolError:
            continue
        if side is not None and order.filled_quantity > 0:
            listed.append(ListedOrder(order.id, order.client_order_id, instrument, side))
    return listed


async def _balances(adapter: CoinbasePrimeAdapter) -> VenueBalances:
    total: dict[str, Decimal] = {}
    held: dict[str, Decimal] = {}
    for row in await adapter.http.balances():
        total[row.symbol.upper()] = row.amount
        held[row.symbol.upper()] = row.holds or Decimal(0)
    return VenueBalances(total, held)


def _client(section: Any, symbols: SymbolMaster) -> RestExecutionClient:
    from fixgw.venues.bridge.coinbase_prime.execution import (
        coinbase_prime_venue,  # the HTTP stack loads when a venue is built
    )

    return coinbase_prime_venue(section, symbols)



def _account(section: Any, symbols: SymbolMaster) -> Any:
    from fixgw.venues.bridge.coinbase_prime.account import account_reader  # the HTTP stack loads when [margin] runs

    return account_reader(section, symbols)


PLUGIN = replace(rest_plugin("coinbase_prime", CoinbasePrimeSection, _client,
                     http_client=lambda adapter: adapter.http.client, balances=_balances,
                     listed_orders=_listed_orders), account=_account)
