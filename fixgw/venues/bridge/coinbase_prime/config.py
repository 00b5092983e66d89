"""Coinbase Prime connection settings; secrets are SecretStr and never printed."""

from __future__ import annotations

from pydantic import Field, SecretStr

from fixgw.venues.bridge.common.settings import RestVenueConfig


class CoinbasePrimeConfig(RestVenueConfig):
    name: str = "coinbase_prime"
    base_url: str = "https://api.prime.coinbase.com"
    """Without /v1: request paths carry it, because the signature covers the full /v1/... path."""
    ws_url: str | None = None
    """wss://ws-feed.prime.coinbase.com; when set, order state comes from the orders channel and fills from batched
    reads while it is subscribed (one request per order), and orders are polled over REST while it is down."""
    portfolio_id: str = Field(min_length=1)
    service_account_id: str = ""
    """The key id (`api_key_id`) the WebSocket subscribe signature covers."""
    access_key: SecretStr
    passphrase: SecretStr
    signing_key: SecretStr
    documented_rate: float = 25.0  # per portfolio
    documented_burst: float = 50.0
