"""FalconX connection settings; the API secret is base64 as FalconX issues it."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from fixgw.venues.bridge.common.settings import RestVenueConfig


class FalconXConfig(RestVenueConfig):
    name: str = "falconx"
    base_url: str = "https://api.falconx.io"
    api_key: SecretStr
    passphrase: SecretStr
    secret: SecretStr
    """Base64 as issued; decoded before use as the HMAC key."""
    order_api: Literal["v1", "v3"] = "v3"
    """Which order endpoint the execution client uses; both stay usable from `FalconXHttp`."""
    slippage_bps: int | None = None
    # FalconX publishes no per-key figure we rely on: a conservative guess, at 70%.
    documented_rate: float = 10.0
    documented_burst: float = 20.0
