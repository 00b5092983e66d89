"""Server-side token buckets: how the simulated venues decide to answer 429."""

from __future__ import annotations

import time

from fixgw.sim.crypto_pb.settings import BucketSpec


class ServerBucket:
    def __init__(self, spec: BucketSpec) -> None:
        self.spec = spec
        self.tokens = spec.burst
        self.updated = time.monotonic()

    def try_take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.spec.burst, self.tokens + (now - self.updated) * self.spec.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class ServerRateLimits:
    """One bucket per (venue, account); an account is a portfolio id or an API key."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], ServerBucket] = {}

    def allow(self, venue: str, account: str, spec: BucketSpec) -> bool:
        bucket = self._buckets.get((venue, account))
        if bucket is None or bucket.spec != spec:
            bucket = self._buckets[(venue, account)] = ServerBucket(spec)
        return bucket.try_take()

    def reset(self) -> None:
        self._buckets.clear()
