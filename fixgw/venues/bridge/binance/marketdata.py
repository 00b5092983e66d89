"""Binance market data: best bid/ask from `GET /api/v3/ticker/bookTicker?symbol=...` (public: no key, no
signature), polled."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from fixgw.marketdata.sources import PollingSource, QuoteSink
from fixgw.venues.bridge.common.jsonwire import loads

DEFAULT_BASE_URL = "https://api.binance.com"


class BinanceBookTickerSource(PollingSource):
    def __init__(self, name: str, symbols: Mapping[str, str], *, base_url: str = DEFAULT_BASE_URL,
                 poll_s: float = 1.0, timeout_s: float = 5.0) -> None:
        super().__init__(name, poll_s, timeout_s)
        self.url = base_url.rstrip("/") + "/api/v3/ticker/bookTicker"
        self.symbols = dict(symbols)
        """Canonical instrument id -> Binance symbol (BTCUSDT)."""

    async def poll(self, client: httpx.AsyncClient, sink: QuoteSink) -> bool:
        for instrument_id, symbol in self.symbols.items():
            response = await client.get(self.url, params={"symbol": symbol})
            response.raise_for_status()
            ticker = loads(response.content)
            if ticker.get("symbol") != symbol:
                raise ValueError(f"bookTicker answered for {ticker.get('symbol')!r}, asked {symbol!r}")
            sink.offer_raw(self.name, instrument_id, bid=ticker.get("bidPrice"), ask=ticker.get("askPrice"))
        return True
