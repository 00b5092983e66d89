"""The venue-agnostic async core of a REST execution client.

Submit policy (invariant 3, exactly-once creation): the first send goes out at once. A send whose outcome is
unknown (timeout, dropped response, 5xx) may still commit at the venue later, so it is NEVER repeated while it
could: the order is looked up by client_order_id until `create_settle_s` has passed since its last send. Found,
it is accepted; still absent then, the EMS gets a reject "not placed: ...". Only a venue that refuses every
repeated client order id (`rejects_repeated_client_order_id`) is sent again before that, up to
`max_submit_attempts`. A first send that could not even connect (`VenueUnreachable`) is known not to be at the
venue: `submit` forgets it and returns False, and the execution client holds it like an order for a down venue.
An order reported not placed that turns up at the venue later is adopted: reported to the
EMS unsolicited, with Text, and logged as an alert.

Restarts: tracking lives in memory. The gateway hands back every order its journal holds open at this venue
(`adopt`); such an order, and any order a status request names that we have not seen, is looked up by
client_order_id before anything is answered. Only a lookup proving it absent answers "unknown order" (which lets
the router resend it under the same id); a failed lookup answers "outcome unknown", never a guess. The orders an
earlier process reported not placed (journaled `not_placed`) come back through `watch_not_placed`, watched for
what is left of their horizon.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from fixgw.logs import get_logger
from fixgw.model.enums import CxlRejReason, CxlRejResponseTo, ExecType, OrdRejReason, OrdStatus, OrdType, TimeInForce
from fixgw.model.errors import UnknownSymbolError
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    utc_now,
)
from fixgw.venues.bridge.common.adapter import VenueAdapter
from fixgw.venues.bridge.common.errors import BridgeError, MappingError, VenueRejected, VenueUnknown, VenueUnreachable
from fixgw.venues.bridge.common.tracking import TERMINAL_EXEC_TYPES, TrackedOrder, denied_event
from fixgw.venues.bridge.common.views import VenueOrderView

log = get_logger("fixgw.bridge.order_sync")

DayOrders = Literal["reject", "as_gtc", "native"]
UnknownOrders = Literal["alert", "cancel"]
UnknownOrderHook = Callable[[VenueOrderView, bool, "str | None"], None]
"""(the venue's order, cancelled by us, why a cancel failed): told once per unknown order."""
LOOKUP_MARGIN = timedelta(seconds=60)
"""How far before an order's own time a lookup by client_order_id starts searching (clock differences)."""
RECOVERY_LOOKBACK = timedelta(days=1)
"""Search window for an order named by a status request that this process never saw."""
LATE_WATCH_FACTOR = 10
"""An order reported not placed is still looked up for this many settle windows, in case it turns up."""


def late_watch_s(create_settle_s: float) -> float:
    """How long after its last send an order reported not placed is still watched for."""
    return create_settle_s * LATE_WATCH_FACTOR


class OrderSyncListener(Protocol):
    def on_execution(self, venue: str, event: ExecutionEvent) -> None: ...
    def on_cancel_reject(self, venue: str, event: CancelRejectEvent) -> None: ...
    def on_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str) -> None: ...


