"""Fault injection: the next N requests of a route misbehave in a chosen way."""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    ERROR_500 = "error_500"  # 500 before processing: nothing happened at the venue
    ERROR_500_AFTER = "error_500_after"  # processed, then 500: the client cannot know the outcome
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After, nothing processed
    DELAY = "delay"  # processed, then the answer is held for delay_s (past the client's timeout)
    DROP = "drop"  # processed, then the connection is closed mid-response
    HANG_THEN_COMMIT = "hang_then_commit"  # held for delay_s (past the client's timeout), THEN processed, with a
    # repeated client order id accepted as a second order (as a venue without a uniqueness check would)
    DUPLICATE_FILL = "duplicate_fill"  # a response listing fills repeats its last fill
    LOSE_MESSAGE = "lose_message"  # a stream message is never sent: its sequence number is skipped


@dataclass
class Fault:
    route: str  # a route name or a glob such as "coinbase.*"
    kind: FaultKind
    remaining: int
    delay_s: float = 0.0
    retry_after_s: int = 1


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.fired: dict[str, int] = {}

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, route: str) -> Fault | None:
        """The first armed fault matching the route, consumed once."""
        for fault in self._faults:
            if fault.remaining > 0 and fnmatch.fnmatchcase(route, fault.route):
                fault.remaining -= 1
                key = f"{route}:{fault.kind}"
                self.fired[key] = self.fired.get(key, 0) + 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()
        self.fired.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"armed": [asdict(f) for f in self._faults], "fired": dict(self.fired)}
