"""Token buckets: queueing instead of failing, 70% default, Retry-After penalties; fake clock, instant."""

from __future__ import annotations

import asyncio

import pytest

from fixgw.venues.bridge.common.ratelimit import RateLimiter, RateLimitSpec, TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_spec_defaults_to_seventy_percent_of_documented_limit() -> None:
    spec = RateLimitSpec(documented_rate=25, documented_burst=50)
    assert spec.rate == pytest.approx(17.5)
    assert spec.burst == pytest.approx(35)


@pytest.mark.parametrize("rate, burst, fraction", [(0, 10, 0.7), (10, 0, 0.7), (10, 10, 0), (10, 10, 1.5)])
def test_spec_rejects_nonsense(rate: float, burst: float, fraction: float) -> None:
    with pytest.raises(ValueError):
        RateLimitSpec(rate, burst, fraction)


async def test_burst_passes_then_requests_wait_at_the_rate() -> None:
    fake = FakeTime()
    bucket = TokenBucket(RateLimitSpec(10, 4, fraction=1.0), clock=fake.clock, sleep=fake.sleep)
    waits = [await bucket.acquire() for _ in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(0.1)
    assert waits[5] == pytest.approx(0.1)
    usage = bucket.usage()
    assert usage.acquired_total == 6
    assert usage.waited_total_s == pytest.approx(0.2)


async def test_concurrent_waiters_queue_in_order_and_all_succeed() -> None:
    fake = FakeTime()
    bucket = TokenBucket(RateLimitSpec(5, 1, fraction=1.0), clock=fake.clock, sleep=fake.sleep)
    order: list[int] = []

    async def worker(n: int) -> None:
        await bucket.acquire()
        order.append(n)

    await asyncio.gather(*(worker(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert fake.now == pytest.approx(1000.8)  # 4 waits of 1/5 s after the first token


async def test_penalty_blocks_the_key_for_retry_after() -> None:
    fake = FakeTime()
    bucket = TokenBucket(RateLimitSpec(100, 100, fraction=1.0), clock=fake.clock, sleep=fake.sleep)
    bucket.penalize(3.0)
    waited = await bucket.acquire()
    assert waited >= 3.0
    assert bucket.usage().penalties_total == 1


def test_limiter_keeps_one_bucket_per_venue_and_key() -> None:
    limiter = RateLimiter()
    spec = RateLimitSpec(25, 50)
    a = limiter.bucket("coinbase_prime", "p-1", spec)
    assert limiter.bucket("coinbase_prime", "p-1", spec) is a
    assert limiter.bucket("coinbase_prime", "p-2", spec) is not a
    assert {(u.venue, u.key) for u in limiter.usage()} == {("coinbase_prime", "p-1"), ("coinbase_prime", "p-2")}


async def test_a_bucket_taken_over_starts_spent_and_refills_at_the_rate() -> None:
    """HA takeover: the old active may have just spent the burst. The new active's bucket starts empty, so the
    two together never send more than one uninterrupted bucket would have."""
    fake = FakeTime()
    spec = RateLimitSpec(8, 4, fraction=1.0)  # binary fractions: the fake clock adds up exactly
    old = TokenBucket(spec, clock=fake.clock, sleep=fake.sleep)
    sent = [fake.now for _ in range(4) if await old.acquire() == 0.0]  # the burst, just before it died
    fake.now += 0.125
    new = TokenBucket(spec, clock=fake.clock, sleep=fake.sleep)
    new.spend_all()
    assert new.usage().available == 0.0
    for _ in range(6):
        await new.acquire()
        sent.append(fake.now)
    start = sent[0]
    assert all(sum(1 for at in sent if at <= t) <= spec.burst + (t - start) * spec.rate + 1e-9 for t in sent)
    assert fake.now == 1000.875  # 6 requests at 8/s from the takeover at 1000.125, none at once


def test_a_rest_venue_built_for_a_takeover_starts_with_its_budget_spent() -> None:
    from pydantic import SecretStr

    from fixgw.model.instruments import SymbolMaster
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.coinbase_prime.plugin import PLUGIN
    from fixgw.venues.plugin import BuildContext

    config = CoinbasePrimeConfig.model_validate({
        "base_url": "http://127.0.0.1:9", "portfolio_id": "pf-1", "access_key": SecretStr("k"),
        "passphrase": SecretStr("p"), "signing_key": SecretStr("s")})
    available = {}
    for spent in (False, True):
        venue = PLUGIN.build(config.name, config, BuildContext(SymbolMaster([]), budgets_spent=spent))
        available[spent] = venue.adapter.http.client.bucket.usage().available  # type: ignore[attr-defined]
    assert available[False] == config.rate_limit_spec().burst and available[True] < 1
