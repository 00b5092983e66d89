"""`RestExecutionClient`: a REST venue behind the router's `Venue` interface.

The router calls `send_*` from its owner thread; they only schedule work on this client's own event loop
(a daemon thread) and return. Events go back through the bound `VenueListener` from that thread.
A poll task refreshes open orders every `poll_interval_s` - within `poll_share` of the request rate, the least
recently refreshed first, so polls never crowd out new orders; an adapter with a WebSocket pushes syncs between.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fixgw.logs import get_logger
from fixgw.model.enums import OrdType
from fixgw.model.events import EventName
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import CancelOrder, NewOrder, ReplaceOrder, StatusRequest
from fixgw.venues.base import Venue, VenueListener
from fixgw.venues.bridge.common.adapter import VenueAdapter
from fixgw.venues.bridge.common.alerts import AlertHook, VenueAlert
from fixgw.venues.bridge.common.errors import BridgeError
from fixgw.venues.bridge.common.headroom import Headroom
from fixgw.venues.bridge.common.health import VenueHealth
from fixgw.venues.bridge.common.order_sync import OrderSync, late_watch_s
from fixgw.venues.bridge.common.settings import RestVenueConfig
from fixgw.venues.bridge.common.views import VenueOrderView

log = get_logger("fixgw.bridge.execution")
HOLD_CHECK_S = 0.1
"""How often an order held while its venue is down checks the venue and its own age."""
T = TypeVar("T")


class RestExecutionClient(Venue):
    def __init__(
        self,
        adapter: VenueAdapter,
        config: RestVenueConfig,
        symbols: SymbolMaster,
        *,
        lookup_delay_s: float = 0.2,
    ) -> None:
        self.name = config.name
        self.symbol_scheme = adapter.symbol_scheme
        self.adapter = adapter
        self.config = config
        self.symbols = symbols
        self.lookup_delay_s = lookup_delay_s
        self.order_sync: OrderSync | None = None
        self._listener: VenueListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._slots: asyncio.Semaphore | None = None
        self._adopted: list[tuple[NewOrder, datetime | None]] = []
        self._not_placed: list[tuple[NewOrder, datetime]] = []
        self._running = False
        self.health = VenueHealth(config.name, config.down_after, config.up_after, self._connectivity_changed)
        self.probe: Callable[[], Awaitable[object]] | None = None
        """An authenticated read (the plugin sets its balances read): probed every `probe_interval_s`."""
        self.headroom = Headroom(config.name, config.documented_rate, alert_share=config.headroom_alert_share,
                                 window_s=config.headroom_window_s)
        """Our request rate as a share of the documented limit (the plugin has the HTTP client count requests)."""
        self.on_alert: AlertHook | None = None
        """Set by the gateway: raises (and journals) what an operator must look at. Unset: logged only."""

    @property
    def connected(self) -> bool:
        return self._running and self.health.up

    def _connectivity_changed(self, up: bool) -> None:
        if self._listener is not None and self._running:
            self._listener.on_connectivity(self.name, up)

    def bind(self, listener: VenueListener) -> None:
        self._listener = listener

    def adopt(self, order: NewOrder, *, sent_at: datetime | None = None) -> None:
        """Before start(): an order the journal holds open at this venue (`order.cl_ord_id` = our outbound id).

        It is looked up by client_order_id (never re-sent from here), so fills and final states reached while
        the gateway was down are reported, and the router's status requests find it. `sent_at` (a create not yet
        acknowledged): see `OrderSync.adopt` - inside `create_settle_s` of it the create settles, never resent.
        """
        if self.order_sync is not None:
            raise RuntimeError("adopt() orders before start()")
        self._adopted.append((order, sent_at))

    @property
    def late_watch_s(self) -> timedelta:
        """How long after its last send an order reported not placed is still watched for (`LATE_WATCH_FACTOR`)."""
        return timedelta(seconds=late_watch_s(self.config.create_settle_s))

    def watch_not_placed(self, order: NewOrder, *, rejected_at: datetime) -> None:
        """Before start(): an order an earlier process rejected as "not placed" at `rejected_at` (`order.cl_ord_id`
        = our outbound id). Watched as the process that rejected it would have (`OrderSync.watch_not_placed`):
        if the venue commits it after all, it is adopted (found late), not swept as an unknown order."""
        if self.order_sync is not None:
            raise RuntimeError("watch_not_placed() orders before start()")
        self._not_placed.append((order, rejected_at))

    def start(self) -> None:
        if self._listener is None:
            raise RuntimeError("bind() a listener before start()")
        self.order_sync = OrderSync(
            self.adapter,
            self.symbols,
            self._listener,
            max_submit_attempts=self.config.max_submit_attempts,
            create_settle_s=self.config.create_settle_s,
            lookup_delay_s=self.lookup_delay_s,
            day_orders=self.config.day_orders,
        )
        for order, sent_at in self._adopted:
            self.order_sync.adopt(order, sent_at=sent_at)
        self._adopted.clear()
        for order, rejected_at in self._not_placed:
            self.order_sync.watch_not_placed(order, rejected_at=rejected_at)
        self._not_placed.clear()
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"bridge-{self.name}", daemon=True)
        self._thread.start()
        started.wait()
        asyncio.run_coroutine_threadsafe(self._start_tasks(), loop).result()
        self._running = True
        self._listener.on_connectivity(self.name, True)

    async def _start_tasks(self) -> None:
        # Commands beyond the connection pool wait here, in order: a thousand requests parked in the HTTP pool
        # itself make every release scan them all, and throughput collapses.
        self._slots = asyncio.Semaphore(self.config.max_connections)
        assert self.order_sync is not None
        self.order_sync.resume_settling()
        self._tasks = [asyncio.create_task(self._poll_forever()), asyncio.create_task(self._watch()),
                       asyncio.create_task(self._probe_forever()), asyncio.create_task(self._sweep_forever()),
                       asyncio.create_task(self._headroom_forever())]

    def _alert(self, alert: VenueAlert) -> None:
        if self.on_alert is not None:
            try:
                self.on_alert(alert)
            except Exception as exc:  # a broken hook must not stop the venue's loop
                log.error("bridge_alert_failed", venue=self.name, kind=alert.kind, error=repr(exc))

    async def _sweep_forever(self) -> None:
        """The open-orders sweep (`open_orders_sweep_s`): orders at the venue that fixgw does not know."""
        while True:
            await asyncio.sleep(self.config.open_orders_sweep_s)
            await self.sweep_open_orders()

    async def sweep_open_orders(self) -> None:
        order_sync = self.order_sync
        assert order_sync is not None
        try:
            await order_sync.sweep_open_orders(self.config.unknown_orders, self._unknown_order)
        except BridgeError as exc:
            log.warning("bridge_open_orders_sweep_failed", venue=self.name, error=exc.message)

    def _unknown_order(self, view: VenueOrderView, canceled: bool, error: str | None) -> None:
        if canceled:
            outcome = "cancelled at the venue (unknown_orders = \"cancel\")"
        elif error is not None:
            outcome = f"NOT cancelled: {error}"
        else:
            outcome = "left as is (unknown_orders = \"alert\")"
        detail = {"venue_order_id": view.venue_order_id, "client_order_id": view.client_order_id,
                  "symbol": view.symbol or "", "status": view.status.name, "cum_qty": str(view.cum_qty),
                  "order_qty": "" if view.order_qty is None else str(view.order_qty),
                  "policy": self.config.unknown_orders, "canceled": str(canceled).lower()}
        if error is not None:
            detail["error"] = error
        self._alert(VenueAlert(
            EventName.UNKNOWN_VENUE_ORDER, self.name, f"venue-order:{self.name}:{view.venue_order_id}",
            f"{self.name} holds open order {view.venue_order_id} (client order id {view.client_order_id or '-'}, "
            f"{view.symbol or '?'}) that fixgw does not know: {outcome}", detail))

    async def _headroom_forever(self) -> None:
        """Keeps the headroom episode current (logged as it starts and ends); the ops rule `rate_headroom:<venue>`
        fires on it once and resolves once it is over."""
        headroom = self.headroom
        interval = min(1.0, headroom.window_s / 10)
        while True:
            await asyncio.sleep(interval)
            headroom.check()

    async def _probe_forever(self) -> None:
        probe = self.probe
        if probe is None:
            return
        while True:
            started = time.monotonic()
            try:
                await probe()
            except BridgeError as exc:
                log.warning("bridge_probe_failed", venue=self.name, error=exc.message)
                self.health.probed(False)
            else:
                self.health.probed(True, time.monotonic() - started)
            await asyncio.sleep(self.config.probe_interval_s)

    async def _poll_forever(self) -> None:
        assert self.order_sync is not None
        while True:
            await asyncio.sleep(self.config.poll_interval_s)
            await self.order_sync.sync_all(limit=self.config.polls_per_pass())

    async def _watch(self) -> None:
        order_sync = self.order_sync
        assert order_sync is not None
        loop = asyncio.get_running_loop()

        pending: set[asyncio.Task[None]] = set()  # strong references until each sync finishes

        def on_update(client_order_id: str) -> None:
            task = loop.create_task(order_sync.sync_client_order_id(client_order_id))
            pending.add(task)
            task.add_done_callback(pending.discard)

        await self.adapter.watch(on_update)

    def stop(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None:
            return
        self._running = False

        async def shutdown() -> None:
            # Commands still running are abandoned: their outcome is settled by lookups after the next start.
            running = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in running:
                task.cancel()
            await asyncio.wait(running, timeout=timeout / 2) if running else None
            await asyncio.wait_for(self.adapter.aclose(), timeout / 4)

        started = time.monotonic()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(max(0.1, timeout - (time.monotonic() - started)))
        if self._thread is not None and self._thread.is_alive():
            log.warning("bridge_stop_timeout", venue=self.name, timeout_s=timeout)  # a daemon thread: left behind
        else:
            loop.close()
        self._loop = None
        if self._listener is not None:
            self._listener.on_connectivity(self.name, False)

    # -- commands: schedule and return -------------------------------------------------------------
    def _schedule(self, coro: Coroutine[Any, Any, None], what: str, *, slot: bool = True) -> Future[None]:
        if self._loop is None:
            coro.close()
            raise RuntimeError(f"{self.name} is not started")
        slots = self._slots
        assert slots is not None

        async def bounded() -> None:
            try:
                if slot:
                    async with slots:
                        await coro
                else:
                    await coro
            finally:
                coro.close()  # cancelled while waiting for a slot: never started, nothing to warn about

        future = asyncio.run_coroutine_threadsafe(bounded(), self._loop)

        def report(done: Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                log.error("bridge_command_failed", venue=self.name, command=what, error=repr(done.exception()))

        future.add_done_callback(report)
        return future

    def send_new(self, order: NewOrder) -> None:
        assert self.order_sync is not None
        self._schedule(self._submit_fresh(order, time.monotonic()), "new", slot=False)

    async def _submit_fresh(self, order: NewOrder, received: float) -> None:
        """Held (without a command slot) while the venue is down; an order grown stale meanwhile is not sent.

        A submit that could not connect (the venue died as it went out: nothing reached it) is held the same way
        from its first receipt, so a market order caught by an outage is refused after `max_market_order_age_s`
        rather than left "outcome unknown" for `create_settle_s` or sent late."""
        order_sync = self.order_sync
        assert order_sync is not None and self._slots is not None
        held = False  # only an order held for a down venue can go stale; one queued behind busy slots is sent
        while True:
            while not self.health.up:
                held = True
                if self._refuse_stale(order, received):
                    return
                await asyncio.sleep(HOLD_CHECK_S)
            async with self._slots:
                if held and self._refuse_stale(order, received):
                    return
                if await order_sync.submit(order):
                    return
            held = True
            if self._refuse_stale(order, received):
                return
            await asyncio.sleep(HOLD_CHECK_S)

    def _refuse_stale(self, order: NewOrder, received: float) -> bool:
        held_s = time.monotonic() - received
        if held_s <= self.config.max_market_order_age_s:
            return False
        if order.ord_type is not OrdType.MARKET and self.config.stale_limit_orders == "send":
            return False
        assert self.order_sync is not None
        kind = "market" if order.ord_type is OrdType.MARKET else "limit"
        text = (f"held {held_s:.1f} s while {self.name} was down; a {kind} order older than "
                f"{self.config.max_market_order_age_s:g} s is not sent late")
        log.warning("bridge_stale_order_rejected", venue=self.name, cl_ord_id=order.cl_ord_id, held_s=held_s)
        self.order_sync.deny(order, text)
        return True

    def send_cancel(self, cancel: CancelOrder) -> None:
        assert self.order_sync is not None
        self._schedule(self.order_sync.cancel(cancel), "cancel")

    def send_replace(self, replace: ReplaceOrder) -> None:
        assert self.order_sync is not None
        order_sync = self.order_sync

        async def refuse() -> None:
            order_sync.replace_unsupported(replace)

        self._schedule(refuse(), "replace")

    def send_status_request(self, request: StatusRequest) -> None:
        assert self.order_sync is not None
        self._schedule(self.order_sync.status(request), "status")

    def sync_now(self, timeout: float = 10.0) -> None:
        """Run one poll pass right away and wait for it (tests, operators)."""
        assert self.order_sync is not None
        self._schedule(self.order_sync.sync_all(), "sync").result(timeout)

    def read_on_loop(self, read: Callable[[], T], timeout: float) -> T:
        """Call `read` on this client's event loop (what the loop owns is read there, never beside it)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return read()
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(read())
            except Exception as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout)
