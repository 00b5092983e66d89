"""Builds a venue's `VenueHttpClient` from its config; tests inject clocks, RNGs, sleeps and transports here."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import httpx

from fixgw.venues.bridge.common.clock import ClockSkewEstimator, SkewAlert
from fixgw.venues.bridge.common.http import ErrorFactory, Signer, VenueHttpClient
from fixgw.venues.bridge.common.ratelimit import RateLimiter
from fixgw.venues.bridge.common.retry import Sleep
from fixgw.venues.bridge.common.settings import RestVenueConfig
from fixgw.venues.bridge.common.wire import archive_sink


@dataclass
class ClientDeps:
    limiter: RateLimiter = field(default_factory=RateLimiter)
    rng: random.Random | None = None
    sleep: Sleep = asyncio.sleep
    transport: httpx.AsyncBaseTransport | None = None
    on_clock_alert: SkewAlert | None = None


def build_client(
    config: RestVenueConfig,
    *,
    key: str,
    signer: Signer,
    error_factory: ErrorFactory,
    deps: ClientDeps | None = None,
) -> VenueHttpClient:
    """`key` names the rate-limit bucket: the portfolio or API key the venue counts requests against."""
    deps = deps or ClientDeps()
    client = VenueHttpClient(
        venue=config.name,
        base_url=config.base_url,
        signer=signer,
        error_factory=error_factory,
        bucket=deps.limiter.bucket(config.name, key, config.rate_limit_spec()),
        retry=config.retry_policy(),
        clock=ClockSkewEstimator(alert_threshold_s=config.clock_alert_threshold_s, on_alert=deps.on_clock_alert),
        timeout_s=config.timeout_s,
        rng=deps.rng,
        sleep=deps.sleep,
        transport=deps.transport,
        max_connections=config.max_connections,
    )
    client.on_wire = archive_sink()
    return client
