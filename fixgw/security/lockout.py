"""Exponential lockout after repeated logon failures, per key (an EMS session, a source address).

After `max_failures` consecutive failures a key is locked for `base_seconds`, doubling with every further
failure up to `max_seconds`; a success clears it. Thread-safe: QuickFIX calls in from its own threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000
"""Most keys remembered: an attacker cycling source addresses cannot grow this without bound."""


@dataclass(slots=True)
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class LogonThrottle:
    def __init__(self, *, max_failures: int = 5, base_seconds: float = 1.0, max_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_failures < 1 or base_seconds <= 0 or max_seconds < base_seconds:
            raise ValueError("need max_failures >= 1 and 0 < base_seconds <= max_seconds")
        self.max_failures = max_failures
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def locked_for(self, key: str) -> float:
        """Seconds `key` stays locked from now; 0 when it may try."""
        with self._lock:
            record = self._records.get(key)
            return max(0.0, record.locked_until - self._clock()) if record else 0.0

    def failure(self, key: str) -> float:
        """Count a failure; returns the lockout it starts now in seconds (0 below the threshold)."""
        with self._lock:
            record = self._records.pop(key, None) or _Record()
            self._records[key] = record  # most recently failed last: evicted last
            while len(self._records) > MAX_KEYS:
                self._records.popitem(last=False)
            record.failures += 1
            excess = record.failures - self.max_failures
            if excess < 0:
                return 0.0
            seconds = min(self.max_seconds, self.base_seconds * (1 << min(excess, 32)))
            record.locked_until = self._clock() + seconds
            return seconds

    def success(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def failures(self, key: str) -> int:
        with self._lock:
            record = self._records.get(key)
            return record.failures if record else 0
