"""Several API versions of one venue at once: each endpoint on the first preferred version that serves it.

A venue publishes some endpoints under several versions (FalconX: orders and quotes under v1 and v3, order reads
and balances under v1 only). For each call the router tries, in the caller's order of preference, the versions
that publish the endpoint. A version that answers 410 Gone, or 404 where a 404 can only mean "no such endpoint",
is remembered as withdrawn for that endpoint for `recheck_s` - calls skip it - and is tried again afterwards.

A 404 from a lookup of one thing (an order id, a quote id) is ambiguous: the thing or the endpoint may be
missing. The next version is asked; if it finds the thing, the first version no longer serves the endpoint
(remembered as above); if none finds it, the thing does not exist and nothing is remembered.

Only refusals fall back: 404 and 410 mean the venue did not act, so another version may be asked - even for a
create. A timeout, 5xx or dropped answer is never sent again under another version (the outcome is unknown).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from fixgw.logs import get_logger
from fixgw.venues.bridge.common.errors import VenueRejected

log = get_logger("fixgw.bridge.versions")
T = TypeVar("T")
WITHDRAWN_STATUSES = (404, 410)


@dataclass
class ApiVersionStats:
    """Per venue: calls answered per (endpoint, version), fallbacks per (endpoint, from, to), withdrawn now."""

    calls: dict[tuple[str, str], int] = field(default_factory=dict)
    fallbacks: dict[tuple[str, str, str], int] = field(default_factory=dict)
    withdrawn: dict[tuple[str, str], int] = field(default_factory=dict)
    """(endpoint, version) -> the HTTP status it was withdrawn with, while remembered."""


class ApiVersionRouter:
    def __init__(self, venue: str, published: Mapping[str, Sequence[str]], *, recheck_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.venue = venue
        self.published = {endpoint: tuple(versions) for endpoint, versions in published.items()}
        """endpoint -> the versions the venue publishes it under, newest first."""
        self.recheck_s = recheck_s
        self.clock = clock
        self._withdrawn: dict[tuple[str, str], tuple[float, int]] = {}
        """(endpoint, version) -> (since, status)."""
        self._calls: dict[tuple[str, str], int] = {}
        self._fallbacks: dict[tuple[str, str, str], int] = {}

    def versions(self, endpoint: str, preference: Sequence[str]) -> list[str]:
        """The versions to try, in order: the preferred ones publishing the endpoint, or - when none of them
        does - the ones it is published under. Versions withdrawn lately go last (tried only if all else fails)."""
        published = self.published[endpoint]
        if isinstance(preference, str):  # one version given bare: "v1" is not ["v", "1"]
            preference = (preference,)
        listed = [v for v in preference if v in published] or list(published)
        live = [v for v in listed if not self._is_withdrawn(endpoint, v)]
        return live + [v for v in listed if v not in live]

    def _is_withdrawn(self, endpoint: str, version: str) -> bool:
        record = self._withdrawn.get((endpoint, version))
        # Past recheck_s it is asked again; a good answer then clears the record.
        return record is not None and self.clock() - record[0] < self.recheck_s

    async def call(self, endpoint: str, preference: Sequence[str], send: Callable[[str], Awaitable[T]], *,
                   lookup: bool = False) -> T:
        """`send(version)` on the first version that serves the endpoint. `lookup`: a 404 may mean the looked-up
        thing is missing rather than the endpoint (see the module docstring)."""
        versions = self.versions(endpoint, preference)
        last: VenueRejected | None = None
        missing: list[tuple[str, int]] = []  # versions that answered 404 to a lookup: withdrawn if another finds it
        for index, version in enumerate(versions):
            try:
                answer = await send(version)
            except VenueRejected as exc:
                if exc.http_status not in WITHDRAWN_STATUSES:
                    raise
                last = exc
                following = versions[index + 1] if index + 1 < len(versions) else None
                if lookup and exc.http_status == 404:
                    missing.append((version, exc.http_status))
                else:
                    self._withdraw(endpoint, version, exc.http_status, following)
                continue
            for gone, status in missing:
                self._withdraw(endpoint, gone, status, version)
            self._answered(endpoint, version)
            return answer
        assert last is not None  # every endpoint is published under at least one version
        raise last

    def _withdraw(self, endpoint: str, version: str, status: int, following: str | None) -> None:
        known = (endpoint, version) in self._withdrawn
        self._withdrawn[(endpoint, version)] = (self.clock(), status)
        if following is not None:
            key = (endpoint, version, following)
            self._fallbacks[key] = self._fallbacks.get(key, 0) + 1
        if not known:
            log.warning("bridge_api_version_withdrawn", venue=self.venue, endpoint=endpoint, version=version,
                        status=status, fallback=following or "none", recheck_s=self.recheck_s)

    def _answered(self, endpoint: str, version: str) -> None:
        self._calls[(endpoint, version)] = self._calls.get((endpoint, version), 0) + 1
        if self._withdrawn.pop((endpoint, version), None) is not None:
            log.warning("bridge_api_version_restored", venue=self.venue, endpoint=endpoint, version=version)

    def stats(self) -> ApiVersionStats:
        withdrawn = {key: status for key, (_, status) in self._withdrawn.items() if self._is_withdrawn(*key)}
        return ApiVersionStats(dict(self._calls), dict(self._fallbacks), withdrawn)
