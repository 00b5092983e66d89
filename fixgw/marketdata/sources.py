"""Market-data sources: the one small interface, the polling loop they share, and the generic HTTP JSON oracle.

A source runs as a coroutine on the feeds' event loop (fixgw/marketdata/feeds.py) and hands every price it
reads to a `QuoteSink` (the ReferenceBook), which validates it, stamps our receive time and keeps it. A source
never raises out of `run`: a failed request or a malformed answer is logged, counted and retried next period,
so a dead source only goes stale. Venue sources live with their venue (fixgw/venues/bridge/<venue>/marketdata.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from fixgw.marketdata.quotes import Quote
from fixgw.venues.bridge.common.jsonwire import loads

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("fixgw.marketdata")


class QuoteSink(Protocol):
    def offer_raw(self, source: str, instrument_id: str, *, bid: Any = None, ask: Any = None, last: Any = None,
                  venue_time: datetime | None = None) -> Quote | None: ...


class MarketDataSource(Protocol):
    name: str

    @property
    def errors(self) -> int:
        """Failed requests or unreadable answers so far (a metric)."""
        ...

    async def run(self, sink: QuoteSink) -> None:
        """Read prices until cancelled; never raises for a venue's fault."""
        ...


class SourceHealth:
    """Counts a source's failures; logs the first of a run of failures and the recovery, not every poll."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.errors = 0
        self._failing: str | None = None

    def failed(self, error: str, detail: str, **context: str) -> None:
        self.errors += 1
        if self._failing != error:
            self._failing = error
            log.warning("marketdata.source_failed", source=self.name, error=error, detail=detail[:200], **context)

    def succeeded(self) -> None:
        if self._failing is not None:
            log.info("marketdata.source_recovered", source=self.name, after=self._failing)
            self._failing = None


class PollingSource:
    """Polls every `poll_s` seconds with one pooled httpx client; `poll` reads and offers the prices."""

    def __init__(self, name: str, poll_s: float, timeout_s: float) -> None:
        self.name = name
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.health = SourceHealth(name)

    @property
    def errors(self) -> int:
        return self.health.errors

    async def run(self, sink: QuoteSink) -> None:
        import httpx  # loaded when a polling source runs: the FIX broker's market data (engine) needs none of it

        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while True:
                try:
                    if await self.poll(client, sink):
                        self.health.succeeded()
                except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as exc:
                    self.health.failed(type(exc).__name__, str(exc))
                await asyncio.sleep(self.poll_s)

    async def poll(self, client: httpx.AsyncClient, sink: QuoteSink) -> bool:
        """One request (or a few); True when every instrument got a price."""
        raise NotImplementedError


def json_path(document: Any, path: str) -> Any:
    """The value at a dotted path ("prices.BTC.usd", "data.0.price"); KeyError/IndexError when absent."""
    value = document
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(f"{path}: {part!r} is not inside an object or a list")
    return value


class HttpJsonSource(PollingSource):
    """GET `url` each period; each instrument's price is at its JSON path (numbers parsed exactly)."""

    def __init__(self, name: str, url: str, paths: Mapping[str, str], *, poll_s: float = 1.0,
                 timeout_s: float = 5.0) -> None:
        super().__init__(name, poll_s, timeout_s)
        self.url = url
        self.paths = dict(paths)

    async def poll(self, client: httpx.AsyncClient, sink: QuoteSink) -> bool:
        response = await client.get(self.url)
        response.raise_for_status()
        document = loads(response.content)
        complete = True
        for instrument_id, path in self.paths.items():
            try:
                price = json_path(document, path)
            except (KeyError, IndexError, ValueError) as exc:
                complete = False
                self.health.failed("missing_path", f"{path}: {exc}", instrument=instrument_id)
                continue
            sink.offer_raw(self.name, instrument_id, last=price)
        return complete
