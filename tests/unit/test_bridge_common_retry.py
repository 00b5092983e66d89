"""Retry policy: full jitter within the exponential ceiling, Retry-After floor, bounded attempts."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixgw.venues.bridge.common.errors import VenueRejected, VenueUnknown
from fixgw.venues.bridge.common.retry import Retryable, RetryPolicy, retry_async


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@given(attempt=st.integers(1, 12), seed=st.integers(0, 2**32))
def test_delay_is_full_jitter_under_the_ceiling(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=3.0)
    delay = policy.delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(3.0, 0.1 * 2 ** (attempt - 1))


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=0.2)
    assert policy.delay(1, random.Random(1), retry_after_s=5.0) == 5.0


def test_jitter_is_deterministic_with_a_seeded_rng() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n, random.Random(7)) for n in (1, 2, 3)] == [
        policy.delay(n, random.Random(7)) for n in (1, 2, 3)
    ]


async def test_retries_until_success() -> None:
    sleeps = Sleeps()
    calls: list[int] = []

    async def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise Retryable(VenueUnknown("v", "HTTP 503", http_status=503))
        return "ok"

    result = await retry_async(flaky, RetryPolicy(max_attempts=5), rng=random.Random(1), sleep=sleeps)
    assert result == "ok"
    assert calls == [1, 2, 3]
    assert len(sleeps.calls) == 2


async def test_exhaustion_is_unknown_never_rejected() -> None:
    sleeps = Sleeps()

    async def always_429(attempt: int) -> str:
        raise Retryable(VenueUnknown("v", "rate limited", http_status=429), retry_after_s=1.0)

    with pytest.raises(VenueUnknown, match="retries exhausted"):
        await retry_async(always_429, RetryPolicy(max_attempts=3), rng=random.Random(1), sleep=sleeps)
    assert sleeps.calls == [1.0, 1.0]  # honours Retry-After between the 3 attempts


async def test_non_retryable_errors_pass_through_at_once() -> None:
    sleeps = Sleeps()

    async def rejected(attempt: int) -> str:
        raise VenueRejected("v", "insufficient funds", http_status=400)

    with pytest.raises(VenueRejected):
        await retry_async(rejected, RetryPolicy(max_attempts=5), sleep=sleeps)
    assert sleeps.calls == []


async def test_retry_after_beyond_the_cap_gives_up_without_waiting() -> None:
    sleeps = Sleeps()

    async def banned(attempt: int) -> str:
        raise Retryable(VenueUnknown("v", "banned", http_status=418), retry_after_s=600)

    with pytest.raises(VenueUnknown):
        await retry_async(banned, RetryPolicy(max_attempts=5, max_retry_after_s=30), sleep=sleeps)
    assert sleeps.calls == []


def test_a_fixed_schedule_waits_exactly_its_delays_then_gives_up() -> None:
    """The seed's 1 s / 4 s / 9 s: three retries at those delays (no jitter), then `VenueUnknown`."""
    policy = RetryPolicy.fixed((1.0, 4.0, 9.0))
    sleeps = Sleeps()
    attempts: list[int] = []

    async def failing(attempt: int) -> None:
        attempts.append(attempt)
        raise Retryable(VenueUnknown("v", "503"))

    with pytest.raises(VenueUnknown, match="retries exhausted"):
        asyncio.run(retry_async(failing, policy, sleep=sleeps))
    assert attempts == [1, 2, 3, 4] and sleeps.calls == [1.0, 4.0, 9.0]
    assert policy.delay(2, random.Random(1), retry_after_s=6.0) == 6.0  # Retry-After is still a floor


def test_a_venue_configured_retry_schedule_becomes_its_policy() -> None:
    from pydantic import ValidationError

    from fixgw.venues.bridge.common.settings import RestVenueConfig

    base = {"name": "v", "base_url": "https://v.example", "documented_rate": 10, "documented_burst": 10}
    policy = RestVenueConfig.model_validate({**base, "retry_backoff_s": [1, 4, 9]}).retry_policy()
    assert policy.schedule == (1.0, 4.0, 9.0) and policy.max_attempts == 4
    assert not RestVenueConfig.model_validate(base).retry_policy().schedule  # unset: exponential with jitter
    with pytest.raises(ValidationError, match="retry_backoff_s"):
        RestVenueConfig.model_validate({**base, "retry_backoff_s": [1, -4]})


def test_the_venue_http_client_retries_on_the_configured_schedule() -> None:
    from pydantic import SecretStr

    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp

    secret = SecretStr("c2VjcmV0")
    config = CoinbasePrimeConfig(base_url="https://prime.example", portfolio_id="pf", access_key=secret,
                                 passphrase=secret, signing_key=secret, retry_backoff_s=[1, 4, 9])
    http = CoinbasePrimeHttp(config)
    try:
        assert http.client.retry == RetryPolicy.fixed((1.0, 4.0, 9.0))
    finally:
        asyncio.run(http.aclose())