class OrderSync:
    def __init__(
        self,
        adapter: VenueAdapter,
        symbols: SymbolMaster,
        listener: OrderSyncListener,
        *,
        max_submit_attempts: int = 3,
        lookup_delay_s: float = 0.2,
        day_orders: DayOrders = "reject",
        create_settle_s: float = 30.0,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.name
        self.symbols = symbols
        self.listener = listener
        self.max_submit_attempts = max_submit_attempts
        self.day_orders = day_orders
        self.lookup_delay_s = lookup_delay_s  # lets a slow venue finish an in-flight submit before we look
        self.create_settle_s = create_settle_s
        self.settle_interval_s = max(lookup_delay_s, min(1.0, create_settle_s / 10))
        self._settling: set[asyncio.Task[None]] = set()  # strong references to the settle tasks
        self.orders: dict[str, TrackedOrder] = {}  # by our cl_ord_id
        self.by_client_order_id: dict[str, TrackedOrder] = {}
        self._resume: list[TrackedOrder] = []  # adopted creates still inside their settle window
        self._unknown_orders: dict[str, bool] = {}
        """Venue order ids of open orders we do not know, found by the sweep -> cancelled by us yet."""

    # -- commands ---------------------------------------------------------------------------------
    async def submit(self, order: NewOrder) -> bool:
        """False: no connection could be made, the order is not at the venue and not tracked (the caller holds
        it and may submit it again). True: sent, refused, or settled as the submit policy says."""
        if order.cl_ord_id in self.orders:
            log.warning("bridge_duplicate_submit_ignored", venue=self.venue, cl_ord_id=order.cl_ord_id)
            return True
        try:
            instrument = self.symbols.get(order.instrument_id)
        except UnknownSymbolError as exc:
            self._emit(denied_event(order, exc.text, OrdRejReason.UNKNOWN_SYMBOL))
            return True
        if order.time_in_force is TimeInForce.DAY and order.ord_type is not OrdType.MARKET and \
                self.day_orders != "native":
            if self.day_orders == "reject":
                self._emit(denied_event(order, f"{self.venue} has no DAY time in force (crypto trades around the "
                                               "clock): send GTC, IOC or FOK, or configure day_orders = \"as_gtc\""))
                return True
            order = order.model_copy(update={"time_in_force": TimeInForce.GTC})
        tracked = self._track(order, instrument, utc_now())
        async with tracked.lock:
            try:
                await self._send(tracked)
            except VenueUnreachable as exc:
                self._forget(tracked)
                log.warning("bridge_submit_unreachable", venue=self.venue, cl_ord_id=order.cl_ord_id, error=exc.message)
                return False
        if tracked.view is None and tracked.outcome_unknown and not tracked.final_reported:
            self.listener.on_outcome_unknown(self.venue, order.cl_ord_id, "new", tracked.unknown_reason or
                                             "client order id already in use")
            self._start_settling(tracked)
        return True

    def deny(self, order: NewOrder, text: str) -> None:
        """Refused before anything was sent (e.g. held too long while the venue was down)."""
        self._emit(denied_event(order, text))

    def _track(self, order: NewOrder, instrument: Instrument, at: datetime, *, recovered: bool = False) -> TrackedOrder:
        client_order_id = self.adapter.client_order_id(order.cl_ord_id)
        tracked = TrackedOrder(order, instrument, client_order_id, submitted_at=at - LOOKUP_MARGIN,
                               outcome_unknown=recovered, recovered=recovered)
        self.orders[order.cl_ord_id] = tracked
        self.by_client_order_id[client_order_id] = tracked
        return tracked

    def _forget(self, tracked: TrackedOrder) -> None:
        self.orders.pop(tracked.order.cl_ord_id, None)
        self.by_client_order_id.pop(tracked.client_order_id, None)

    def adopt(self, order: NewOrder, *, sent_at: datetime | None = None) -> None:
        """An order the journal holds open at this venue (after a restart): tracked as 'outcome unknown' until a
        lookup by client_order_id finds it (the poll loop and status requests do that); never sent from here.

        `sent_at`: for a create not yet acknowledged, the latest time it may have been sent (the journal's last
        change of the order). Within `create_settle_s` of it the earlier process's request could still commit, so
        the order resumes the settle path of a send of ours - looked up until the window has passed, then "not
        placed" - instead of being called absent (which lets the router resend it)."""
        if order.cl_ord_id in self.orders:
            return
        instrument = self._instrument_of_recovered(order)
        if instrument is None:
            return
        tracked = self._track(order, instrument, order.transact_time or utc_now(), recovered=True)
        age_s = (utc_now() - sent_at).total_seconds() if sent_at is not None else None
        if age_s is not None and age_s < self.create_settle_s:
            tracked.recovered = False  # settled like a send of ours: never called absent inside the window
            tracked.sends = 1
            tracked.last_send_at = time.monotonic() - max(0.0, age_s)
            tracked.unknown_reason = "sent before a restart"
            self._resume.append(tracked)
        log.info("bridge_order_adopted", venue=self.venue, cl_ord_id=order.cl_ord_id,
                 settling=not tracked.recovered)

    def watch_not_placed(self, order: NewOrder, *, rejected_at: datetime) -> None:
        """An order an earlier process reported not placed at `rejected_at` (after a restart): watched as a not
        placed order of this process would be - looked up until `LATE_WATCH_FACTOR` settle windows after its last
        send (taken as one window before the reject), adopted through the found-late path if it turns up, and
        matched by the open-orders sweep as ours. Past that horizon it is not tracked at all."""
        if order.cl_ord_id in self.orders:
            return
        instrument = self._instrument_of_recovered(order)
        if instrument is None:
            return
        since_send_s = max(0.0, (utc_now() - rejected_at).total_seconds()) + self.create_settle_s
        if since_send_s >= late_watch_s(self.create_settle_s):
            return
        tracked = self._track(order, instrument, order.transact_time or rejected_at)
        tracked.sends = 1
        tracked.last_send_at = time.monotonic() - since_send_s
        tracked.final_reported = True
        tracked.not_placed = True
        log.info("bridge_not_placed_watched", venue=self.venue, cl_ord_id=order.cl_ord_id,
                 rejected_at=rejected_at.isoformat())

    def _instrument_of_recovered(self, order: NewOrder) -> Instrument | None:
        """The instrument of an order handed back after a restart; None (logged) when the symbols lost it."""
        try:
            return self.symbols.get(order.instrument_id)
        except UnknownSymbolError:
            log.error("bridge_adopt_unknown_symbol", venue=self.venue, cl_ord_id=order.cl_ord_id,
                      instrument_id=order.instrument_id)
            return None

    def resume_settling(self) -> None:
        """On the event loop, at start: the settle tasks of adopted creates still inside their settle window."""
        resume, self._resume = self._resume, []
        for tracked in resume:
            self._start_settling(tracked)

    def _start_settling(self, tracked: TrackedOrder) -> None:
        # Settled in its own task: a create waiting out its settle window holds no command slot.
        task = asyncio.get_running_loop().create_task(self._settle_create(tracked))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _send(self, tracked: TrackedOrder) -> None:
        """One send (lock held); its outcome is left on `tracked`: accepted, rejected or unknown."""
        tracked.sends += 1
        tracked.last_send_at = time.monotonic()
        try:
            view = await self.adapter.submit(tracked.order, tracked.instrument, tracked.client_order_id)
        except MappingError as exc:
            self._forget(tracked)
            self._emit(denied_event(tracked.order, exc.message))
            return
        except VenueRejected as exc:
            if self.adapter.is_duplicate(exc):
                tracked.outcome_unknown = True  # our id is taken: most likely by our own earlier send
                return
            self._rejected(tracked, exc)
            return
        except VenueUnknown as exc:
            if isinstance(exc, VenueUnreachable) and tracked.sends == 1:
                raise  # the first send never left: the order is not at the venue (submit hands it back)
            tracked.outcome_unknown = True
            tracked.unknown_reason = exc.message
            log.warning("bridge_submit_outcome_unknown", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                        send=tracked.sends, reason=exc.message)
            return
        await self._accepted(tracked, view)

    async def _settle_create(self, tracked: TrackedOrder) -> None:
        """Looks a create of unknown outcome up until found, or absent `create_settle_s` after its last send."""
        told_unknown = False
        delay = self.lookup_delay_s
        while True:
            await asyncio.sleep(delay)
            delay = self.settle_interval_s
            async with tracked.lock:
                if tracked.view is not None or tracked.final_reported or not tracked.outcome_unknown:
                    return
                try:
                    found = await self.adapter.find(tracked.client_order_id, tracked.instrument, tracked.submitted_at)
                except BridgeError as exc:
                    log.warning("bridge_submit_lookup_failed", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                                error=exc.message)
                    if self._settled(tracked) and not told_unknown:
                        told_unknown = True  # the router hears of it once; lookups go on
                        self.listener.on_outcome_unknown(self.venue, tracked.order.cl_ord_id, "new",
                                                         f"lookup failed: {exc.message}")
                    continue
                log.info("bridge_submit_lookup", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                         found=found is not None)
                if found is not None:
                    with contextlib.suppress(BridgeError):  # acknowledged; the poll reads its fills again
                        await self._accepted(tracked, found)
                    return
                if self.adapter.rejects_repeated_client_order_id and tracked.sends < self.max_submit_attempts:
                    await self._send(tracked)  # the venue would refuse it if the earlier send had committed
                    delay = self.lookup_delay_s
                    continue
                if self._settled(tracked):
                    self._not_placed(tracked)
                    return

    def _settled(self, tracked: TrackedOrder) -> bool:
        return time.monotonic() - tracked.last_send_at >= self.create_settle_s

    def _not_placed(self, tracked: TrackedOrder) -> None:
        """Absent a full settle window after the last send: the EMS gets its final answer, lookups go on a while."""
        tracked.final_reported = True
        tracked.not_placed = True
        reason = tracked.unknown_reason or "outcome unknown"
        log.warning("bridge_order_not_placed", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                    sends=tracked.sends, settle_s=self.create_settle_s, reason=reason)
        self._emit(tracked.event(f"notplaced:{tracked.client_order_id}", ExecType.REJECTED, OrdStatus.REJECTED,
                                 ord_rej_reason=OrdRejReason.BROKER_OPTION, not_placed=True,
                                 text=f"not placed: {self.venue} has no order {tracked.client_order_id} "
                                      f"{self.create_settle_s:g} s after the send ({reason})"))

    async def _adopt_late(self, tracked: TrackedOrder, view: VenueOrderView) -> None:
        """An order reported not placed turned up at the venue: it is live, so the EMS and an operator must know."""
        tracked.not_placed = False
        tracked.final_reported = False
        tracked.outcome_unknown = False
        tracked.view = view
        log.error("bridge_late_order_adopted", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                  venue_order_id=view.venue_order_id, alert=True)
        self._emit(tracked.event(f"{view.venue_order_id}:late", ExecType.NEW, OrdStatus.NEW, cum_qty=0, avg_px=0,
                                 found_late=True,
                                 text=f"found at {self.venue} after it was reported not placed: adopted"))
        await self._apply(tracked, view)

    async def cancel(self, cancel: CancelOrder) -> None:
        tracked = self.orders.get(cancel.orig_cl_ord_id)
        if tracked is None:
            self._cancel_reject(cancel, None, CxlRejReason.UNKNOWN_ORDER, "unknown order")
            return
        async with tracked.lock:
            if tracked.view is None:
                self._cancel_reject(cancel, tracked, CxlRejReason.OTHER, "order not yet acknowledged by the venue")
                return
            if tracked.final_reported or tracked.current_status is OrdStatus.FILLED:
                self._cancel_reject(cancel, tracked, CxlRejReason.TOO_LATE_TO_CANCEL, "order is already final")
                return
            try:
                await self.adapter.cancel(tracked.view, tracked.instrument)
            except VenueRejected as exc:
                await self._sync_locked(tracked)
                self._cancel_reject(cancel, tracked, CxlRejReason.TOO_LATE_TO_CANCEL, exc.message)
                return
            except VenueUnknown as exc:
                tracked.cancel = cancel  # the poll loop will report the cancel if it happened
                self.listener.on_outcome_unknown(self.venue, cancel.cl_ord_id, "cancel", exc.message)
                return
            tracked.cancel = cancel
            await self._sync_locked(tracked)

    def replace_unsupported(self, replace: ReplaceOrder) -> None:
        self.listener.on_cancel_reject(
            self.venue,
            CancelRejectEvent(
                cl_ord_id=replace.cl_ord_id,
                orig_cl_ord_id=replace.orig_cl_ord_id,
                order_id=replace.order_id,
                ord_status=self._status_of(replace.orig_cl_ord_id),
                response_to=CxlRejResponseTo.REPLACE,
                reason=CxlRejReason.BROKER_OPTION,
                text=f"{self.venue} does not support replace: cancel and send a new order",
                transact_time=utc_now(),
            ),
        )

    async def status(self, request: StatusRequest) -> None:
        tracked = self.orders.get(request.cl_ord_id)
        if tracked is None:
            await self._status_unseen(request)
            return
        async with tracked.lock:
            try:
                if tracked.outcome_unknown and tracked.view is None and not tracked.recovered:
                    # Sent by us: only the settle task may call it absent (a resend now could create it twice).
                    if not tracked.final_reported:
                        await self._resolve_unknown(tracked)
                    if tracked.view is None and not tracked.final_reported:
                        self.listener.on_outcome_unknown(self.venue, request.cl_ord_id, "status",
                                                         "the create is still settling at the venue")
                        return
                elif tracked.outcome_unknown and tracked.view is None:
                    await self._resolve_unknown(tracked)
                    if tracked.view is None:
                        # Proven absent (no send of ours is still running: it would hold the lock). Forget it, so
                        # that the router's resend under the same id goes through the normal submit path.
                        self._forget(tracked)
                        self._emit(self._unknown_status(request, "the venue has no order with this client order id"))
                        return
                elif tracked.view is not None:
                    await self._sync_locked(tracked)
            except BridgeError as exc:
                self._status_unknown(request, exc)
                return
            tracked.status_seq += 1
            key = tracked.venue_order_id or tracked.client_order_id
            self._emit(
                tracked.event(
                    f"{key}:status:{tracked.status_seq}",
                    ExecType.ORDER_STATUS,
                    tracked.current_status,
                    is_status_response=True,
                )
            )

    async def _status_unseen(self, request: StatusRequest) -> None:
        """A status request for an order this process never saw: look it up at the venue before answering."""
        try:
            instrument = self.symbols.get(request.instrument_id or "")
        except UnknownSymbolError:
            self._emit(self._unknown_status(request, "order not known to this bridge (no instrument to look it up)"))
            return
        client_order_id = self.adapter.client_order_id(request.cl_ord_id)
        try:
            view = await self.adapter.find(client_order_id, instrument, utc_now() - RECOVERY_LOOKBACK)
        except BridgeError as exc:
            self._status_unknown(request, exc)
            return
        log.info("bridge_status_lookup", venue=self.venue, cl_ord_id=request.cl_ord_id, found=view is not None)
        if view is None:
            self._emit(self._unknown_status(request, "the venue has no order with this client order id"))
            return
        if request.cl_ord_id in self.orders:  # a concurrent request re-seeded it meanwhile
            await self.status(request)
            return
        order = self._order_from_view(request, view)
        if order is None:
            self._emit(self._view_status(request, view))
            return
        tracked = self._track(order, instrument, utc_now() - RECOVERY_LOOKBACK, recovered=True)
        async with tracked.lock:
            try:
                await self._accepted(tracked, view)
            except BridgeError as exc:
                self._status_unknown(request, exc)
                return
            tracked.status_seq += 1
            self._emit(tracked.event(f"{view.venue_order_id}:status:{tracked.status_seq}", ExecType.ORDER_STATUS,
                                     tracked.current_status, is_status_response=True))

    @staticmethod
    def _order_from_view(request: StatusRequest, view: VenueOrderView) -> NewOrder | None:
        """Enough of the order to track it again (quantity decides 'filled'); None when the venue did not say."""
        if view.order_qty is None or request.side is None or request.instrument_id is None:
            return None
        return NewOrder(cl_ord_id=request.cl_ord_id, instrument_id=request.instrument_id, side=request.side,
                        order_qty=view.order_qty, ord_type=OrdType.MARKET, time_in_force=TimeInForce.GTC)

    def _view_status(self, request: StatusRequest, view: VenueOrderView) -> ExecutionEvent:
        status = view.status if view.status.is_terminal else (
            OrdStatus.PARTIALLY_FILLED if view.cum_qty > 0 else OrdStatus.NEW)
        return ExecutionEvent(
            exec_id=f"{view.venue_order_id}:status:{utc_now().timestamp()}", exec_type=ExecType.ORDER_STATUS,
            ord_status=status, cl_ord_id=request.cl_ord_id, order_id=view.venue_order_id,
            instrument_id=request.instrument_id, side=request.side, cum_qty=view.cum_qty,
            avg_px=view.avg_px or Decimal(0), text=view.text, is_status_response=True, transact_time=utc_now())

    def _status_unknown(self, request: StatusRequest, error: BridgeError) -> None:
        log.warning("bridge_status_lookup_failed", venue=self.venue, cl_ord_id=request.cl_ord_id, error=error.message)
        self.listener.on_outcome_unknown(self.venue, request.cl_ord_id, "status", f"lookup failed: {error.message}")

    # -- polling ----------------------------------------------------------------------------------
    async def sync_all(self, limit: int | None = None) -> None:
        """One pass over the orders not yet final - every one, or the `limit` least recently refreshed: refresh,
        report fills and final states, settle unknowns."""
        candidates = [t for t in self.orders.values()
                      if (not t.final_reported or self._watching(t)) and not t.lock.locked()]
        if limit is not None and len(candidates) > limit:
            candidates = heapq.nsmallest(limit, candidates, key=lambda t: t.synced_at)
        for tracked in candidates:
            if (tracked.final_reported and not tracked.not_placed) or tracked.lock.locked():
                continue
            tracked.synced_at = time.monotonic()  # polled now, found or not: the others go first next time
            async with tracked.lock:
                try:
                    if tracked.not_placed:
                        found = await self.adapter.find(tracked.client_order_id, tracked.instrument,
                                                        tracked.submitted_at)
                        if found is not None:
                            await self._adopt_late(tracked, found)
                    elif tracked.view is None and tracked.outcome_unknown:
                        await self._resolve_unknown(tracked)
                        if tracked.view is None and tracked.recovered:
                            # Never sent by this process: whether to send it is the router's call (its status
                            # request finds it absent and resends under the same id). Stop polling for it.
                            log.warning("bridge_recovered_order_absent", venue=self.venue,
                                        cl_ord_id=tracked.order.cl_ord_id)
                            self._forget(tracked)
                    elif tracked.view is not None:
                        await self._sync_locked(tracked)
                except BridgeError as exc:
                    log.warning(
                        "bridge_sync_failed", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id, error=exc.message
                    )

    async def sweep_open_orders(self, policy: UnknownOrders, on_unknown: UnknownOrderHook) -> None:
        """One open-orders sweep: every order open at the venue is matched with ours by client order id, then by
        venue order id. An order of ours reported not placed is adopted (it turned up late); one still settling is
        accepted (the lookup path: a late commit inside its settle window is not "unknown"). Any other is an order
        fixgw does not know: `on_unknown` hears of it once, and under policy "cancel" it is cancelled at the venue
        (retried by later sweeps while it stays open)."""
        listed = await self.adapter.open_orders()
        ours = {t.venue_order_id for t in self.orders.values() if t.venue_order_id is not None}
        for view in listed:
            tracked = self.by_client_order_id.get(view.client_order_id) if view.client_order_id else None
            if tracked is not None:
                await self._swept_ours(tracked, view)
                continue
            if view.venue_order_id in ours:
                continue
            first_sight = view.venue_order_id not in self._unknown_orders
            canceled = self._unknown_orders.get(view.venue_order_id, False)
            error: str | None = None
            if policy == "cancel" and not canceled:
                error = await self._cancel_unknown(view)
                canceled = error is None
                self._unknown_orders[view.venue_order_id] = canceled
            else:
                self._unknown_orders.setdefault(view.venue_order_id, False)
            if first_sight:
                log.error("bridge_unknown_venue_order", venue=self.venue, venue_order_id=view.venue_order_id,
                          client_order_id=view.client_order_id, symbol=view.symbol, policy=policy,
                          canceled=canceled, error=error, alert=True)
                on_unknown(view, canceled, error)

    async def _swept_ours(self, tracked: TrackedOrder, view: VenueOrderView) -> None:
        if tracked.lock.locked() or not (tracked.not_placed or (tracked.view is None and tracked.outcome_unknown)):
            return  # known and settled (the poll follows it), or being handled right now
        async with tracked.lock:
            try:
                if tracked.not_placed:
                    await self._adopt_late(tracked, view)
                elif tracked.view is None and tracked.outcome_unknown and not tracked.final_reported:
                    await self._accepted(tracked, view)
            except BridgeError as exc:
                log.warning("bridge_sweep_sync_failed", venue=self.venue, cl_ord_id=tracked.order.cl_ord_id,
                            error=exc.message)

    async def _cancel_unknown(self, view: VenueOrderView) -> str | None:
        """Cancel an order we do not know; the error text when that could not be done."""
        if view.symbol is None:
            return "the venue did not say its symbol"
        try:
            instrument = self.symbols.resolve(self.adapter.symbol_scheme, view.symbol)
        except UnknownSymbolError as exc:
            return exc.text
        try:
            await self.adapter.cancel(view, instrument)
        except BridgeError as exc:
            return exc.message
        log.warning("bridge_unknown_venue_order_canceled", venue=self.venue, venue_order_id=view.venue_order_id,
                    client_order_id=view.client_order_id)
        return None

    def _watching(self, tracked: TrackedOrder) -> bool:
        return tracked.not_placed and time.monotonic() - tracked.last_send_at < late_watch_s(self.create_settle_s)

    async def sync_client_order_id(self, client_order_id: str) -> None:
        tracked = self.by_client_order_id.get(client_order_id)
        if tracked is None or tracked.view is None or tracked.final_reported:
            return
        async with tracked.lock:
            if not tracked.final_reported:  # the sync it queued behind may have finished it
                await self._sync_locked(tracked)

    @property
    def open_orders(self) -> list[TrackedOrder]:
        return [t for t in self.orders.values() if not t.final_reported]

    async def _resolve_unknown(self, tracked: TrackedOrder) -> None:
        found = await self.adapter.find(tracked.client_order_id, tracked.instrument, tracked.submitted_at)
        if found is not None:
            await self._accepted(tracked, found)
        elif not tracked.recovered and not tracked.final_reported and self._settled(tracked):
            self._not_placed(tracked)

    async def _sync_locked(self, tracked: TrackedOrder) -> None:
        assert tracked.view is not None
        tracked.synced_at = time.monotonic()
        await self._apply(tracked, await self.adapter.refresh(tracked.view, tracked.instrument))

    # -- outcomes ---------------------------------------------------------------------------------
    async def _accepted(self, tracked: TrackedOrder, view: VenueOrderView) -> None:
        tracked.view = view
        tracked.outcome_unknown = False
        log.info(
            "bridge_order_accepted",
            venue=self.venue,
            cl_ord_id=tracked.order.cl_ord_id,
            venue_order_id=view.venue_order_id,
            sends=tracked.sends,
        )
        self._emit(tracked.event(f"{view.venue_order_id}:new", ExecType.NEW, OrdStatus.NEW, cum_qty=0, avg_px=0))
        await self._apply(tracked, view)

    async def _apply(self, tracked: TrackedOrder, view: VenueOrderView) -> None:
        tracked.view = view
        if view.cum_qty > tracked.cum_qty or view.venue_terminal:
            for fill in await self.adapter.fills(view, tracked.instrument):
                if tracked.add_fill(fill):
                    self._emit(tracked.trade_event(fill, self.venue))
        if tracked.final_reported:
            return
        if tracked.quantity_status is OrdStatus.FILLED:
            tracked.final_reported = True
        elif view.status in TERMINAL_EXEC_TYPES:
            tracked.final_reported = True
            exec_type = TERMINAL_EXEC_TYPES[view.status]
            self._emit(
                tracked.event(f"{view.venue_order_id}:{exec_type.name.lower()}", exec_type, view.status, text=view.text)
            )

    def _rejected(self, tracked: TrackedOrder, error: VenueRejected) -> None:
        tracked.final_reported = True
        self._emit(
            tracked.event(
                f"reject:{tracked.client_order_id}:{tracked.sends}",
                ExecType.REJECTED,
                OrdStatus.REJECTED,
                ord_rej_reason=OrdRejReason.BROKER_OPTION,
                text=f"{self.venue}: {error.message}",
            )
        )

    def _emit(self, event: ExecutionEvent) -> None:
        log.info(
            "bridge_execution",
            venue=self.venue,
            cl_ord_id=event.cl_ord_id,
            exec_type=event.exec_type.name,
            ord_status=event.ord_status.name,
            exec_id=event.exec_id,
            cum_qty=event.cum_qty,
        )
        self.listener.on_execution(self.venue, event)

    def _status_of(self, cl_ord_id: str) -> OrdStatus:
        tracked = self.orders.get(cl_ord_id)
        return tracked.current_status if tracked else OrdStatus.REJECTED

    def _cancel_reject(
        self, cancel: CancelOrder, tracked: TrackedOrder | None, reason: CxlRejReason, text: str
    ) -> None:
        self.listener.on_cancel_reject(
            self.venue,
            CancelRejectEvent(
                cl_ord_id=cancel.cl_ord_id,
                orig_cl_ord_id=cancel.orig_cl_ord_id,
                order_id=tracked.venue_order_id if tracked else cancel.order_id,
                ord_status=tracked.current_status if tracked else OrdStatus.REJECTED,
                response_to=CxlRejResponseTo.CANCEL,
                reason=reason,
                text=text,
                transact_time=utc_now(),
            ),
        )

    def _unknown_status(self, request: StatusRequest, text: str = "order not known to this bridge") -> ExecutionEvent:
        return ExecutionEvent(
            exec_id=f"status:{request.cl_ord_id}:{utc_now().timestamp()}",
            exec_type=ExecType.ORDER_STATUS,
            ord_status=OrdStatus.REJECTED,
            cl_ord_id=request.cl_ord_id,
            order_id=request.order_id,
            instrument_id=request.instrument_id,
            side=request.side,
            ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
            text=text,
            is_status_response=True,
            transact_time=utc_now(),
        )
