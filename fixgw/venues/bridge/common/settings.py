"""Configuration every REST venue shares; each venue's `config.py` extends it with its credentials (an OAuth 2.0
venue mixes in `OAuthClientConfig`, served by `oauth.py:TokenProvider`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fixgw.venues.bridge.common.ratelimit import DEFAULT_FRACTION, RateLimitSpec
from fixgw.venues.bridge.common.retry import RetryPolicy


class RestVenueConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    """Venue name as the router knows it (used in events, logs, ExecID de-duplication)."""
    base_url: str
    timeout_s: float = Field(10.0, gt=0)
    documented_rate: float = Field(gt=0)
    """The venue's documented requests per second for one key."""
    documented_burst: float = Field(ge=1)
    rate_fraction: float = Field(DEFAULT_FRACTION, gt=0, le=1)
    retry_attempts: int = Field(4, ge=1, le=20)
    retry_base_delay_s: float = Field(0.05, ge=0)
    retry_max_delay_s: float = Field(2.0, ge=0)
    max_retry_after_s: float = Field(30.0, ge=0)
    retry_backoff_s: list[float] | None = Field(None, min_length=1, max_length=10)
    """A fixed retry schedule in seconds, e.g. [1, 4, 9] (one retry per delay, no jitter): replaces retry_attempts,
    retry_base_delay_s and retry_max_delay_s. Unset: exponential backoff with full jitter."""
    max_submit_attempts: int = Field(3, ge=1, le=10)
    """Sends of one order at most, on a venue that refuses repeated client order ids; elsewhere one send."""
    create_settle_s: float = Field(30.0, gt=0)
    """A create of unknown outcome is looked up (never sent again) until this long after its last send; found
    by then it is accepted, else the EMS gets a reject "not placed". Longer than the venue's slowest commit."""
    poll_interval_s: float = Field(1.0, gt=0)
    poll_share: float = Field(0.3, gt=0, le=1)
    """Share of our request rate the status poll may spend; the rest stays for orders and cancels. A pass polls
    at most rate x share x interval orders (at least one), the least recently refreshed first."""
    clock_alert_threshold_s: float = Field(5.0, gt=0)
    max_connections: int = Field(20, ge=1)
    probe_interval_s: float = Field(5.0, gt=0)
    """An authenticated GET (balances) this often measures the venue's round trip and whether it answers."""
    down_after: int = Field(3, ge=1)
    """Failed probes or requests in a row (timeouts, 5xx, no connection) after which the venue is down: not
    connected for /readyz, fixgw_session_up and the session_down alert, and new orders go to the rule's backup."""
    up_after: int = Field(2, ge=1)
    """Good probes in a row that bring a down venue back up."""
    max_market_order_age_s: float = Field(5.0, gt=0)
    """An order that arrives while the venue is down is held, not failed; a market order held longer than this
    is rejected to the EMS instead of being sent late at a price nobody wanted any more."""
    stale_limit_orders: Literal["send", "reject"] = "send"
    """A limit order held longer than `max_market_order_age_s`: "send" it once the venue is back, or "reject"."""
    unknown_orders: Literal["alert", "cancel"] = "alert"
    """An open order at the venue that fixgw does not know (a manual trade, another system on the same account),
    found by the open-orders sweep: "alert" (once per order), or "cancel" it at the venue as well."""
    open_orders_sweep_s: float = Field(30.0, gt=0)
    """How often the venue's open orders are listed and compared with ours (one listing request per sweep)."""
    headroom_alert_share: float = Field(0.7, gt=0, le=1)
    """Alert when our request rate over `headroom_window_s` reaches this share of `documented_rate` (the seed:
    approaching 70% of the PB's limit means planning for scaling); cleared when it drops below again."""
    headroom_window_s: float = Field(60.0, gt=0)
    """The window the request rate is averaged over for the headroom alert and `fixgw_venue_rate_used_share`."""
    day_orders: Literal["reject", "as_gtc", "native"] = "reject"
    """DAY time in force (FIX 59=0, what most EMSs send by default) has no meaning on a 24/7 crypto venue: "reject"
    refuses such non-market orders with a reason before anything is sent; "as_gtc" sends them as GTC; "native"
    sends them as DAY (a venue with trading sessions, e.g. US equities at Clear Street)."""

    @field_validator("retry_backoff_s")
    @classmethod
    def _delays_not_negative(cls, delays: list[float] | None) -> list[float] | None:
        if delays is not None and any(delay < 0 for delay in delays):
            raise ValueError("retry delays must be >= 0 seconds")
        return delays

    def rate_limit_spec(self) -> RateLimitSpec:
        return RateLimitSpec(self.documented_rate, self.documented_burst, self.rate_fraction)

    def polls_per_pass(self) -> int:
        return max(1, int(self.rate_limit_spec().rate * self.poll_share * self.poll_interval_s))

    def retry_policy(self) -> RetryPolicy:
        if self.retry_backoff_s:
            return RetryPolicy.fixed(tuple(self.retry_backoff_s), max_retry_after_s=self.max_retry_after_s)
        return RetryPolicy(
            max_attempts=self.retry_attempts,
            base_delay_s=self.retry_base_delay_s,
            max_delay_s=self.retry_max_delay_s,
            max_retry_after_s=self.max_retry_after_s,
        )


class OAuthClientConfig(BaseModel):
    """The token endpoint settings a venue config mixes in (its section types the two ids as `Secret`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token_url: str
    client_id: SecretStr
    client_secret: SecretStr
    audience: str | None = None
    """The API the token is for (Auth0's `audience` parameter)."""
    scope: str | None = None
    token_body: Literal["form", "json"] = "form"
    """How the grant is posted: RFC 6749's form encoding, or JSON (Auth0 accepts both)."""
    token_expiry_margin_s: float = Field(60.0, ge=0)
    """A token is replaced this long before its `expires_in` runs out (clock differences, requests in flight)."""

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value
