"""Binance as a venue kind: `[venues.<name>] kind = "binance"`. No day listing in its client: reconciliation
reads the fills of our own orders only."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from fixgw.model.instruments import SymbolMaster
from fixgw.secretref import Secret
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.common.plugin import rest_plugin
from fixgw.venues.plugin import VenueBalances, VenueSection

if TYPE_CHECKING:
    from fixgw.venues.bridge.binance.execution import BinanceAdapter
    from fixgw.venues.bridge.common.execution import RestExecutionClient


class BinanceSection(BinanceConfig, VenueSection):
    kind: Literal["binance"]
    api_key: Secret
    secret_key: Secret


async def _balances(adapter: BinanceAdapter) -> VenueBalances:
    total: dict[str, Decimal] = {}
    held: dict[str, Decimal] = {}
    for row in (await adapter.http.account()).balances:
        total[row.asset.upper()] = row.free + row.locked
        held[row.asset.upper()] = row.locked
    return VenueBalances(total, held)


def _client(section: Any, symbols: SymbolMaster) -> RestExecutionClient:
    from fixgw.venues.bridge.binance.execution import binance_venue  # the HTTP stack loads when a venue is built

    return binance_venue(section, symbols)



def _account(section: Any, symbols: SymbolMaster) -> Any:
    from fixgw.venues.bridge.binance.account import account_reader  # the HTTP stack loads when [margin] runs

    return account_reader(section, symbols)


PLUGIN = replace(rest_plugin("binance", BinanceSection, _client, http_client=lambda adapter: adapter.http.client,
                     balances=_balances), account=_account)
