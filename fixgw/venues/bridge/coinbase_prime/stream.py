"""What the `orders` channel spares the REST budget: order state from the stream, fills in batches.

While the stream is up (subscribed, nothing dropped since), each update's status, cumulative and leaves quantity
and average price are the order's state, so a refresh costs no request. Per-fill detail (trade ids, prices,
commissions: what the ExecutionReports and reconciliation need) comes from the portfolio's fills endpoint, one
request for every order that is waiting within `linger_s`, instead of one request per order. When the stream
drops, the cache is forgotten and the client falls back to polling each order over REST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from fixgw.venues.bridge.coinbase_prime.schemas import Fill
from fixgw.venues.bridge.common.views import VenueOrderView

FILLS_BATCH_S = 1.0
"""How long a fills request waits for more orders to share it: at most one request a second for every order's
fills (at 16 orders/s: 1 request instead of 16), so fills are reported up to ~1 s after the stream shows them."""
BATCH_WINDOW = timedelta(seconds=60)
"""Orders submitted longer ago than this read their own fills: a batch reads every fill since its oldest order."""
CLOCK_MARGIN = timedelta(seconds=5)
"""A batch starts this long before its oldest order (clock differences between us and the venue)."""


class OrderStream:
    """The latest state the stream gave each order, valid only while `live`."""

    def __init__(self) -> None:
        self.live = False
        self._views: dict[str, VenueOrderView] = {}

    def up(self) -> None:
        self.live = True

    def down(self) -> None:
        """The stream dropped: what it said may be stale, and updates may have been missed."""
        self.live = False
        self._views.clear()

    def update(self, view: VenueOrderView) -> None:
        if self.live:
            self._views[view.venue_order_id] = view

    def seed(self, view: VenueOrderView) -> VenueOrderView:
        """Our own view of an order just accepted, until the stream's first update of it replaces it."""
        if self.live:
            self._views.setdefault(view.venue_order_id, view)
        return view

    def current(self, venue_order_id: str) -> VenueOrderView | None:
        """The stream's view of the order while live."""
        return self._views.get(venue_order_id) if self.live else None

    def forget(self, venue_order_id: str) -> None:
        """The order is final and every fill of it read: nothing more will be asked of it."""
        self._views.pop(venue_order_id, None)


class FillBatcher:
    """`fills(order_id)` waits up to `linger_s` for other orders, then one request serves them all."""

    def __init__(self, fetch: Callable[[datetime], Awaitable[list[Fill]]], linger_s: float = FILLS_BATCH_S) -> None:
        self._fetch = fetch
        self.linger_s = linger_s
        self._waiting: dict[str, tuple[datetime, list[asyncio.Future[list[Fill]]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.requests = 0

    async def fills(self, order_id: str, submitted_at: datetime) -> list[Fill]:
        future: asyncio.Future[list[Fill]] = asyncio.get_running_loop().create_future()
        _, futures = self._waiting.setdefault(order_id, (submitted_at, []))
        futures.append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.linger_s)
            batch, self._waiting = self._waiting, {}
            since = min(submitted for submitted, _ in batch.values()) - CLOCK_MARGIN
            try:
                self.requests += 1
                fills = await self._fetch(since)
            except BaseException as exc:  # each waiting order's sync sees the failure, as with its own request
                for _, futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            by_order: dict[str, list[Fill]] = {}
            for fill in fills:
                by_order.setdefault(fill.order_id, []).append(fill)
            for order_id, (_, futures) in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(by_order.get(order_id, []))
