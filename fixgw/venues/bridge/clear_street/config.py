"""Clear Street connection settings: the Studio API base, the account, and the OAuth 2.0 client credentials.

Defaults are the documented production endpoints (docs.clearstreet.io/studio: "REST" and "OAuth2"); the sandbox
API is `https://sandbox-api.clearstreet.io/studio/v2`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fixgw.venues.bridge.common.settings import OAuthClientConfig, RestVenueConfig


class ClearStreetConfig(RestVenueConfig, OAuthClientConfig):
    name: str = "clear_street"
    base_url: str = "https://api.clearstreet.io/studio/v2"
    account_id: str = Field(min_length=1)
    """The Studio account ID (or account number) orders are placed for."""
    token_url: str = "https://auth.clearstreet.io/oauth/token"
    audience: str | None = "https://api.clearstreet.io"
    token_body: Literal["form", "json"] = "json"  # as Clear Street's SDKs post the grant
    # Studio documents throttling (429) but no per-client figure: a conservative guess, at 70%.
    documented_rate: float = 10.0
    documented_burst: float = 20.0
    day_orders: Literal["reject", "as_gtc", "native"] = "native"
    """US equities have a DAY time in force of their own: DAY orders go out as `day`."""
