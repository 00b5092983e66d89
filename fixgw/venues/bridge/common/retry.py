"""Retry with exponential backoff and FULL jitter (delay drawn uniformly from [0, min(cap, base * 2^n)]), or on a
fixed schedule (`retry_backoff_s = [1, 4, 9]`: the n-th retry waits the n-th delay, no jitter).

Only errors marked `Retryable` are retried; a venue's Retry-After is a floor on the delay. The RNG and the
sleep function are injected so tests are deterministic and instant.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from fixgw.venues.bridge.common.errors import BridgeError, VenueUnknown, VenueUnreachable

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class Retryable(Exception):
    """Wraps an error that may be retried; `error` is what surfaces when attempts run out."""

    def __init__(self, error: BridgeError, *, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.05
    max_delay_s: float = 2.0
    multiplier: float = 2.0
    max_retry_after_s: float = 30.0  # a Retry-After beyond this is not waited for: we give up instead
    schedule: tuple[float, ...] = ()
    """Fixed delays before the 1st, 2nd, ... retry (the last one repeats); empty: exponential with full jitter."""

    def __post_init__(self) -> None:
        if (self.max_attempts < 1 or self.base_delay_s < 0 or self.max_delay_s < 0 or self.multiplier < 1
                or any(delay < 0 for delay in self.schedule)):
            raise ValueError(f"invalid retry policy {self}")

    @classmethod
    def fixed(cls, delays: tuple[float, ...], *, max_retry_after_s: float = 30.0) -> RetryPolicy:
        """One attempt plus one retry per delay, waiting exactly those delays."""
        return cls(max_attempts=len(delays) + 1, schedule=delays, max_retry_after_s=max_retry_after_s)

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay after failed attempt number `attempt` (1-based)."""
        if self.schedule:
            return float(self.schedule[min(attempt, len(self.schedule)) - 1])
        return float(min(self.max_delay_s, self.base_delay_s * self.multiplier ** (attempt - 1)))

    def delay(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        planned = self.ceiling(attempt) if self.schedule else rng.uniform(0.0, self.ceiling(attempt))
        return max(planned, retry_after_s or 0.0)


async def retry_async(
    operation: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[int, float, BridgeError], None] | None = None,
) -> T:
    """Run `operation(attempt)` until it returns, raises a non-Retryable error, or attempts run out.

    Running out raises `VenueUnknown` (retry exhaustion never becomes a reject).
    """
    rng = rng or random.Random()
    last: Retryable | None = None
    unreachable = True  # every attempt failed to connect: nothing reached the venue
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return await operation(attempt)
        except Retryable as retryable:
            last = retryable
            unreachable = unreachable and isinstance(retryable.error, VenueUnreachable)
            if attempt == policy.max_attempts:
                break
            if retryable.retry_after_s is not None and retryable.retry_after_s > policy.max_retry_after_s:
                break
            delay = policy.delay(attempt, rng, retryable.retry_after_s)
            if on_retry is not None:
                on_retry(attempt, delay, retryable.error)
            await sleep(delay)
    assert last is not None
    error = last.error
    if unreachable:
        raise VenueUnreachable(error.venue, f"retries exhausted: {error.message}") from error
    if isinstance(error, VenueUnknown):
        raise VenueUnknown(error.venue, f"retries exhausted: {error.message}", http_status=error.http_status) from error
    raise VenueUnknown(error.venue, f"retries exhausted: {error.message}") from error
