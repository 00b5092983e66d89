"""FalconX market data: indicative two-way quotes (`POST /v1/quotes`, side two_way, signed like every FalconX
request), polled for a configured quantity; never executed. sell_price is the bid, buy_price the ask."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

from fixgw.marketdata.sources import QuoteSink, SourceHealth
from fixgw.venues.bridge.common.errors import BridgeError
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.http import FalconXHttp
from fixgw.venues.bridge.falconx.schemas import Quantity, QuoteRequest, TokenPair


class FalconXQuoteSource:
    def __init__(self, name: str, config: FalconXConfig, pairs: Mapping[str, str], quantity: Decimal, *,
                 poll_s: float = 5.0) -> None:
        self.name = name
        self.health = SourceHealth(name)
        self.config = config
        self.pairs = dict(pairs)
        """Canonical instrument id -> "BASE-QUOTE" (BTC-USD)."""
        self.quantity = quantity
        self.poll_s = poll_s

    @property
    def errors(self) -> int:
        return self.health.errors

    async def run(self, sink: QuoteSink) -> None:
        http = FalconXHttp(self.config)
        try:
            while True:
                try:
                    for instrument_id, pair in self.pairs.items():
                        await self._quote(http, sink, instrument_id, pair)
                    self.health.succeeded()
                except (BridgeError, ValueError, KeyError) as exc:
                    self.health.failed(type(exc).__name__, str(exc))
                await asyncio.sleep(self.poll_s)
        finally:
            await http.aclose()

    async def _quote(self, http: FalconXHttp, sink: QuoteSink, instrument_id: str, pair: str) -> None:
        base, _, quote = pair.partition("-")
        answer = await http.create_quote(QuoteRequest(
            token_pair=TokenPair(base_token=base, quote_token=quote),
            quantity=Quantity(token=base, value=self.quantity), side="two_way"))
        sink.offer_raw(self.name, instrument_id, bid=answer.sell_price, ask=answer.buy_price,
                       venue_time=answer.t_quote)
