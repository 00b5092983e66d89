"""The `[marketdata]` configuration section: sources, the reference policy per instrument, journaling, the
trading-day cut-off of P&L.

A source names the instruments it prices (`instruments`: canonical id -> the venue's symbol, or for an
`http_json` source the dotted JSON path of the price); an instrument's live sources are the sources that name
it. `[marketdata.instruments.<id>]` overrides `[marketdata.defaults]` for one instrument. The static price
is `risk.instruments.<id>.reference_price`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fixgw.marketdata.reference import InstrumentPolicy
from fixgw.model.decimals import Dec

SOURCE_KINDS = ("http_json", "binance_book_ticker", "coinbase_prime_l2", "falconx_quote", "fix_broker")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Section):
    kind: Literal["http_json", "binance_book_ticker", "coinbase_prime_l2", "falconx_quote", "fix_broker"]
    url: str | None = None
    """http_json: the URL polled; binance_book_ticker: the REST base (default https://api.binance.com);
    coinbase_prime_l2: the WebSocket feed (default wss://ws-feed.prime.coinbase.com)."""
    venue: str | None = None
    """coinbase_prime_l2 / falconx_quote: the `venues.<name>` whose credentials sign; fix_broker: the
    `brokers.<name>` session that carries the MarketDataRequest (its dialect must say `market_data = true`)."""
    instruments: dict[str, str] = Field(min_length=1)
    """Canonical instrument id -> the venue's symbol (http_json: dotted JSON path to the price, e.g.
    "prices.BTC.usd"; list items by index, e.g. "data.0.price")."""
    quote_quantity: Dec | None = Field(default=None, gt=0)
    """falconx_quote: the base quantity each indicative two-way quote is asked for (required)."""
    poll_s: float = Field(default=1.0, gt=0, le=3600)
    """Polling sources: seconds between requests."""
    timeout_s: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _needs(self) -> SourceConfig:
        if self.kind == "http_json" and not self.url:
            raise ValueError("url is required for an http_json source")
        if self.kind == "coinbase_prime_l2" and not self.venue:
            raise ValueError("venue (a coinbase_prime venue, for its credentials) is required for coinbase_prime_l2")
        if self.kind == "falconx_quote" and (not self.venue or self.quote_quantity is None):
            raise ValueError("venue (a falconx venue) and quote_quantity are required for falconx_quote")
        if self.kind == "fix_broker" and not self.venue:
            raise ValueError("venue (a brokers.<name> session) is required for fix_broker")
        return self


class ReferencePolicy(_Section):
    max_age_s: Dec = Field(default=Decimal(10), gt=0)
    """A quote older than this (by OUR receive time) is stale."""
    divergence_pct: Dec = Field(default=Decimal(2), gt=0)
    """A fresh source further than this from the median of the fresh sources is flagged and left out."""
    on_no_reference: Literal["deny", "static"] = "deny"
    """With no fresh source: deny orders that need a reference, or use the static price (with a warning)."""


class MarketDataConfig(_Section):
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    defaults: ReferencePolicy = ReferencePolicy()
    instruments: dict[str, ReferencePolicy] = Field(default_factory=dict)
    journal_period_s: int = Field(default=60, ge=0, le=86_400)
    """Every this many seconds each reference (price, state, sources) is journaled; 0 = never."""
    day_cutoff: time = time(0, 0)
    """The trading day's start (UTC) for the day's P&L, its high-water mark and the loss stops."""

    def policies(self, static_prices: Mapping[str, Decimal]) -> dict[str, InstrumentPolicy]:
        """The reference policy of every instrument that has a live source or a static price."""
        live: dict[str, list[str]] = {}
        for name, source in sorted(self.sources.items()):
            for instrument_id in source.instruments:
                live.setdefault(instrument_id, []).append(name)
        found = {}
        for instrument_id in sorted(set(live) | set(static_prices) | set(self.instruments)):
            policy = self.instruments.get(instrument_id, self.defaults)
            found[instrument_id] = InstrumentPolicy(
                max_age=timedelta(seconds=float(policy.max_age_s)), divergence_pct=policy.divergence_pct,
                on_no_reference=policy.on_no_reference, static_price=static_prices.get(instrument_id),
                live_sources=tuple(live.get(instrument_id, ())))
        return found


def venue_source_errors(config: MarketDataConfig, venues: Mapping[str, Any]) -> list[str]:
    """Sources that read a REST venue's market data must name a configured venue of the matching kind."""
    labels = {"coinbase_prime_l2": "Coinbase Prime", "falconx_quote": "FalconX"}
    reading = {name: source for name, source in config.sources.items() if source.kind in labels}
    if not reading:
        return []   # the venues' config models load only when a source reads one (restart time)
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.falconx.config import FalconXConfig

    models: dict[str, type] = {"coinbase_prime_l2": CoinbasePrimeConfig, "falconx_quote": FalconXConfig}
    errors = []
    for name, source in reading.items():
        if not isinstance(venues.get(source.venue or ""), models[source.kind]):
            errors.append(f"marketdata.sources.{name}.venue: {source.venue!r} is not a {labels[source.kind]} venue "
                          "under venues")
    return errors
