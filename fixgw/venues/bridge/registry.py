"""Which execution client serves which REST venue config: the gateway builds its REST venues through here."""

from __future__ import annotations

from fixgw.model.instruments import SymbolMaster
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.execution import binance_venue
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.execution import coinbase_prime_venue
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.common.settings import RestVenueConfig
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.execution import falconx_venue


def build_rest_venue(config: RestVenueConfig, symbols: SymbolMaster) -> RestExecutionClient:
    """The execution client for a venue config (its class says which venue); `config.name` is the route name."""
    if isinstance(config, CoinbasePrimeConfig):
        return coinbase_prime_venue(config, symbols)
    if isinstance(config, FalconXConfig):
        return falconx_venue(config, symbols)
    if isinstance(config, BinanceConfig):
        return binance_venue(config, symbols)
    raise TypeError(f"no REST venue adapter for {type(config).__name__}")
