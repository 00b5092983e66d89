"""Everything one simulator instance holds; lives on the server's event loop thread."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from fixgw.sim.crypto_pb.book import SimBook
from fixgw.sim.crypto_pb.clock import SimClock
from fixgw.sim.crypto_pb.faults import FaultPlan
from fixgw.sim.crypto_pb.prices import PriceProcess
from fixgw.sim.crypto_pb.ratelimit import ServerRateLimits
from fixgw.sim.crypto_pb.settings import SimSettings


@dataclass
class SimState:
    settings: SimSettings
    clock: SimClock = field(default_factory=SimClock)
    faults: FaultPlan = field(default_factory=FaultPlan)
    limits: ServerRateLimits = field(default_factory=ServerRateLimits)
    book: SimBook = field(init=False)
    request_counts: dict[str, int] = field(default_factory=dict)
    falconx_quotes: dict[str, dict[str, Any]] = field(default_factory=dict)  # RFQ quotes by id
    falconx_extras: dict[str, dict[str, Any]] = field(default_factory=dict)  # quote prices per order
    binance_weight: dict[str, list[float]] = field(default_factory=dict)  # request times per API key
    clear_street_tokens: dict[str, float] = field(default_factory=dict)  # bearer token -> expiry (sim clock)
    clear_street_orders: dict[str, dict[str, str]] = field(default_factory=dict)  # order id -> as sent (tif...)
    price_process: PriceProcess = field(default_factory=PriceProcess)
    withdrawn: dict[str, int] = field(default_factory=dict)
    """Route name or glob -> the status (404, 410) it answers with instead of serving (a withdrawn version)."""
    notices: dict[str, dict[str, str]] = field(default_factory=dict)
    """Route glob -> Deprecation / Sunset / Warning headers every answer of a matching route carries."""

    def notice_headers(self, route: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        for pattern, values in self.notices.items():
            if fnmatch.fnmatchcase(route, pattern):
                headers.update(values)
        return headers

    def __post_init__(self) -> None:
        self.book = SimBook(self.settings, self.clock)

    def withdrawn_status(self, route: str) -> int | None:
        for pattern, status in self.withdrawn.items():
            if fnmatch.fnmatchcase(route, pattern):
                return status
        return None

    def count(self, route: str) -> None:
        self.request_counts[route] = self.request_counts.get(route, 0) + 1
