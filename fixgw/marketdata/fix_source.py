"""Market data from a FIX broker: a MarketDataRequest (35=V) sent at each logon of its session, and the
35=W / 35=X answers turned into quotes (fixgw/fix/marketdata.py does the FIX). No sockets here: the broker
venue (fixgw/engine/broker.py) sends `request()` and hands in what arrives, on QuickFIX's thread."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import structlog

from fixgw.fix.marketdata import Fields, MarketDataError, TopOfBook, market_data_request
from fixgw.marketdata.sources import QuoteSink, SourceHealth

log = structlog.get_logger("fixgw.marketdata")

MD_MESSAGE_TYPES = frozenset({"W", "X", "Y"})


class FixMarketData:
    def __init__(self, name: str, symbols: Mapping[str, str], sink: QuoteSink) -> None:
        self.name = name
        self.health = SourceHealth(name)
        self._instruments = {symbol: instrument for instrument, symbol in symbols.items()}
        """The broker's Symbol(55) -> canonical instrument id."""
        self._sink = sink
        self._book = TopOfBook()
        self._requests = itertools.count(1)

    @property
    def errors(self) -> int:
        return self.health.errors

    def request(self) -> Fields:
        """A fresh subscription (each logon: the broker forgot the last one, and so does our book)."""
        self._book = TopOfBook()
        return market_data_request(f"{self.name}-{next(self._requests)}", sorted(self._instruments))

    def on_message(self, fields: Fields) -> None:
        try:
            updates = self._book.apply(fields)
        except MarketDataError as exc:
            self.health.failed("market_data", str(exc))
            return
        for update in updates:
            instrument_id = self._instruments.get(update.symbol)
            if instrument_id is None or (update.bid is None and update.offer is None):
                continue
            self.health.succeeded()
            self._sink.offer_raw(self.name, instrument_id, bid=update.bid, ask=update.offer)
