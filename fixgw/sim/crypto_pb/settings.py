"""Settings of the crypto prime-broker simulator: credentials, fill behaviour, rate limits, prices."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from decimal import Decimal

ENV_ACCESS_KEY = "FIXGW_SIM_ACCESS_KEY"
ENV_PASSPHRASE = "FIXGW_SIM_PASSPHRASE"
ENV_SIGNING_KEY = "FIXGW_SIM_SIGNING_KEY"

# Valid as a raw UTF-8 key (Coinbase, Binance) and as base64 (FalconX decodes its secret).
DEFAULT_SIGNING_KEY = base64.b64encode(b"fixgw-simulator-signing-key").decode()


@dataclass(frozen=True)
class SimCredentials:
    """The one key set the simulator accepts, for every venue it imitates."""

    access_key: str = "sim-access-key"
    passphrase: str = "sim-passphrase"
    signing_key: str = DEFAULT_SIGNING_KEY

    def __repr__(self) -> str:  # never print secrets
        return f"SimCredentials(access_key={self.access_key!r}, passphrase=***, signing_key=***)"

    @classmethod
    def from_env(
        cls,
        access_key: str | None = None,
        passphrase: str | None = None,
        signing_key: str | None = None,
    ) -> SimCredentials:
        """Explicit arguments win over FIXGW_SIM_* environment variables, which win over defaults."""
        defaults = cls()
        return cls(
            access_key=access_key or os.environ.get(ENV_ACCESS_KEY) or defaults.access_key,
            passphrase=passphrase or os.environ.get(ENV_PASSPHRASE) or defaults.passphrase,
            signing_key=signing_key or os.environ.get(ENV_SIGNING_KEY) or defaults.signing_key,
        )


@dataclass(frozen=True)
class BucketSpec:
    """A token bucket: `rate` tokens per second, at most `burst` saved up."""

    rate: float
    burst: float


@dataclass(frozen=True)
class ProductSpec:
    product_id: str  # Coinbase form, BASE-QUOTE
    base_increment: Decimal
    quote_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal = Decimal("10000")

    @property
    def base(self) -> str:
        return self.product_id.split("-")[0]

    @property
    def quote(self) -> str:
        return self.product_id.split("-")[1]


def default_products() -> tuple[ProductSpec, ...]:
    d = Decimal
    specs = [
        ProductSpec("BTC-USD", d("0.00000001"), d("0.01"), d("0.0001")),
        ProductSpec("ETH-USD", d("0.00000001"), d("0.01"), d("0.001")),
        ProductSpec("SOL-USD", d("0.001"), d("0.01"), d("0.01")),
        ProductSpec("LTC-USD", d("0.0001"), d("0.01"), d("0.01")),
        ProductSpec("DOGE-USD", d("0.1"), d("0.00001"), d("1"), d("10000000")),
        ProductSpec("BTC-USDT", d("0.00001"), d("0.01"), d("0.00001")),
        ProductSpec("ETH-USDT", d("0.0001"), d("0.01"), d("0.0001")),
        ProductSpec("SOL-USDT", d("0.001"), d("0.01"), d("0.001")),
    ]
    return tuple(specs)


def default_reference_prices() -> dict[str, Decimal]:
    """Price of one unit of each base asset in USD (USDT is treated as USD)."""
    return {
        "BTC": Decimal("65000.00"),
        "ETH": Decimal("3500.00"),
        "SOL": Decimal("150.00"),
        "LTC": Decimal("80.00"),
        "DOGE": Decimal("0.15000"),
    }


def default_equities() -> tuple[ProductSpec, ...]:
    """US equities for the Clear Street front end: whole shares, cent ticks (symbol-USD, CMS symbols)."""
    d = Decimal
    return tuple(ProductSpec(f"{symbol}-USD", d("1"), d("0.01"), d("1"), d("1000000"))
                 for symbol in ("AAPL", "MSFT", "SPY", "BRK B"))


def default_equity_prices() -> dict[str, Decimal]:
    return {"AAPL": Decimal("190.00"), "MSFT": Decimal("420.00"), "SPY": Decimal("520.00"),
            "BRK B": Decimal("410.00")}


@dataclass(frozen=True)
class OAuthClient:
    """The one OAuth 2.0 client the simulated Clear Street token endpoint knows."""

    client_id: str = "sim-clear-street-client"
    client_secret: str = "sim-clear-street-secret"
    audience: str = "https://api.clearstreet.io"

    def __repr__(self) -> str:  # never print secrets
        return f"OAuthClient(client_id={self.client_id!r}, client_secret=***, audience={self.audience!r})"


@dataclass
class SimSettings:
    """Mutable at run time through the control API (POST /_sim/config)."""

    credentials: SimCredentials = field(default_factory=SimCredentials.from_env)
    slippage_bps: Decimal = Decimal("5")
    fee_bps: Decimal = Decimal("5")
    quote_spread_bps: Decimal = Decimal("10")
    quote_ttl_s: float = 10.0
    limit_slices: int = 3
    slice_interval_s: float = 0.2
    coinbase_timestamp_window_s: float = 30.0
    falconx_timestamp_window_s: float = 30.0
    # Documented limits: Coinbase Prime 25/s per portfolio burst 50; the others are plausible guesses.
    coinbase_bucket: BucketSpec = field(default_factory=lambda: BucketSpec(25, 50))
    falconx_bucket: BucketSpec = field(default_factory=lambda: BucketSpec(10, 20))
    binance_bucket: BucketSpec = field(default_factory=lambda: BucketSpec(20, 100))
    clear_street_bucket: BucketSpec = field(default_factory=lambda: BucketSpec(20, 40))
    clear_street_client: OAuthClient = field(default_factory=OAuthClient)
    clear_street_token_ttl_s: float = 86400.0  # Studio's documented token lifetime: 24 h
    rate_limit_retry_after_s: int = 1
    products: tuple[ProductSpec, ...] = field(default_factory=default_products)
    reference_prices: dict[str, Decimal] = field(default_factory=default_reference_prices)
    equities: tuple[ProductSpec, ...] = field(default_factory=default_equities)
    equity_prices: dict[str, Decimal] = field(default_factory=default_equity_prices)
