"""Read-only views of the gateway for operators: the book through snapshots taken on the router thread.

The book is owned by the router thread, so every read goes through `runner.call` and waits (bounded) for
the answer; rows are plain JSON-ready dicts (decimals as text). Sessions come from the gateway directly.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fixgw.engine.observe import SessionState
from fixgw.model.decimals import fmt_decimal
from fixgw.model.state import Order
from fixgw.ops.controls import RiskControls, RiskState, find_controls
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

T = TypeVar("T")
CALL_TIMEOUT_S = 3.0
SNAPSHOT_MAX_AGE_S = 0.5
BLOTTER_MAX_ROWS = 5000


class RouterUnavailable(RuntimeError):
    """The router thread did not answer in time (not started, stopped, or wedged)."""


class _Runner(Protocol):
    def call(self, function: Callable[[RouterCore, Effects], object]) -> None: ...


class GatewayLike(Protocol):
    """What the ops layer needs from a gateway (the real `Gateway`, or a stand-in in unit tests)."""

    runner: Any
    journal: Any

    def sessions(self) -> list[SessionState]: ...


def call_on_router(runner: _Runner | None, function: Callable[[RouterCore, Effects], T],
                   timeout: float = CALL_TIMEOUT_S, *, durable: bool = False) -> T:
    """Run `function(core, effects)` on the router thread and return its result (or raise its exception).

    durable: also wait until the pass it ran in was journaled (what it put into `effects` is committed).
    """
    if runner is None:
        raise RouterUnavailable("the gateway is not running")
    future: Future[T] = Future()

    def run(core: RouterCore, fx: Effects) -> None:
        try:
            future.set_result(function(core, fx))
        except Exception as exc:
            future.set_exception(exc)

    runner.call(run)
    try:
        result = future.result(timeout)
    except TimeoutError:
        raise RouterUnavailable(f"the router did not answer within {timeout:g} s") from None
    if durable:
        # Passes run one after another and each commits before the next starts.
        call_on_router(runner, lambda _core, _fx: None, timeout)
    return result


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    taken_at: float
    by_status: dict[str, int]
    open_orders: int
    risk: RiskState | None


@dataclass(frozen=True, slots=True)
class BlotterFilter:
    status: str | None = None
    """An OrdStatus name (FILLED) or "open"."""
    ems_session: str | None = None
    venue: str | None = None
    account: str | None = None
    instrument: str | None = None
    cl_ord_id: str | None = None
    limit: int = 200

    def matches(self, order: Order) -> bool:
        if self.status == "open":
            if not order.is_open:
                return False
        elif self.status is not None and order.status.name != self.status.upper():
            return False
        return ((self.ems_session is None or order.ems_session == self.ems_session)
                and (self.venue is None or order.venue == self.venue)
                and (self.account is None or order.account == self.account)
                and (self.instrument is None or order.instrument_id == self.instrument)
                and (self.cl_ord_id is None or self.cl_ord_id in order.cl_ord_id_chain
                     or order.cl_ord_id == self.cl_ord_id))


def order_row(order: Order) -> dict[str, Any]:
    def dec(value: Any) -> str | None:
        return None if value is None else fmt_decimal(value)

    return {
        "order_id": order.order_id, "ems_session": order.ems_session, "cl_ord_id": order.cl_ord_id,
        "account": order.account, "instrument": order.instrument_id, "side": order.side.name,
        "ord_type": order.ord_type.name, "order_qty": dec(order.order_qty), "price": dec(order.price),
        "status": order.status.name, "venue": order.venue, "venue_cl_ord_id": order.venue_cl_ord_id,
        "venue_order_id": order.venue_order_id, "cum_qty": dec(order.cum_qty), "leaves_qty": dec(order.leaves_qty),
        "avg_px": dec(order.avg_px), "pending": order.pending.kind if order.pending else None, "text": order.text,
        "created_at": order.created_at.isoformat(), "updated_at": order.updated_at.isoformat(),
    }


class GatewayView:
    """Snapshots of one gateway for the admin API, the status page, metrics and alert rules."""

    def __init__(self, gateway: GatewayLike, *, max_age: float = SNAPSHOT_MAX_AGE_S) -> None:
        self.gateway = gateway
        self.max_age = max_age
        self._lock = threading.Lock()
        self._cached: BookSnapshot | None = None

    @property
    def controls(self) -> RiskControls | None:
        return find_controls(self.gateway)

    def sessions(self) -> list[SessionState]:
        return self.gateway.sessions()

    def journal_open(self) -> bool:
        try:
            self.gateway.journal.engine  # noqa: B018 - raises RuntimeError when closed
        except Exception:
            return False
        return True

    def router_alive(self, max_silence_s: float) -> bool:
        runner = self.gateway.runner
        thread = getattr(runner, "_thread", None)
        if runner is None or thread is None or not thread.is_alive():
            return False
        return bool(time.monotonic() - runner.heartbeat <= max_silence_s)

    def book(self) -> BookSnapshot:
        """Orders by status, open orders and the risk state; cached for `max_age` seconds."""
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached.taken_at <= self.max_age:
                return cached
        controls = self.controls

        def take(core: RouterCore, _fx: Effects) -> BookSnapshot:
            tally = Counter(order.status.name for order in core.book)
            open_orders = sum(1 for order in core.book if order.is_open)
            risk = controls.risk_state() if controls is not None else None
            return BookSnapshot(time.monotonic(), dict(tally), open_orders, risk)

        snapshot = call_on_router(self.gateway.runner, take)
        with self._lock:
            self._cached = snapshot
        return snapshot

    def blotter(self, query: BlotterFilter) -> list[dict[str, Any]]:
        """Matching orders, newest first, at most `query.limit` (capped at BLOTTER_MAX_ROWS)."""
        limit = max(1, min(query.limit, BLOTTER_MAX_ROWS))

        def take(core: RouterCore, _fx: Effects) -> list[Order]:
            found = heapq.nlargest(limit, (order for order in core.book if query.matches(order)),
                                   key=lambda order: order.created_at)
            return [order.model_copy(deep=True) for order in found]

        # Rows are built off the router thread, from copies.
        return [order_row(order) for order in call_on_router(self.gateway.runner, take)]

    def order(self, order_id: str) -> dict[str, Any] | None:
        def take(core: RouterCore, _fx: Effects) -> Order | None:
            found = core.book.get(order_id)
            return found.model_copy(deep=True) if found is not None else None

        found = call_on_router(self.gateway.runner, take)
        return order_row(found) if found is not None else None
