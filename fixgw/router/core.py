"""The router core: single owner of the order book of record.

Every handler takes canonical input, updates the book through the state machine and appends what must be
journaled and sent to an `Effects`; it never touches a socket or the database. The engine calls it from one
thread, journals the effects in one commit, then sends (persist before send).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

import structlog

from fixgw.model.decimals import ZERO, fmt_decimal, is_multiple_of
from fixgw.model.enums import CxlRejReason, CxlRejResponseTo, ExecType, OrdRejReason, OrdStatus, OrdType
from fixgw.model.errors import FixgwError, InvalidTransition, UnknownSymbolError
from fixgw.model.events import EventName
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    Fill,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    utc_now,
)
from fixgw.model.state import Order, OrderEvent, PendingRequest, amend, apply, correct_fill, remove_fill
from fixgw.model.trusted import trusted
from fixgw.router.book import OrderBook
from fixgw.router.effects import Effects, RouterObserver
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable

log = structlog.get_logger("fixgw.router")

IN_FLIGHT = (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN, OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE)
OPENING = (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN)
STATUS_RETRY_SECONDS = 5.0
MAX_UNANSWERED = timedelta(seconds=30)
UNKNOWN_ORDER_GRACE = timedelta(seconds=60)
STATUS_SWEEP_BATCH = 50
"""Status requests per tick (1 s) when a venue logs on and every open order there is asked about."""

AlertRaiser = Callable[..., object]
"""(kind, scope, message, **detail): logs the `alert` event and hands it to the alert sinks (risk/telemetry.py)."""


@dataclass(frozen=True, slots=True)
class Denial:
    reason: OrdRejReason
    text: str


@dataclass(frozen=True, slots=True)
class EmsPolicy:
    allowed_accounts: frozenset[str] = frozenset()
    cancel_on_disconnect: bool = False
    allowed_instruments: frozenset[str] = frozenset()
    """Canonical instrument ids or globs; empty: any."""
    allowed_ord_types: frozenset[OrdType] = frozenset()
    """Empty: any."""


class PreTradeCheck(Protocol):
    def __call__(self, session: str, order: NewOrder, instrument: Instrument, venue: str) -> Denial | None:
        """Return a Denial to refuse the order before it leaves; None to let it pass."""


class ReplaceCheck(Protocol):
    def __call__(self, session: str, order: Order, command: ReplaceOrder, instrument: Instrument,
                 venue: str) -> Denial | None:
        """Return a Denial to refuse a replace of a live order (answered with an OrderCancelReject)."""


class RouterCore:
    def __init__(
        self,
        *,
        book: OrderBook,
        routes: RouteTable,
        ids: IdFactory,
        symbols: SymbolMaster,
        ems_policies: Mapping[str, EmsPolicy],
        is_connected: Callable[[str], bool],
        checks: Sequence[PreTradeCheck] = (),
        replace_checks: Sequence[ReplaceCheck] = (),
        observer: RouterObserver | None = None,
        max_unanswered: timedelta = MAX_UNANSWERED,
        unknown_order_grace: timedelta = UNKNOWN_ORDER_GRACE,
        alert: AlertRaiser | None = None,
        mass_status: Callable[[str], bool] = lambda _venue: False,
    ) -> None:
        self.book = book
        self.routes = routes
        self.ids = ids
        self.symbols = symbols
        self.ems_policies = ems_policies
        self.is_connected = is_connected
        self.checks = list(checks)
        self.replace_checks = list(replace_checks)
        self.observer = observer
        """Told of every order event as it is recorded (risk state); see `effects()`."""
        self.max_unanswered = max_unanswered
        self.unknown_order_grace = unknown_order_grace
        self.alert = alert
        self.mass_status = mass_status
        """Whether a venue answers OrderMassStatusRequest (one request at logon instead of one per order)."""
        self._sweeps: dict[str, list[str]] = {}
        """Venue -> open orders still to be asked about since it logged on (STATUS_SWEEP_BATCH per tick)."""
        self._unknown_at_venue: dict[str, datetime | None] = {}
        """Acknowledged orders their venue says it does not know -> the tick that first saw that (None: not yet)."""
        self._resent: set[str] = set()
        # Routed orders the EMS has heard nothing of yet -> the tick that first saw them (None: not yet seen).
        self._unanswered: dict[str, datetime | None] = {
            order.order_id: None for order in book.open_orders() if order.status in OPENING}
        self.overdue: dict[str, Order] = {}
        """Orders still unsettled after `max_unanswered` (the ops `unanswered_orders` rule counts them)."""
        self._last_status_query: dict[str, datetime] = {}
        # Open orders that have been UNKNOWN (a refused cancel can return one there): all on_tick looks at.
        self._maybe_unknown: dict[str, Order] = {
            order.order_id: order for order in book.open_orders()
            if OrdStatus.UNKNOWN in (order.status, order.status_before_request)}

    def effects(self) -> Effects:
        """A fresh Effects for one pass, reporting its order events to the observer."""
        return Effects(observer=self.observer)

    # ------------------------------------------------------------------ EMS side

    def on_new_order(self, session: str, command: NewOrder, fx: Effects) -> Order | None:
        if self.book.has_ems_cl_ord_id(session, command.cl_ord_id):
            fx.to_ems.append((session, self._reject_unbooked(command, OrdRejReason.DUPLICATE_ORDER,
                                                             f"duplicate ClOrdID {command.cl_ord_id}"), None))
            return None
        order = Order(
            order_id=self.ids.order_id(), ems_session=session, cl_ord_id=command.cl_ord_id,
            cl_ord_id_chain=[command.cl_ord_id], account=command.account, instrument_id=command.instrument_id,
            side=command.side, ord_type=command.ord_type, order_qty=command.order_qty, price=command.price,
            stop_price=command.stop_price, time_in_force=command.time_in_force,
        )
        self.book.add(order)
        fx.touch(order, EventName.NEW, cl_ord_id=command.cl_ord_id, qty=command.order_qty, price=command.price)
        denial, venue, rule = self._admit(session, command)
        if denial is not None or venue is None:
            assert denial is not None
            self._deny(order, denial, fx)
            return order
        order.venue = venue
        outbound_id = self._next_venue_id(order)
        order.venue_cl_ord_id = outbound_id
        fx.touch(order, EventName.ROUTE, venue=venue, venue_cl_ord_id=outbound_id, rule=rule)
        self._unanswered[order.order_id] = None
        fx.to_venue.append((venue, command.model_copy(update={"cl_ord_id": outbound_id}), order.order_id))
        return order

    def _admit(self, session: str, command: NewOrder) -> tuple[Denial | None, str | None, str | None]:
        policy = self.ems_policies.get(session, EmsPolicy())
        if policy.allowed_accounts and command.account not in policy.allowed_accounts:
            return Denial(OrdRejReason.UNKNOWN_ACCOUNT,
                          f"account {command.account!r} is not allowed for session {session}"), None, None
        entitlement = self._entitlement(session, command.instrument_id, command.ord_type)
        if entitlement is not None:
            return entitlement, None, None
        try:
            instrument = self.symbols.get(command.instrument_id)
        except UnknownSymbolError as exc:
            return Denial(OrdRejReason.UNKNOWN_SYMBOL, exc.text), None, None
        if not is_multiple_of(command.order_qty, instrument.lot_size):
            return Denial(OrdRejReason.OTHER, f"order qty {fmt_decimal(command.order_qty)} is not a multiple of lot "
                                              f"size {fmt_decimal(instrument.lot_size)}"), None, None
        for price in (command.price, command.stop_price):
            if price is not None and not is_multiple_of(price, instrument.tick_size):
                return Denial(OrdRejReason.INVALID_PRICE_INCREMENT,
                              f"price {fmt_decimal(price)} is not a multiple of tick size "
                              f"{fmt_decimal(instrument.tick_size)}"), None, None
        decision = self.routes.select(ems_session=session, account=command.account, instrument=instrument,
                                      ord_type=command.ord_type, is_connected=self.is_connected)
        if decision.destination is None:
            return Denial(OrdRejReason.BROKER_OPTION, decision.reason), None, None
        if not self.is_connected(decision.destination):
            return Denial(OrdRejReason.EXCHANGE_CLOSED,
                          f"destination {decision.destination} is not available (not logged on)"), None, None
        for check in self.checks:
            denial = check(session, command, instrument, decision.destination)
            if denial is not None:
                return denial, None, None
        return None, decision.destination, decision.rule

    def _entitlement(self, session: str, instrument_id: str, ord_type: OrdType) -> Denial | None:
        """Refuse an instrument or order type the session is not entitled to; None when it is."""
        policy = self.ems_policies.get(session, EmsPolicy())
        if policy.allowed_instruments and not any(fnmatchcase(instrument_id, allowed)
                                                  for allowed in policy.allowed_instruments):
            return Denial(OrdRejReason.OTHER, f"instrument {instrument_id!r} is not allowed for session {session}")
        if policy.allowed_ord_types and ord_type not in policy.allowed_ord_types:
            return Denial(OrdRejReason.OTHER, f"order type {ord_type.name} is not allowed for session {session}")
        return None

    def _deny(self, order: Order, denial: Denial, fx: Effects) -> None:
        apply(order, OrderEvent.DENY)
        order.text = denial.text
        fx.touch(order, EventName.DENY, reason=denial.reason.name, text=denial.text)
        fx.to_ems.append((order.ems_session, self._report(order, ExecType.REJECTED, text=denial.text,
                                                          reason=denial.reason), order.order_id))
        log.info("order.denied", order_id=order.order_id, session=order.ems_session, cl_ord_id=order.cl_ord_id,
                 reason=denial.reason.name, text=denial.text)

    def on_cancel(self, session: str, command: CancelOrder, fx: Effects) -> None:
        order = self.book.find_ems(session, command.orig_cl_ord_id, recall=True)
        refusal = self._refuse_request(session, command.cl_ord_id, command.orig_cl_ord_id, order,
                                       CxlRejResponseTo.CANCEL, fx)
        if refusal or order is None:
            return
        apply(order, OrderEvent.CANCEL_REQUESTED)
        outbound_id = self._next_venue_id(order)
        order.pending = PendingRequest(kind="cancel", ems_cl_ord_id=command.cl_ord_id, venue_cl_ord_id=outbound_id)
        self.book.index_ems(order, command.cl_ord_id)
        fx.touch(order, EventName.CANCEL_REQUESTED, cl_ord_id=command.cl_ord_id, venue_cl_ord_id=outbound_id)
        fx.to_ems.append((session, self._report(order, ExecType.PENDING_CANCEL, cl_ord_id=command.cl_ord_id,
                                                orig=order.cl_ord_id), order.order_id))
        self._send_cancel(order, outbound_id, fx)

    def _send_cancel(self, order: Order, outbound_id: str, fx: Effects) -> None:
        assert order.venue is not None and order.venue_cl_ord_id is not None
        fx.to_venue.append((order.venue, CancelOrder(
            cl_ord_id=outbound_id, orig_cl_ord_id=order.venue_cl_ord_id, instrument_id=order.instrument_id,
            side=order.side, order_qty=order.order_qty, order_id=order.venue_order_id, account=order.account,
            transact_time=utc_now()), order.order_id))

    def on_replace(self, session: str, command: ReplaceOrder, fx: Effects) -> None:
        order = self.book.find_ems(session, command.orig_cl_ord_id, recall=True)
        if self._refuse_request(session, command.cl_ord_id, command.orig_cl_ord_id, order,
                                CxlRejResponseTo.REPLACE, fx) or order is None:
            return
        problem = None
        if order.status not in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED):
            problem = f"order is {order.status.name}: not yet acknowledged by the venue"
        elif command.instrument_id != order.instrument_id or command.side != order.side:
            problem = "a replace may not change the instrument or side"
        elif (entitlement := self._entitlement(session, order.instrument_id, command.ord_type)) is not None:
            problem = entitlement.text
        elif command.order_qty <= order.cum_qty:
            problem = f"new qty {fmt_decimal(command.order_qty)} is not above cum qty {fmt_decimal(order.cum_qty)}"
        else:
            instrument = self.symbols.get(order.instrument_id)
            if not is_multiple_of(command.order_qty, instrument.lot_size):
                problem = f"new qty {fmt_decimal(command.order_qty)} is not a multiple of lot size " \
                          f"{fmt_decimal(instrument.lot_size)}"
            elif command.price is not None and not is_multiple_of(command.price, instrument.tick_size):
                problem = f"price {fmt_decimal(command.price)} is not a multiple of tick size " \
                          f"{fmt_decimal(instrument.tick_size)}"
            else:
                problem = self._check_replace(session, order, command, instrument)
        if problem:
            self._cancel_reject(session, command.cl_ord_id, order.cl_ord_id, order, CxlRejResponseTo.REPLACE,
                                CxlRejReason.OTHER, problem, fx)
            return
        apply(order, OrderEvent.REPLACE_REQUESTED)
        outbound_id = self._next_venue_id(order)
        order.pending = PendingRequest(
            kind="replace", ems_cl_ord_id=command.cl_ord_id, venue_cl_ord_id=outbound_id,
            order_qty=command.order_qty, price=command.price, stop_price=command.stop_price,
            ord_type=command.ord_type, time_in_force=command.time_in_force)
        self.book.index_ems(order, command.cl_ord_id)
        fx.touch(order, EventName.REPLACE_REQUESTED, cl_ord_id=command.cl_ord_id, qty=command.order_qty,
                 price=command.price, venue_cl_ord_id=outbound_id)
        fx.to_ems.append((session, self._report(order, ExecType.PENDING_REPLACE, cl_ord_id=command.cl_ord_id,
                                                orig=order.cl_ord_id), order.order_id))
        assert order.venue is not None and order.venue_cl_ord_id is not None
        fx.to_venue.append((order.venue, command.model_copy(update={
            "cl_ord_id": outbound_id, "orig_cl_ord_id": order.venue_cl_ord_id, "order_id": order.venue_order_id}),
            order.order_id))

    def _check_replace(self, session: str, order: Order, command: ReplaceOrder, instrument: Instrument) -> str | None:
        assert order.venue is not None
        for check in self.replace_checks:
            denial = check(session, order, command, instrument, order.venue)
            if denial is not None:
                return denial.text
        return None

    def _refuse_request(self, session: str, cl_ord_id: str, orig_cl_ord_id: str, order: Order | None,
                        response_to: CxlRejResponseTo, fx: Effects) -> bool:
        """Answer a cancel/replace that cannot proceed with an OrderCancelReject; True when refused."""
        if order is None:
            reason, text = CxlRejReason.UNKNOWN_ORDER, f"unknown order {orig_cl_ord_id}"
        elif self.book.has_ems_cl_ord_id(session, cl_ord_id):
            reason, text = CxlRejReason.DUPLICATE_CLORDID, f"duplicate ClOrdID {cl_ord_id}"
        elif order.status.is_terminal:
            reason, text = CxlRejReason.TOO_LATE_TO_CANCEL, f"order is {order.status.name}"
        elif order.pending is not None:
            reason, text = CxlRejReason.ALREADY_PENDING, f"a {order.pending.kind} is already pending"
        else:
            return False
        self._cancel_reject(session, cl_ord_id, orig_cl_ord_id, order, response_to, reason, text, fx)
        return True

    def _cancel_reject(self, session: str, cl_ord_id: str, orig_cl_ord_id: str | None, order: Order | None,
                       response_to: CxlRejResponseTo, reason: CxlRejReason, text: str, fx: Effects) -> None:
        event = CancelRejectEvent(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig_cl_ord_id, order_id=order.order_id if order else "NONE",
            ord_status=order.status if order else OrdStatus.REJECTED, response_to=response_to, reason=reason,
            text=text, account=order.account if order else None, transact_time=utc_now())
        if order is not None:
            cancel = response_to is CxlRejResponseTo.CANCEL
            rejected = EventName.CANCEL_REJECTED if cancel else EventName.REPLACE_REJECTED
            fx.touch(order, rejected, cl_ord_id=cl_ord_id, reason=reason.name, text=text)
        fx.to_ems.append((session, event, order.order_id if order else None))

    def on_status_request(self, session: str, command: StatusRequest, fx: Effects) -> None:
        order = self.book.find_ems(session, command.cl_ord_id, recall=True)
        if order is None:
            fx.to_ems.append((session, ExecutionEvent(
                exec_id=self.ids.exec_id(), exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.REJECTED,
                cl_ord_id=command.cl_ord_id, order_id="NONE", instrument_id=command.instrument_id,
                side=command.side, cum_qty=ZERO, leaves_qty=ZERO, avg_px=ZERO,
                ord_rej_reason=OrdRejReason.UNKNOWN_ORDER, text=f"unknown order {command.cl_ord_id}",
                transact_time=utc_now(), is_status_response=True), None))
            return
        fx.to_ems.append((session, self._report(order, ExecType.ORDER_STATUS, cl_ord_id=command.cl_ord_id,
                                                status_response=True), order.order_id))
        if order.status is OrdStatus.UNKNOWN:
            self._query_venue(order, fx)

    def on_ems_business_reject(self, session: str, ref_id: str, order_id: str | None, fields: Mapping[int, str],
                               fx: Effects) -> None:
        """The EMS refused a report of ours (35=j): logged and put on record on the order BusinessRejectRefID(379)
        names (an ExecID we sent, else a ClOrdID of the session). Never answered: a reject of a reject loops."""
        order = self.book.get(order_id, recall=True) if order_id else None
        if order is None and ref_id:
            order = (self.book.find_ems(session, ref_id, recall=True)
                     or self.book.get(ref_id.partition(":")[0], recall=True))  # fill ExecIDs: <order_id>:<venue's>
        if order is not None and order.ems_session != session:
            order = None
        detail = {"ref_id": ref_id, "ref_msg_type": fields.get(372), "ref_seq_num": fields.get(45),
                  "reason": fields.get(380), "text": fields.get(58)}
        log.warning("ems.business_reject", session=session, order_id=order.order_id if order else None, **detail)
        if order is not None:
            fx.touch(order, EventName.EMS_BUSINESS_REJECT, **detail)

    def on_ems_logout(self, session: str, fx: Effects) -> None:
        """Cancel-on-disconnect: cancel every open order of the session (reports reach it on its next logon)."""
        if not self.ems_policies.get(session, EmsPolicy()).cancel_on_disconnect:
            return
        for order in self.book.open_orders(ems_session=session):
            self.gateway_cancel(order, fx, tag="COD", event=EventName.CANCEL_ON_DISCONNECT)

    def gateway_cancel(self, order: Order, fx: Effects, *, tag: str, event: EventName) -> bool:
        """Cancel an open order on the gateway's own initiative (cancel-on-disconnect, kill switch).

        The EMS hears of it under ClOrdID `<order_id>-<tag>`. False when the order cannot be cancelled now
        (closed, a request pending, not routed, outcome unknown): the caller may try again later.
        """
        if (not order.is_open or order.pending is not None or order.venue is None
                or order.status is OrdStatus.UNKNOWN):
            return False
        apply(order, OrderEvent.CANCEL_REQUESTED)
        outbound_id = self._next_venue_id(order)
        cl_ord_id = f"{order.order_id}-{tag}"
        order.pending = PendingRequest(kind="cancel", ems_cl_ord_id=cl_ord_id, venue_cl_ord_id=outbound_id)
        self.book.index_ems(order, cl_ord_id)
        fx.touch(order, event, venue_cl_ord_id=outbound_id)
        self._send_cancel(order, outbound_id, fx)
        return True

    # ------------------------------------------------------------------ venue side

    def on_venue_execution(self, venue: str, event: ExecutionEvent, fx: Effects) -> None:
        order = self.book.find_venue(venue, cl_ord_ids=(event.cl_ord_id, event.orig_cl_ord_id),
                                     venue_order_id=event.order_id, recall=True)
        if order is None:
            log.warning("venue.report_for_unknown_order", venue=venue, cl_ord_id=event.cl_ord_id,
                        order_id=event.order_id, exec_type=event.exec_type.name, exec_id=event.exec_id)
            return
        if event.order_id and not order.venue_order_id and event.order_id != "NONE":
            order.venue_order_id = event.order_id
            self.book.index_venue_order_id(order)
        try:
            if event.is_status_response:
                self._on_status_answer(order, event, fx)
            else:
                self._unknown_at_venue.pop(order.order_id, None)  # a live report: the venue knows the order
                self._on_report(order, venue, event, fx)
        except FixgwError as exc:
            # The order stays as it was (the state machine validates before mutating); the error is on record.
            fx.touch(order, EventName.PROTOCOL_ERROR, exec_type=event.exec_type.name, exec_id=event.exec_id,
                     error=str(exc))
            log.error("venue.protocol_error", venue=venue, order_id=order.order_id, exec_id=event.exec_id,
                      exec_type=event.exec_type.name, status=order.status.name, error=str(exc))

    def on_venue_order(self, venue: str, session: str, command: NewOrder, venue_order_id: str,
                       fills: Sequence[Fill], text: str, fx: Effects) -> Order | None:
        """An order the venue placed itself in our account (a margin liquidation): booked for `session` under the
        venue's ids, acknowledged and filled as the venue reports, nothing sent. Known already: fills not yet
        applied are, through the usual path (a fill is applied once by its exec id)."""
        order = self.book.find_venue(venue, cl_ord_ids=(command.cl_ord_id,), venue_order_id=venue_order_id,
                                     recall=True)
        if order is None:
            order = Order(order_id=self.ids.order_id(), ems_session=session, cl_ord_id=command.cl_ord_id,
                          cl_ord_id_chain=[command.cl_ord_id], account=command.account,
                          instrument_id=command.instrument_id, side=command.side, ord_type=command.ord_type,
                          order_qty=command.order_qty, price=command.price, time_in_force=command.time_in_force,
                          venue=venue, venue_cl_ord_id=command.cl_ord_id, venue_order_id=venue_order_id,
                          venue_cl_ord_ids=[command.cl_ord_id], text=text)
            self.book.add(order)
            fx.touch(order, EventName.NEW, cl_ord_id=command.cl_ord_id, qty=command.order_qty, price=command.price,
                     origin="venue", text=text)
            fx.touch(order, EventName.ROUTE, venue=venue, venue_cl_ord_id=command.cl_ord_id, rule="venue-originated")
            self._on_report(order, venue, ExecutionEvent(exec_id=f"{venue_order_id}.new", exec_type=ExecType.NEW,
                                                         ord_status=OrdStatus.NEW, order_id=venue_order_id), fx)
            log.warning("order.venue_originated", venue=venue, order_id=order.order_id, session=session,
                        venue_order_id=venue_order_id, text=text)
        elif order.cl_ord_id != order.venue_cl_ord_id or order.ems_session != session:
            return None   # one of ours (its outbound id is not the EMS's): its own reports settle it
        for fill in fills:
            if fill.exec_id not in order.fills:
                self._on_report(order, venue, ExecutionEvent(
                    exec_id=fill.exec_id, exec_type=ExecType.TRADE, ord_status=OrdStatus.PARTIALLY_FILLED,
                    order_id=venue_order_id, last_qty=fill.qty, last_px=fill.price, transact_time=fill.time,
                    commission=fill.commission), fx)
        return order

    def _on_report(self, order: Order, venue: str, event: ExecutionEvent, fx: Effects) -> None:
        exec_type = event.exec_type
        if exec_type is ExecType.NEW and event.found_late and order.status is OrdStatus.REJECTED:
            self._found_late(order, venue, event, fx)
        elif exec_type is ExecType.NEW:
            opening = order.status in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN)
            apply(order, OrderEvent.ACK)
            if opening:
                fx.touch(order, EventName.ACK, venue_order_id=event.order_id)
                self._emit(order, ExecType.NEW, fx)
            elif order.status_before_request in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN):
                # Acked while a cancel is pending: if the cancel is refused the order is NEW, not PENDING_NEW.
                order.status_before_request = OrdStatus.NEW
                fx.touch(order, EventName.ACK, venue_order_id=event.order_id)
        elif exec_type is ExecType.TRADE:
            if event.last_qty is None or event.last_px is None:
                raise FixgwError(f"trade {event.exec_id} without LastQty/LastPx")
            fill = Fill(exec_id=event.exec_id, venue=venue, qty=event.last_qty, price=event.last_px,
                        time=event.transact_time or utc_now(), commission=event.commission)
            if apply(order, OrderEvent.FILL, fill=fill):
                fx.fills.append((order.order_id, fill))
                fx.touch(order, EventName.FILL, exec_id=fill.exec_id, qty=fill.qty, price=fill.price)
                self._emit(order, ExecType.TRADE, fx, fill=fill, exec_id=self._fill_exec_id(order, fill.exec_id))
        elif exec_type is ExecType.CANCELED:
            self._on_canceled(order, fx, text=event.text)
        elif exec_type is ExecType.REPLACED:
            self._on_replaced(order, fx)
        elif exec_type is ExecType.REJECTED:
            if order.status in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN):
                apply(order, OrderEvent.REJECT)
                order.text = event.text
                fx.touch(order, EventName.REJECT, text=event.text, reason=event.ord_rej_reason)
                if event.not_placed:  # a restarted gateway reads these back to watch for the order turning up
                    fx.touch(order, EventName.NOT_PLACED, venue=venue)
                self._emit(order, ExecType.REJECTED, fx, text=event.text, reason=event.ord_rej_reason)
            elif order.pending is not None:
                self._on_request_rejected(order, CxlRejReason.BROKER_OPTION, event.text, fx)
            else:
                raise FixgwError(f"reject {event.exec_id} for an order in status {order.status.name}")
        elif exec_type is ExecType.EXPIRED:
            self._close(order, OrderEvent.EXPIRE, ExecType.EXPIRED, EventName.EXPIRE, fx, text=event.text)
        elif exec_type is ExecType.DONE_FOR_DAY:
            self._close(order, OrderEvent.DONE_FOR_DAY, ExecType.DONE_FOR_DAY, EventName.DONE_FOR_DAY, fx,
                        text=event.text)
        elif exec_type is ExecType.TRADE_CANCEL:
            ref = event.exec_ref_id or ""
            busted = remove_fill(order, ref)
            fx.touch(order, EventName.TRADE_CANCEL, exec_ref_id=ref, qty=busted.qty)
            self._emit(order, ExecType.TRADE_CANCEL, fx, exec_ref_id=self._fill_exec_id(order, ref), text=event.text)
        elif exec_type is ExecType.TRADE_CORRECT:
            ref = event.exec_ref_id or ""
            if event.last_qty is None or event.last_px is None:
                raise FixgwError(f"correction {event.exec_id} without LastQty/LastPx")
            corrected = Fill(exec_id=event.exec_id, venue=venue, qty=event.last_qty, price=event.last_px,
                             time=event.transact_time or utc_now())
            correct_fill(order, ref, corrected)
            fx.fills.append((order.order_id, corrected))
            fx.touch(order, EventName.TRADE_CORRECT, exec_ref_id=ref, qty=corrected.qty, price=corrected.price)
            self._emit(order, ExecType.TRADE_CORRECT, fx, fill=corrected,
                       exec_id=self._fill_exec_id(order, corrected.exec_id),
                       exec_ref_id=self._fill_exec_id(order, ref))
        elif exec_type in (ExecType.PENDING_NEW, ExecType.PENDING_CANCEL, ExecType.PENDING_REPLACE):
            return  # the venue echoing a pending state: nothing changes for us
        else:
            fx.touch(order, EventName.VENUE_REPORT_IGNORED, exec_type=exec_type.name, exec_id=event.exec_id)

    def _found_late(self, order: Order, venue: str, event: ExecutionEvent, fx: Effects) -> None:
        """The venue committed a create after the EMS got its "not placed" reject: the order is live there, so it is
        re-opened (the table's one way out of REJECTED), the EMS gets an unsolicited report with Text, an operator an
        alert. From here it is an ordinary live order: its fills apply, the EMS may cancel it."""
        apply(order, OrderEvent.FOUND_LATE)
        text = event.text or f"found at {venue} after it was reported not placed"
        order.text = text
        fx.touch(order, EventName.FOUND_LATE, venue=venue, venue_order_id=event.order_id, text=text)
        self._emit(order, ExecType.NEW, fx, text=text)
        log.error("order.found_late", venue=venue, order_id=order.order_id, session=order.ems_session,
                  cl_ord_id=order.cl_ord_id, venue_order_id=event.order_id)
        if self.alert is not None:
            self.alert(EventName.FOUND_LATE, f"order:{order.order_id}",
                       f"order {order.cl_ord_id} of {order.ems_session} was rejected as not placed but {venue} holds "
                       f"it (venue order {event.order_id}): adopted, the EMS was told", venue=venue)

    def _on_canceled(self, order: Order, fx: Effects, *, text: str | None = None) -> None:
        pending = order.pending
        apply(order, OrderEvent.CANCELED)
        order.pending = None
        if pending is not None and pending.kind == "cancel":
            previous = order.cl_ord_id
            order.orig_cl_ord_id, order.cl_ord_id = previous, pending.ems_cl_ord_id
            order.cl_ord_id_chain.append(pending.ems_cl_ord_id)
            fx.touch(order, EventName.CANCELED, cl_ord_id=pending.ems_cl_ord_id)
            self._emit(order, ExecType.CANCELED, fx, orig=previous, text=text)
            return
        fx.touch(order, EventName.CANCELED_UNSOLICITED, text=text)
        if pending is not None:  # a replace was in flight: it can no longer happen
            self._cancel_reject(order.ems_session, pending.ems_cl_ord_id, order.cl_ord_id, order,
                                CxlRejResponseTo.REPLACE, CxlRejReason.TOO_LATE_TO_CANCEL, "order was canceled", fx)
        self._emit(order, ExecType.CANCELED, fx, text=text or "canceled by the venue")

    def _on_replaced(self, order: Order, fx: Effects) -> None:
        pending = order.pending
        if pending is None or pending.kind != "replace" or pending.order_qty is None:
            raise FixgwError("replace acknowledgement without a pending replace")
        previous = order.cl_ord_id
        amend(order, cl_ord_id=pending.ems_cl_ord_id, order_qty=pending.order_qty, price=pending.price,
              stop_price=pending.stop_price, time_in_force=pending.time_in_force)
        if pending.ord_type is not None:
            order.ord_type = pending.ord_type
        order.venue_cl_ord_id = pending.venue_cl_ord_id
        order.pending = None
        fx.touch(order, EventName.REPLACED, cl_ord_id=order.cl_ord_id, qty=order.order_qty, price=order.price)
        self._emit(order, ExecType.REPLACED, fx, orig=previous)

    def _on_request_rejected(self, order: Order, reason: CxlRejReason, text: str | None, fx: Effects) -> None:
        pending = order.pending
        assert pending is not None
        is_cancel = pending.kind == "cancel"
        apply(order, OrderEvent.CANCEL_REJECTED if is_cancel else OrderEvent.REPLACE_REJECTED)
        order.pending = None
        self._cancel_reject(order.ems_session, pending.ems_cl_ord_id, order.cl_ord_id, order,
                            CxlRejResponseTo.CANCEL if is_cancel else CxlRejResponseTo.REPLACE, reason,
                            text or "refused by the venue", fx)

    def _close(self, order: Order, event: OrderEvent, exec_type: ExecType, name: EventName, fx: Effects,
               *, text: str | None) -> None:
        pending = order.pending
        apply(order, event)
        order.pending = None
        fx.touch(order, name, text=text)
        if pending is not None and pending.ems_cl_ord_id != order.cl_ord_id:
            # The EMS is still waiting for an answer to its cancel/replace: it can no longer happen.
            self._cancel_reject(order.ems_session, pending.ems_cl_ord_id, order.cl_ord_id, order,
                                CxlRejResponseTo.CANCEL if pending.kind == "cancel" else CxlRejResponseTo.REPLACE,
                                CxlRejReason.TOO_LATE_TO_CANCEL, f"order is {order.status.name}", fx)
        self._emit(order, exec_type, fx, text=text)

    def on_venue_cancel_reject(self, venue: str, event: CancelRejectEvent, fx: Effects) -> None:
        order = self.book.find_venue(venue, cl_ord_ids=(event.cl_ord_id, event.orig_cl_ord_id),
                                     venue_order_id=event.order_id, recall=True)
        if order is None or order.pending is None:
            log.warning("venue.cancel_reject_unmatched", venue=venue, cl_ord_id=event.cl_ord_id,
                        order_id=order.order_id if order else None)
            return
        self._on_request_rejected(order, event.reason, event.text, fx)

    def on_venue_outcome_unknown(self, venue: str, cl_ord_id: str, command: str, reason: str, fx: Effects) -> None:
        order = self.book.find_venue(venue, cl_ord_ids=(cl_ord_id,))
        if order is None:
            return
        try:
            apply(order, OrderEvent.OUTCOME_UNKNOWN)
        except InvalidTransition:
            # The venue settled the order before the transport gave up (an ack overtook a timeout): nothing is unknown.
            fx.touch(order, EventName.OUTCOME_UNKNOWN_IGNORED, command=command, reason=reason)
            return
        self._maybe_unknown[order.order_id] = order
        fx.touch(order, EventName.OUTCOME_UNKNOWN, command=command, reason=reason)
        log.warning("venue.outcome_unknown", venue=venue, order_id=order.order_id, command=command, reason=reason)

    def on_venue_connected(self, venue: str, fx: Effects) -> None:
        """A venue (re)connected: ask about every open order there, in-flight ones at once, the rest paced (it may
        have lost its book: an order it acknowledged could be gone)."""
        acknowledged = []
        for order in self.book.open_orders(venue=venue):
            if order.status in IN_FLIGHT:
                self._query_venue(order, fx)
            else:
                acknowledged.append(order)
        if acknowledged and self.mass_status(venue):
            # One OrderMassStatusRequest: an order its answer leaves out is one the venue does not know.
            cl_ord_ids = tuple(order.venue_cl_ord_id for order in acknowledged if order.venue_cl_ord_id is not None)
            fx.to_venue.append((venue, MassStatusRequest(mass_status_req_id=f"MS-{self.ids.exec_id()}",
                                                         cl_ord_ids=cl_ord_ids), ""))
            return
        self._sweeps[venue] = [order.order_id for order in acknowledged]
        self._continue_sweep(venue, fx)

    def _continue_sweep(self, venue: str, fx: Effects) -> None:
        sweep = self._sweeps.get(venue)
        if not sweep or not self.is_connected(venue):
            return
        batch, self._sweeps[venue] = sweep[:STATUS_SWEEP_BATCH], sweep[STATUS_SWEEP_BATCH:]
        for order_id in batch:
            order = self.book.get(order_id)
            if order is not None and order.is_open and order.venue == venue:
                self._query_venue(order, fx)
        if not self._sweeps[venue]:
            del self._sweeps[venue]

    def on_venue_refused(self, venue: str, order_id: str, command: str, text: str, fx: Effects) -> None:
        """The venue's dialect could not carry a command: nothing left, so it is refused now (Denied, not Unknown)."""
        order = self.book.get(order_id, recall=True)
        if order is None:
            return
        text = f"{venue} cannot carry this {command}: {text}"
        fx.touch(order, EventName.NOT_CARRIED, venue=venue, command=command, text=text)
        log.warning("venue.command_not_carried", venue=venue, order_id=order_id, command=command, text=text)
        if command == "NewOrder" and order.status is OrdStatus.PENDING_NEW:
            self._deny(order, Denial(OrdRejReason.BROKER_OPTION, text), fx)
        elif command == "NewOrder" and order.status is OrdStatus.UNKNOWN:
            apply(order, OrderEvent.REJECT)
            order.text = text
            fx.touch(order, EventName.REJECT, text=text)
            self._emit(order, ExecType.REJECTED, fx, text=text, reason=OrdRejReason.BROKER_OPTION)
        elif command in ("CancelOrder", "ReplaceOrder") and order.pending is not None:
            self._on_request_rejected(order, CxlRejReason.OTHER, text, fx)

    def on_tick(self, now: datetime, fx: Effects) -> None:
        self._answer_overdue(now, fx)
        self._close_lost_orders(now, fx)
        for venue in list(self._sweeps):
            self._continue_sweep(venue, fx)
        for order in list(self._maybe_unknown.values()):  # not the whole book: it holds every order of the day
            if not order.is_open:
                del self._maybe_unknown[order.order_id]
                continue
            if order.status is not OrdStatus.UNKNOWN or order.venue is None or not self.is_connected(order.venue):
                continue
            last = self._last_status_query.get(order.order_id)
            if last is None or (now - last).total_seconds() >= STATUS_RETRY_SECONDS:
                self._query_venue(order, fx, now)

    def _answer_overdue(self, now: datetime, fx: Effects) -> None:
        """Invariant 7: an order the EMS has heard nothing of for `max_unanswered` gets its best known state
        (39=A while pending or unknown) with Text, and an operator gets an alert."""
        for order_id, since in list(self._unanswered.items()):
            order = self.book.get(order_id)
            if order is None or order.status not in OPENING:
                del self._unanswered[order_id]
                self.overdue.pop(order_id, None)
                continue
            if since is None:
                self._unanswered[order_id] = now  # measured on the tick's clock, like the status retries
                continue
            if order_id in self.overdue or now - since < self.max_unanswered:
                continue
            waited = (now - since).total_seconds()
            self.overdue[order_id] = order
            venue = order.venue or "?"
            state = "outcome unknown" if order.status is OrdStatus.UNKNOWN else "not yet acknowledged"
            text = f"no answer from {venue} for {waited:.0f} s: {state}, status being queried"
            fx.touch(order, EventName.UNANSWERED, venue=venue, waited_s=f"{waited:.0f}")
            self._emit(order, ExecType.PENDING_NEW, fx, text=text)
            log.warning("order.unanswered", order_id=order_id, session=order.ems_session, cl_ord_id=order.cl_ord_id,
                        venue=venue, status=order.status.name, waited_s=round(waited))
            if self.alert is not None:
                self.alert(EventName.UNANSWERED, f"order:{order_id}", f"order {order.cl_ord_id} of {order.ems_session} "
                           f"unanswered by {venue} for {waited:.0f} s", venue=venue, status=order.status.name)

    def _lost_at_venue(self, order: Order, event: ExecutionEvent, fx: Effects) -> None:
        """The venue does not know an order it acknowledged: alert now, close it after `unknown_order_grace`
        unless the venue shows it again (see `_close_lost_orders`)."""
        if order.order_id in self._unknown_at_venue:
            return
        self._unknown_at_venue[order.order_id] = None
        venue = order.venue or "?"
        fx.touch(order, EventName.UNKNOWN_AT_VENUE, venue=venue, text=event.text)
        log.warning("venue.order_unknown", venue=venue, order_id=order.order_id, status=order.status.name,
                    text=event.text)
        if self.alert is not None:
            self.alert(EventName.UNKNOWN_AT_VENUE, f"order:{order.order_id}",
                       f"{venue} does not know order {order.cl_ord_id} of {order.ems_session} "
                       f"({order.status.name} here): {event.text or 'unknown order'}", venue=venue)

    def _close_lost_orders(self, now: datetime, fx: Effects) -> None:
        for order_id, since in list(self._unknown_at_venue.items()):
            order = self.book.get(order_id)
            if order is None or not order.is_open:
                del self._unknown_at_venue[order_id]
            elif since is None:
                self._unknown_at_venue[order_id] = now  # on the tick's clock, like the status retries
            elif now - since >= self.unknown_order_grace:
                del self._unknown_at_venue[order_id]
                self._on_canceled(order, fx, text=f"{order.venue} no longer knows the order (its book was lost?): "
                                                  f"closed after {self.unknown_order_grace.total_seconds():g} s")

    def _query_venue(self, order: Order, fx: Effects, now: datetime | None = None) -> None:
        if order.venue is None or order.venue_cl_ord_id is None:
            return
        # Recorded on the tick's clock: the retry period is measured against the `now` on_tick is given.
        self._last_status_query[order.order_id] = now or utc_now()
        fx.to_venue.append((order.venue, StatusRequest(
            cl_ord_id=order.venue_cl_ord_id, order_id=order.venue_order_id, instrument_id=order.instrument_id,
            side=order.side), order.order_id))

    def _on_status_answer(self, order: Order, event: ExecutionEvent, fx: Effects) -> None:
        """Settle an in-flight order from the venue's status answer (never invents fills)."""
        status = event.ord_status
        unknown_at_venue = status is OrdStatus.REJECTED and (
            event.ord_rej_reason is OrdRejReason.UNKNOWN_ORDER or "unknown" in (event.text or "").lower())
        if unknown_at_venue and order.status in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN):
            if order.order_id in self._resent:
                return
            # The venue never got it: send it again with the same ClOrdID (a venue that did get it refuses the
            # duplicate id, so this can never double the order).
            self._resent.add(order.order_id)
            assert order.venue is not None and order.venue_cl_ord_id is not None
            fx.touch(order, EventName.RESUBMIT, venue_cl_ord_id=order.venue_cl_ord_id)
            fx.to_venue.append((order.venue, NewOrder(
                cl_ord_id=order.venue_cl_ord_id, instrument_id=order.instrument_id, side=order.side,
                order_qty=order.order_qty, ord_type=order.ord_type, price=order.price, stop_price=order.stop_price,
                time_in_force=order.time_in_force, account=order.account), order.order_id))
            return
        if unknown_at_venue and order.status is OrdStatus.PENDING_CANCEL and order.cum_qty == 0:
            self._on_canceled(order, fx, text="the venue does not know the order")
            return
        if unknown_at_venue and order.status not in OPENING:
            self._lost_at_venue(order, event, fx)
            return
        self._unknown_at_venue.pop(order.order_id, None)  # the venue knows it after all
        if order.status in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN):
            if status in (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED, OrdStatus.PENDING_CANCEL,
                          OrdStatus.PENDING_REPLACE):
                apply(order, OrderEvent.ACK)
                fx.touch(order, EventName.ACK, source="status")
                self._emit(order, ExecType.NEW, fx)
            elif status is OrdStatus.REJECTED:
                apply(order, OrderEvent.REJECT)
                order.text = event.text
                fx.touch(order, EventName.REJECT, source="status", text=event.text)
                self._emit(order, ExecType.REJECTED, fx, text=event.text)
        if status in (OrdStatus.CANCELED, OrdStatus.EXPIRED) and order.is_open:
            if status is OrdStatus.CANCELED:
                self._on_canceled(order, fx, text=event.text)
            else:
                self._close(order, OrderEvent.EXPIRE, ExecType.EXPIRED, EventName.EXPIRE, fx, text=event.text)
        if event.cum_qty is not None and event.cum_qty != order.cum_qty:
            fx.touch(order, EventName.STATUS_MISMATCH, venue_cum_qty=event.cum_qty, our_cum_qty=order.cum_qty)
            log.warning("venue.status_mismatch", order_id=order.order_id, venue_cum_qty=str(event.cum_qty),
                        our_cum_qty=str(order.cum_qty))

    # ------------------------------------------------------------------ reports to the EMS

    def _next_venue_id(self, order: Order) -> str:
        outbound_id = IdFactory.next_venue_cl_ord_id(order)
        order.venue_cl_ord_ids.append(outbound_id)
        self.book.index_venue(order, outbound_id)
        return outbound_id

    @staticmethod
    def _fill_exec_id(order: Order, venue_exec_id: str) -> str:
        # Deterministic, so a report rebuilt after a restart carries the same ExecID.
        return f"{order.order_id}:{venue_exec_id}"

    def _emit(self, order: Order, exec_type: ExecType, fx: Effects, **kwargs: object) -> None:
        fx.to_ems.append((order.ems_session, self._report(order, exec_type, **kwargs), order.order_id))  # type: ignore[arg-type]

    def _report(self, order: Order, exec_type: ExecType, *, cl_ord_id: str | None = None, orig: str | None = None,
                fill: Fill | None = None, text: str | None = None, reason: OrdRejReason | None = None,
                exec_id: str | None = None, exec_ref_id: str | None = None,
                status_response: bool = False) -> ExecutionEvent:
        # Every value comes from the order of record (already exact and valid): no second validation per report.
        return trusted(ExecutionEvent, {
            "exec_id": exec_id or self.ids.exec_id(), "exec_type": exec_type, "ord_status": order.status,
            "cl_ord_id": cl_ord_id or order.cl_ord_id, "orig_cl_ord_id": orig, "order_id": order.order_id,
            "instrument_id": order.instrument_id, "side": order.side, "account": order.account,
            "ord_type": order.ord_type, "order_qty": order.order_qty, "price": order.price,
            "stop_price": order.stop_price, "time_in_force": order.time_in_force,
            "last_qty": fill.qty if fill else None, "last_px": fill.price if fill else None,
            "cum_qty": order.cum_qty, "leaves_qty": order.leaves_qty, "avg_px": order.avg_px,
            "exec_ref_id": exec_ref_id, "ord_rej_reason": reason, "text": text, "transact_time": utc_now(),
            "is_status_response": status_response})

    def _reject_unbooked(self, command: NewOrder, reason: OrdRejReason, text: str) -> ExecutionEvent:
        return ExecutionEvent(
            exec_id=self.ids.exec_id(), exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED,
            cl_ord_id=command.cl_ord_id, order_id="NONE", instrument_id=command.instrument_id, side=command.side,
            account=command.account, ord_type=command.ord_type, order_qty=command.order_qty, price=command.price,
            cum_qty=ZERO, leaves_qty=ZERO, avg_px=ZERO, ord_rej_reason=reason, text=text, transact_time=utc_now())
