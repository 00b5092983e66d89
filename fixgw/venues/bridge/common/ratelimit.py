"""Client-side token buckets per (venue, key): requests wait their turn instead of failing.

By default a bucket runs at 70% of the venue's documented rate and burst, so we stay clear of 429s even when
the venue's clock for its window differs from ours. Clock and sleep are injectable for instant tests.

HA takeover (`spend_all`): the new active's buckets start empty, not full. The old active may have spent its whole
burst just before it died; its own bucket would be empty now, plus what refilled since - and the new active,
starting from nothing at a moment after the old one's last request, can never exceed what one uninterrupted node
would have sent. The cost is a burst's worth of refill (burst / rate seconds at most) at the venue's own pace;
nothing needs recording on the active while it trades.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

DEFAULT_FRACTION = 0.7

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RateLimitSpec:
    """A venue's documented limit and the share of it we allow ourselves."""

    documented_rate: float  # requests per second
    documented_burst: float
    fraction: float = DEFAULT_FRACTION

    def __post_init__(self) -> None:
        if self.documented_rate <= 0 or self.documented_burst < 1 or not 0 < self.fraction <= 1:
            raise ValueError(f"invalid rate limit {self}")

    @property
    def rate(self) -> float:
        return self.documented_rate * self.fraction

    @property
    def burst(self) -> float:
        return max(1.0, self.documented_burst * self.fraction)


@dataclass(frozen=True)
class RateLimitUsage:
    """A metrics snapshot of one bucket."""

    venue: str
    key: str
    rate: float
    burst: float
    available: float
    waiting: int
    acquired_total: int
    waited_total_s: float
    penalties_total: int


class TokenBucket:
    def __init__(
        self,
        spec: RateLimitSpec,
        *,
        venue: str = "",
        key: str = "",
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.venue = venue
        self.key = key
        self._clock = clock
        self._sleep = sleep
        self._tokens = spec.burst
        self._updated = clock()
        self._blocked_until = 0.0
        self._turn = asyncio.Lock()  # FIFO: waiters are served in arrival order
        self._waiting = 0
        self._acquired = 0
        self._waited_s = 0.0
        self._penalties = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.spec.burst, self._tokens + (now - self._updated) * self.spec.rate)
        self._updated = now

    def _wait_needed(self) -> float:
        self._refill()
        now = self._clock()
        blocked = max(0.0, self._blocked_until - now)
        short = max(0.0, (1.0 - self._tokens) / self.spec.rate)
        return max(blocked, short)

    async def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        self._waiting += 1
        waited = 0.0
        try:
            async with self._turn:
                while (delay := self._wait_needed()) > 0:
                    await self._sleep(delay)
                    waited += delay
                self._tokens -= 1.0
                self._acquired += 1
                self._waited_s += waited
        finally:
            self._waiting -= 1
        return waited

    def spend_all(self) -> None:
        """Start from an empty bucket: it refills at the rate from now (an HA node that just took over)."""
        self._tokens = 0.0
        self._updated = self._clock()

    def penalize(self, seconds: float) -> None:
        """The venue said 'back off' (429 + Retry-After): nobody sends on this key for `seconds`."""
        self._penalties += 1
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 0.0)

    def usage(self) -> RateLimitUsage:
        self._refill()
        return RateLimitUsage(
            venue=self.venue,
            key=self.key,
            rate=self.spec.rate,
            burst=self.spec.burst,
            available=self._tokens,
            waiting=self._waiting,
            acquired_total=self._acquired,
            waited_total_s=self._waited_s,
            penalties_total=self._penalties,
        )


class RateLimiter:
    """The buckets of one process, one per (venue, key): a key is a portfolio, an API key or an IP."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, venue: str, key: str, spec: RateLimitSpec) -> TokenBucket:
        found = self._buckets.get((venue, key))
        if found is None:
            found = TokenBucket(spec, venue=venue, key=key, clock=self._clock, sleep=self._sleep)
            self._buckets[(venue, key)] = found
        return found

    def usage(self) -> list[RateLimitUsage]:
        return [bucket.usage() for bucket in self._buckets.values()]
