"""What the `orders` channel spares the REST budget: order state from the stream, fills in batches.

While the stream is up (subscribed, nothing dropped since), each update's status, cumulative and leaves quantity
and average price are the order's state, so a refresh costs no request. Per-fill detail (trade ids, prices,
commissions: what the ExecutionReports and reconciliation need) comes from the portfolio's fills endpoint, one
request for every order that is waiting within `linger_s`, instead of one request per order. When the stream
drops, the cache is forgotten and the client falls back to polling each order over REST.
"""

from __future__ import annotations

import asyncio
import time
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
TRUST_S = 30.0
"""An open order the stream has said nothing of for this long is read over REST once more (within the poll's
budget): a lost last update (its sequence gap shows only with the next message) cannot strand an order."""


class OrderStream:
    """The latest state the stream gave each order, valid only while `live`."""

    def __init__(self, trust_s: float = TRUST_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.live = False
        self.trust_s = trust_s
        self._clock = clock
        self._views: dict[str, tuple[VenueOrderView, float]] = {}

    def up(self) -> None:
        self.live = True

    def down(self) -> None:
        """The stream dropped: what it said may be stale, and updates may have been missed."""
        self.live = False
        self._views.clear()

    def update(self, view: VenueOrderView) -> None:
        """What the stream just said of the order."""
        if self.live:
            self._views[view.venue_order_id] = (view, self._clock())

    def now(self) -> float:
        return self._clock()

    def read_back(self, view: VenueOrderView, asked_at: float) -> None:
        """A read over REST asked at `asked_at`: kept unless the stream said something newer meanwhile."""
        entry = self._views.get(view.venue_order_id)
        if self.live and (entry is None or entry[1] < asked_at):
            self._views[view.venue_order_id] = (view, self._clock())

    def seed(self, view: VenueOrderView) -> VenueOrderView:
        """Our own view of an order just accepted, until the stream's first update of it replaces it."""
        if self.live:
            self._views.setdefault(view.venue_order_id, (view, self._clock()))
        return view

    def current(self, venue_order_id: str) -> VenueOrderView | None:
        """The stream's view of the order while live; None (read it over REST) when there is none, or when an
        open order's was heard longer than `trust_s` ago."""
        entry = self._views.get(venue_order_id) if self.live else None
        if entry is None:
            return None
        view, heard = entry
        return view if view.venue_terminal or self._clock() - heard < self.trust_s else None

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
