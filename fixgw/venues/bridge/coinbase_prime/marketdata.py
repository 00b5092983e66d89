"""Coinbase Prime market data: the WebSocket `l2_data` channel (signed subscribe, like the orders channel),
kept as a price-level book per product; the best bid and offer after each message go to the sink.

Levels carry `px`/`qty` (Prime) or `price_level`/`new_quantity` (the Advanced Trade spelling); a quantity is
the level's new size, "0" removes it. A snapshot replaces the product's book. On a disconnect the book is
dropped and the subscribe repeated; until then the source simply goes stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
import websockets

from fixgw.marketdata.sources import QuoteSink, SourceHealth
from fixgw.model.decimals import to_decimal
from fixgw.venues.bridge.coinbase_prime.auth import sign_ws_subscribe
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.common.jsonwire import dumps, loads

log = structlog.get_logger("fixgw.marketdata")

DEFAULT_WS_URL = "wss://ws-feed.prime.coinbase.com"
CHANNEL = "l2_data"
RECONNECT_S = 1.0


class L2Book:
    """Price levels of one product; `top()` is (best bid, best offer), either None when that side is empty."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.offers: dict[Decimal, Decimal] = {}

    def apply(self, event: Mapping[str, Any]) -> datetime | None:
        """Apply one `events[]` entry; returns the latest event_time it carried (the venue's clock)."""
        if event.get("type") == "snapshot":
            self.bids.clear()
            self.offers.clear()
        latest = None
        for update in event.get("updates") or ():
            side = self.bids if update.get("side") == "bid" else self.offers if update.get("side") in (
                "offer", "ask") else None
            if side is None:
                raise ValueError(f"unknown l2_data side {update.get('side')!r}")
            price = to_decimal(update.get("px", update.get("price_level")))
            size = to_decimal(update.get("qty", update.get("new_quantity")))
            if size == 0:
                side.pop(price, None)
            else:
                side[price] = size
            stamp = update.get("event_time")
            if isinstance(stamp, str):
                with contextlib.suppress(ValueError):   # the venue's time is for display only
                    latest = datetime.fromisoformat(stamp)
        return latest

    def top(self) -> tuple[Decimal | None, Decimal | None]:
        return (max(self.bids) if self.bids else None, min(self.offers) if self.offers else None)


class CoinbasePrimeL2Source:
    def __init__(self, name: str, config: CoinbasePrimeConfig, products: Mapping[str, str], *,
                 ws_url: str = DEFAULT_WS_URL, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.health = SourceHealth(name)
        self.config = config
        self.ws_url = ws_url
        self.instruments = {product: instrument for instrument, product in products.items()}
        """Coinbase product id (BTC-USD) -> canonical instrument id."""
        self._clock = clock

    @property
    def errors(self) -> int:
        return self.health.errors

    async def run(self, sink: QuoteSink) -> None:
        while True:
            try:
                await self._follow(sink)
            except (OSError, websockets.WebSocketException, ValueError, KeyError, TypeError) as exc:
                self.health.failed(type(exc).__name__, str(exc))
            await asyncio.sleep(RECONNECT_S)

    async def _follow(self, sink: QuoteSink) -> None:
        books: dict[str, L2Book] = {}
        async with websockets.connect(self.ws_url) as socket:
            await socket.send(dumps(self.subscribe_message()))
            async for raw in socket:
                message = loads(raw)
                if message.get("type") == "error":
                    raise ValueError(f"subscribe refused: {message.get('message')}")
                if message.get("channel") != CHANNEL:
                    continue
                for event in message.get("events") or ():
                    product = event.get("product_id")
                    instrument_id = self.instruments.get(product)
                    if instrument_id is None:
                        continue
                    book = books.setdefault(product, L2Book())
                    venue_time = book.apply(event)
                    bid, offer = book.top()
                    if bid is not None or offer is not None:
                        self.health.succeeded()
                        sink.offer_raw(self.name, instrument_id, bid=bid, ask=offer, venue_time=venue_time)

    def subscribe_message(self) -> dict[str, object]:
        config = self.config
        timestamp = str(int(self._clock()))
        access_key = config.access_key.get_secret_value()
        products = sorted(self.instruments)
        return {
            "type": "subscribe",
            "channel": CHANNEL,
            "access_key": access_key,
            "api_key_id": config.service_account_id,
            "timestamp": timestamp,
            "passphrase": config.passphrase.get_secret_value(),
            "signature": sign_ws_subscribe(config.signing_key.get_secret_value(), channel=CHANNEL,
                                           access_key=access_key, api_key_id=config.service_account_id,
                                           timestamp=timestamp, portfolio_id=config.portfolio_id,
                                           product_ids=products),
            "portfolio_id": config.portfolio_id,
            "product_ids": products,
        }
