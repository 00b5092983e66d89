"""Read-only views of the gateway for operators: the day book of record and the risk state.

Orders are read from the journal (the book of record: the router holds the day's closed orders there only), off
the router thread. The risk state is owned by the router thread, so it is read through `runner.call`, waiting
(bounded) for the answer. Rows are plain JSON-ready dicts (decimals as text). Sessions come from the gateway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fixgw.engine.observe import SessionState
from fixgw.model.decimals import fmt_decimal
from fixgw.model.enums import OrdStatus
from fixgw.model.orders import utc_day_start, utc_now
from fixgw.model.state import Order
from fixgw.ops.controls import RiskControls, RiskState, find_controls
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects
from fixgw.store.daybook import find_orders, status_counts
from fixgw.store.records import JournalError

T = TypeVar("T")
CALL_TIMEOUT_S = 3.0
SNAPSHOT_MAX_AGE_S = 0.5
BLOTTER_MAX_ROWS = 5000


class RouterUnavailable(RuntimeError):
    """The book cannot be read now: the router thread did not answer in time (not started, stopped, or wedged),
    or the journal, where the book of record is read, failed."""


@contextmanager
def _journal_read() -> Iterator[None]:
    try:
        yield
    except JournalError as exc:
        raise RouterUnavailable(f"the journal cannot be read: {exc}") from exc


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


def _status_name(value: str) -> str:
    try:
        return OrdStatus(value).name
    except ValueError:
        return value


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
    offset: int = 0
    """Rows to skip (paging); offset + limit is capped at BLOTTER_MAX_ROWS."""


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
        # Counted in the journal: the router holds the day's closed orders there only (router/book.py).
        with _journal_read():
            by_status, open_orders = status_counts(self.gateway.journal, utc_day_start(utc_now()))
        tally = {_status_name(value): count for value, count in sorted(by_status.items())}

        def take(core: RouterCore, _fx: Effects) -> RiskState | None:
            return controls.risk_state() if controls is not None else None

        snapshot = BookSnapshot(time.monotonic(), tally, open_orders, call_on_router(self.gateway.runner, take))
        with self._lock:
            self._cached = snapshot
        return snapshot

    def blotter(self, query: BlotterFilter) -> list[dict[str, Any]]:
        """Matching orders of the day book of record (open, or updated today), newest first, at most `query.limit`
        (capped at BLOTTER_MAX_ROWS). Read from the journal, off the router thread."""
        offset = max(0, min(query.offset, BLOTTER_MAX_ROWS - 1))
        limit = max(1, min(query.limit, BLOTTER_MAX_ROWS - offset))
        status = None
        if query.status is not None and query.status != "open":
            member = OrdStatus.__members__.get(query.status.upper())
            if member is None:
                return []
            status = member.value
        with _journal_read():
            found = find_orders(self.gateway.journal, utc_day_start(utc_now()), limit=offset + limit,
                                open_only=query.status == "open", status=status, ems_session=query.ems_session,
                                venue=query.venue, account=query.account, instrument_id=query.instrument,
                                cl_ord_id=query.cl_ord_id)
        return [order_row(order) for order in found[offset:]]

    def order(self, order_id: str) -> dict[str, Any] | None:
        """One order of record, today's or older (from the journal)."""
        with _journal_read():
            found = self.gateway.journal.find_order(order_id=order_id)
        return order_row(found) if found is not None else None

    def order_history(self, order_id: str) -> dict[str, Any] | None:
        """One order with everything the journal holds about it: events, fills, FIX and REST messages."""
        journal = self.gateway.journal
        with _journal_read():
            found = journal.find_order(order_id=order_id)
            if found is None:
                return None
            events = [{"at": e.at.isoformat(), "event": e.event, "status": _status_name(e.status), "detail": e.detail}
                      for e in journal.iter_events(order_id=order_id)]
            messages = [{"at": m.at.isoformat(), "session": m.session, "direction": m.direction,
                         "msg_type": m.msg_type, "seq_num": m.seq_num, "raw": m.raw.replace("\x01", "|")}
                        for m in journal.iter_messages(order_id=order_id)]
        fills = [{"exec_id": fill.exec_id, "venue": fill.venue, "qty": fmt_decimal(fill.qty),
                  "price": fmt_decimal(fill.price), "at": fill.time.isoformat()} for fill in found.fills.values()]
        return {"order": order_row(found), "events": events, "fills": fills, "messages": messages}
