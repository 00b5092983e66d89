"""Runs the configured market-data sources on one event loop in a daemon thread, feeding a ReferenceBook.

`build_sources` is the registry of source kinds: the centre knows the kind names, each venue module builds its
own source. The loop never touches order state: the book is shared through single dict assignments.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from fixgw.marketdata.settings import MarketDataConfig, SourceConfig
from fixgw.marketdata.sources import HttpJsonSource, MarketDataSource, QuoteSink

log = structlog.get_logger("fixgw.marketdata")


def build_source(name: str, config: SourceConfig, venues: Mapping[str, Any]) -> MarketDataSource:
    """One source from its config; `venues` are the gateway's `venues.<name>` (credentials for signed feeds)."""
    if config.kind == "http_json":
        assert config.url is not None
        return HttpJsonSource(name, config.url, config.instruments, poll_s=config.poll_s,
                              timeout_s=config.timeout_s)
    if config.kind == "binance_book_ticker":
        from fixgw.venues.bridge.binance.marketdata import DEFAULT_BASE_URL, BinanceBookTickerSource
        return BinanceBookTickerSource(name, config.instruments, base_url=config.url or DEFAULT_BASE_URL,
                                       poll_s=config.poll_s, timeout_s=config.timeout_s)
    if config.kind == "falconx_quote":
        from fixgw.venues.bridge.falconx.config import FalconXConfig
        from fixgw.venues.bridge.falconx.marketdata import FalconXQuoteSource
        falconx = venues.get(config.venue or "")
        if not isinstance(falconx, FalconXConfig) or config.quote_quantity is None:
            raise ValueError(f"marketdata.sources.{name}.venue: {config.venue!r} is not a falconx venue")
        return FalconXQuoteSource(name, falconx, config.instruments, config.quote_quantity, poll_s=config.poll_s)
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.coinbase_prime.marketdata import DEFAULT_WS_URL, CoinbasePrimeL2Source
    venue = venues.get(config.venue or "")
    if not isinstance(venue, CoinbasePrimeConfig):
        raise ValueError(f"marketdata.sources.{name}.venue: {config.venue!r} is not a coinbase_prime venue")
    return CoinbasePrimeL2Source(name, venue, config.instruments, ws_url=config.url or DEFAULT_WS_URL)


def build_sources(config: MarketDataConfig, venues: Mapping[str, Any]) -> list[MarketDataSource]:
    """The sources this loop runs (a `fix_broker` source rides its broker session: fixgw/engine/gateway.py)."""
    return [build_source(name, source, venues) for name, source in sorted(config.sources.items())
            if source.kind != "fix_broker"]


class MarketDataFeeds:
    def __init__(self, sources: Sequence[MarketDataSource], sink: QuoteSink) -> None:
        self.sources = list(sources)
        self._sink = sink
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self.sources or self._thread is not None:
            return
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="fixgw-marketdata", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._spawn(), loop).result()
        log.info("marketdata.started", sources=[source.name for source in self.sources])

    async def _spawn(self) -> None:
        self._tasks = [asyncio.create_task(source.run(self._sink), name=f"marketdata-{source.name}")
                       for source in self.sources]

    async def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self, timeout_s: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(self._cancel(), loop).result(timeout_s)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None
        self._tasks = []

    def errors(self) -> dict[str, int]:
        return {source.name: source.errors for source in self.sources}
