"""Binance spot connection settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from fixgw.venues.bridge.common.settings import RestVenueConfig


class BinanceConfig(RestVenueConfig):
    name: str = "binance"
    base_url: str = "https://api.binance.com"
    api_key: SecretStr
    secret_key: SecretStr
    recv_window_ms: int = Field(5000, ge=1, le=60000)
    # Binance counts ORDERS at 50 per 10 s and request weight at 6000 per minute; one bucket at the order
    # rate (then 70% of it) keeps both satisfied for this client's request mix.
    documented_rate: float = 5.0
    documented_burst: float = 50.0
