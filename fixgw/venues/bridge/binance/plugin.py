"""Binance as a venue kind: `[venues.<name>] kind = "binance"`. No day listing in its client: reconciliation
reads the fills of our own orders only."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fixgw.secretref import Secret
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.execution import BinanceAdapter, binance_venue
from fixgw.venues.bridge.common.plugin import rest_plugin
from fixgw.venues.plugin import VenueBalances, VenueSection


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


PLUGIN = rest_plugin("binance", BinanceSection, binance_venue, http_client=lambda adapter: adapter.http.client,
                     balances=_balances)
