"""FalconX connection settings; the API secret is base64 as FalconX issues it.

API versions: `api_versions` lists the versions to use, preferred first; each endpoint is called on the first
listed version publishing it (`http.ENDPOINTS`), falling back to the next on 404/410. `accounts.<account>`
gives one FIX account (tag 1) its own list for the calls made for its orders, so a desk moves accounts to a new
version one at a time. `order_api` is the deprecated single-version form.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from fixgw.venues.bridge.common.settings import RestVenueConfig

API_VERSIONS = ("v3", "v1")
"""The versions FalconX publishes, newest first."""
DEFAULT_API_VERSIONS = ("v3", "v1")


def _checked_versions(versions: tuple[str, ...]) -> tuple[str, ...]:
    if not versions:
        raise ValueError(f"empty: list at least one API version ({', '.join(API_VERSIONS)})")
    unknown = [v for v in versions if v not in API_VERSIONS]
    if unknown:
        raise ValueError(f"unknown API version {unknown[0]!r}: FalconX has {', '.join(API_VERSIONS)}")
    if len(set(versions)) != len(versions):
        raise ValueError(f"a version is listed twice: {list(versions)}")
    return versions


class FalconXAccount(BaseModel):
    """`[venues.<name>.accounts.<account>]`: how the orders of one FIX account (tag 1) reach FalconX."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_versions: tuple[str, ...]
    """Preferred first, for this account's creates and order reads; venue-wide reads keep the venue's list."""

    @field_validator("api_versions")
    @classmethod
    def _versions(cls, versions: tuple[str, ...]) -> tuple[str, ...]:
        return _checked_versions(versions)


class FalconXConfig(RestVenueConfig):
    name: str = "falconx"
    base_url: str = "https://api.falconx.io"
    api_key: SecretStr
    passphrase: SecretStr
    secret: SecretStr
    """Base64 as issued; decoded before use as the HMAC key."""
    api_versions: tuple[str, ...] | None = None
    """Preferred first; None: `order_api` if given, else v3 then v1."""
    order_api: Literal["v1", "v3"] | None = None
    """Deprecated: "v3" is `api_versions = ["v3", "v1"]`, "v1" is `["v1"]`."""
    api_version_recheck_s: float = Field(600.0, gt=0)
    """A version that answered 404/410 for an endpoint is skipped there this long, then asked again."""
    accounts: dict[str, FalconXAccount] = Field(default_factory=dict)
    """Per FIX account (tag 1): its own `api_versions` (the migration switch)."""
    slippage_bps: int | None = None
    # FalconX publishes no per-key figure we rely on: a conservative guess, at 70%.
    documented_rate: float = 10.0
    documented_burst: float = 20.0

    @field_validator("api_versions")
    @classmethod
    def _versions(cls, versions: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if versions is None else _checked_versions(versions)

    @field_validator("order_api")
    @classmethod
    def _one_form(cls, order_api: str | None, info: ValidationInfo) -> str | None:
        if order_api is not None and info.data.get("api_versions") is not None:
            raise ValueError("deprecated, and api_versions is set too: keep only api_versions")
        return order_api

    @field_validator("accounts")
    @classmethod
    def _account_names(cls, accounts: dict[str, FalconXAccount]) -> dict[str, FalconXAccount]:
        if any(not name.strip() for name in accounts):
            raise ValueError("an account name is empty")
        return accounts

    @property
    def venue_api_versions(self) -> tuple[str, ...]:
        """The venue-wide preference: balances, order listings, quotes, transfers, and accounts not listed."""
        if self.api_versions is not None:
            return self.api_versions
        if self.order_api == "v1":
            return ("v1",)
        return DEFAULT_API_VERSIONS

    def api_versions_for(self, account: str | None) -> tuple[str, ...]:
        """The preference for the calls made for an order of this FIX account."""
        chosen = self.accounts.get(account) if account is not None else None
        return chosen.api_versions if chosen is not None else self.venue_api_versions
