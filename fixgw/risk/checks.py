"""Risk checks: the pre-trade check chain, the router observer that keeps risk state, operator controls.

Hooks into the router core: `check` (a PreTradeCheck for new orders), `check_replace` (a ReplaceCheck) and
`RiskChecks` itself as the core's observer (`on_order_event`, `on_venue_error`). Everything runs on the
router's owner thread: no locks, no I/O, O(1) per check (plus the order's own fills when it changes).
What must be durable (a breaker trip, its audit event) is queued and added to the Effects of the pass in
progress, so it is journaled in the same commit as the denial or report that caused it.

Replaces: a replace that only lowers the quantity (same price, stop price and order type) reduces risk and is
never refused. Any other replace is checked on its new terms like a new order (kill switch, breakers,
throttle, restricted list, market orders, quantity, price collar and fat finger, notional, venue ramp),
except that credit, position and concentration count only the increase over the order's current open
exposure, and duplicate detection does not apply. A refusal answers the EMS with an OrderCancelReject.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal

import structlog

from fixgw.marketdata.settings import MarketDataConfig
from fixgw.model.decimals import ZERO, fmt_decimal
from fixgw.model.enums import OrdRejReason, OrdType, Side
from fixgw.model.events import EventName
from fixgw.model.instruments import Instrument
from fixgw.model.orders import Fill, FillGroup, NewOrder, ReplaceOrder, utc_now
from fixgw.model.state import Order
from fixgw.risk.exposure import Exposure, Price
from fixgw.risk.limits import Limit, OrderRules, RiskRules
from fixgw.risk.market import MarketView
from fixgw.risk.settings import RiskConfig
from fixgw.risk.switches import BREAKER, KILL, Switch, SwitchBoard, new_switch, supersede
from fixgw.risk.telemetry import Alerts, RiskCounters
from fixgw.router.core import Denial, RouterCore
from fixgw.router.effects import Effects, OrderEventRecord

log = structlog.get_logger("fixgw.risk")

Refusal = tuple[str, OrdRejReason, str]
"""(check name, OrdRejReason, Text)."""
GATEWAY = "fixgw"
"""`who` of changes the gateway makes itself (breaker trips)."""
KILL_CANCEL_ATTEMPTS = 3
THROTTLE_WINDOW_S = 1.0
"""max_orders_per_second counts the orders of the last second, sliding."""
_HUNDRED = Decimal(100)
_BPS = Decimal(10_000)
_CENT = Decimal("0.01")
_LIMITED = OrdRejReason.ORDER_EXCEEDS_LIMIT
_PRICE_BAND = OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND
_SAME_EXPOSURE = frozenset({EventName.ACK, EventName.CANCEL_REQUESTED, EventName.CANCEL_ON_DISCONNECT,
                            EventName.KILL_CANCEL, EventName.CANCEL_REJECTED, EventName.RESUBMIT,
                            EventName.STATUS_MISMATCH, EventName.VENUE_REPORT_IGNORED, EventName.OUTCOME_UNKNOWN,
                            EventName.OUTCOME_UNKNOWN_IGNORED, EventName.PROTOCOL_ERROR})
"""Order events that change no quantity, price or open status: the observer skips the recomputation."""


class RiskChecks:
    def __init__(self, config: RiskConfig, *, marketdata: MarketDataConfig | None = None,
                 clock: Callable[[], datetime] = utc_now, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rules = RiskRules(config)
        self.market = MarketView(config, marketdata or MarketDataConfig(), clock)
        """Reference prices (market data, never our fills) and the day's P&L (fixgw/risk/market.py)."""
        self.switches = SwitchBoard()
        self.counters = RiskCounters()
        self.alerts = Alerts(self.counters)
        self._clock = clock
        self._monotonic = monotonic
        self.exposure = Exposure(clock().date())
        self._throttle: dict[str, deque[float]] = {}
        self._recent: OrderedDict[tuple[object, ...], float] = OrderedDict()
        self._arrival: dict[str, Decimal] = {}
        """Reference price when an order without a price was routed: values it, measures its slippage."""
        self._venue_errors: dict[str, deque[float]] = {}
        self._venue_answers: dict[str, deque[tuple[float, bool]]] = {}
        self._venue_rejects: dict[str, int] = {}
        self._kill_attempts: dict[str, int] = {}
        self._pending_state: dict[str, str] = {}
        self._pending_events: list[OrderEventRecord] = []

    @property
    def config(self) -> RiskConfig:
        return self.rules.config

    # ------------------------------------------------------------------ lifecycle

    def restore(self, orders: Iterable[Order], switches: Iterable[Switch],
                closed_fills: Iterable[FillGroup] = ()) -> None:
        """At start, before the router runs: switches from the journal, prices and exposure from the book, and
        from the grouped fills of the day's closed orders the book holds in the journal only (store/daybook.py;
        `adopt` each such order that is read back later)."""
        for switch in switches:
            self.switches.apply(switch)
        closed_fills = list(closed_fills)
        for group in closed_fills:
            if group.since_day_start:
                self.exposure.add_closed_fills(group.account, group.instrument_id, group.side,
                                               group.qty * group.count, group.qty * group.price * group.count)
        orders = list(orders)
        self.market.restore(orders, [group for group in closed_fills if group.since_day_start])
        for order in orders:
            if order.venue is None:
                continue
            if order.is_open and order.price is None and order.stop_price is None:
                reference = self._reference(order.instrument_id)
                if reference is not None:
                    self._arrival[order.order_id] = reference.value
            self.exposure.update(order, self._arrival.get(order.order_id))
        in_force = self.switches.in_force()
        log.info("risk.restored", switches_in_force=[s.key for s in in_force], enabled=self.config.enabled)

    def restore_throttle(self, arrivals: Mapping[str, Iterable[datetime]]) -> None:
        """At start (or an HA takeover), before the router runs: the orders each EMS session sent within the
        throttle's one-second window, by their journaled arrival time - so a new active (or a restarted gateway)
        does not start with a whole second's allowance the old one had partly spent. Counts every journaled
        NewOrderSingle and replace request, refused ones too: never fewer than the live window held. An arrival
        stamped ahead of this node's clock (the other node's clock) counts as now."""
        now, monotonic_now = self._clock(), self._monotonic()
        for session, times in arrivals.items():
            window = self._throttle.setdefault(session, deque())
            for at in sorted(times):
                age = max(0.0, (now - at).total_seconds())
                if age < THROTTLE_WINDOW_S:
                    window.append(monotonic_now - age)

    def adopt(self, order: Order) -> None:
        """A closed order of the day read back from the journal (OrderBook.on_recall): restore counted its fills."""
        if order.venue is not None and not order.is_open:
            self.exposure.adopt(order)

    def set_rules(self, rules: RiskRules) -> None:
        """Swap the limits (a reload); called on the router thread, so no check ever sees half of each."""
        self.rules = rules
        self.market.set_risk(rules.config)

    # ------------------------------------------------------------------ pre-trade checks (hot path)

    def check(self, session: str, order: NewOrder, instrument: Instrument, venue: str) -> Denial | None:
        """PreTradeCheck for new orders."""
        if not self.rules.config.enabled:
            return None
        self.counters.incr("checked")
        refusal = self._evaluate(session, order.account, instrument, venue, order.side, order.ord_type,
                                 order.order_qty, order.price, order.stop_price, None)
        if refusal is None:
            refusal = self._duplicate(order)
            if refusal is None:
                return None
        return self._refuse(refusal, session, order.cl_ord_id, "new")

    def check_replace(self, session: str, order: Order, command: ReplaceOrder, instrument: Instrument,
                      venue: str) -> Denial | None:
        """ReplaceCheck: a pure quantity reduction passes; anything else is checked on its new terms."""
        if not self.rules.config.enabled:
            return None
        if (command.order_qty <= order.order_qty and command.price == order.price
                and command.stop_price == order.stop_price and command.ord_type is order.ord_type):
            return None
        self.counters.incr("checked_replace")
        refusal = self._evaluate(session, order.account, instrument, venue, order.side, command.ord_type,
                                 command.order_qty, command.price, command.stop_price, order)
        return None if refusal is None else self._refuse(refusal, session, command.cl_ord_id, "replace")

    def _refuse(self, refusal: Refusal, session: str, cl_ord_id: str, request: str) -> Denial:
        check, reason, text = refusal
        self.counters.incr("denied")
        self.counters.incr(f"denied.{check}")
        log.info("risk.denied", check=check, request=request, session=session, cl_ord_id=cl_ord_id,
                 reason=reason.name, text=text)
        return Denial(reason, text)

    def _evaluate(self, session: str, account: str | None, instrument: Instrument, venue: str, side: Side,
                  ord_type: OrdType, qty: Decimal, price: Decimal | None, stop_price: Decimal | None,
                  replacing: Order | None) -> Refusal | None:
        kill = self.switches.kill_for(session, account, venue)
        if kill is not None:
            return ("kill_switch", OrdRejReason.BROKER_OPTION,
                    f"kill switch in force for {kill.scope} (set by {kill.who}: {kill.reason})")
        breaker = self.switches.breaker_for(instrument.id, venue)
        if breaker is not None:
            return ("circuit_breaker", OrdRejReason.EXCHANGE_CLOSED,
                    f"circuit breaker tripped for {breaker.scope} ({breaker.reason}); an operator must reset it")
        rules = self.rules.for_order(session, account, instrument)
        if rules.max_orders_per_second is not None:
            refusal = self._throttle_check(session, rules.max_orders_per_second)
            if refusal is not None:
                return refusal
        if rules.restricted_by is not None:
            return "restricted", OrdRejReason.BROKER_OPTION, f"instrument {instrument.id} is restricted " \
                                                             f"({rules.restricted_by})"
        venue_rules = self.rules.venue(venue)
        if ord_type is OrdType.MARKET and not venue_rules.allow_market_orders:
            return ("market_order", OrdRejReason.BROKER_OPTION, f"market orders are not allowed at venue {venue} "
                                                                f"(risk.venues.{venue}.allow_market_orders)")
        if (limit := rules.max_order_qty) is not None and qty > limit.value:
            return "max_order_qty", _LIMITED, f"max_order_qty: order qty {_num(qty)} exceeds limit {_lim(limit)}"
        reference = self._reference(instrument.id, rules)
        if reference is None and ord_type is OrdType.MARKET and self.market.has_live_sources(instrument.id):
            return ("no_reference_price", OrdRejReason.OTHER,
                    f"no reference price for {instrument.id}: {self.market.reference(instrument.id).why} "
                    f"(marketdata on_no_reference = deny)")
        if reference is not None:
            refusal = self._price_checks(instrument, side, price, stop_price, reference, rules)
            if refusal is not None:
                return refusal
        valuation = price or stop_price or (reference.value if reference is not None else None)
        ramp_cap = venue_rules.ramp_notional_cap
        if ramp_cap is not None and self.switches.ramp_lifted(venue):
            ramp_cap = None
        if valuation is None:
            if rules.values_orders or ramp_cap is not None:
                return ("no_reference_price", OrdRejReason.OTHER,
                        f"cannot value a {ord_type.name} order in {instrument.id} for the notional limits: "
                        f"no price and no reference price ({self.market.reference(instrument.id).why}; set "
                        f"risk.instruments.{instrument.id}.reference_price or a marketdata source)")
            return None
        notional = qty * valuation
        if (limit := rules.max_order_notional) is not None and notional > limit.value:
            return ("max_order_notional", _LIMITED,
                    f"max_order_notional: order notional {_num(notional)} exceeds limit {_lim(limit)}")
        if ramp_cap is not None and notional > ramp_cap:
            return ("venue_ramp", _LIMITED,
                    f"venue_ramp: order notional {_num(notional)} exceeds the new-venue cap {_num(ramp_cap)} of "
                    f"{venue} (risk.venues.{venue}.ramp_notional_cap, until an operator lifts the ramp)")
        if replacing is None:
            add_qty, add_notional = qty, notional
        else:
            current = self.exposure.order(replacing.order_id)
            new_open = max(qty - replacing.cum_qty, ZERO)
            add_qty = new_open - current.open_buy_qty - current.open_sell_qty
            add_notional = new_open * valuation - current.open_notional
        return self._exposure_checks(account, instrument, side, add_qty, add_notional, rules)

    def _throttle_check(self, session: str, limit: Limit) -> Refusal | None:
        now = self._monotonic()
        window = self._throttle.get(session)
        if window is None:
            window = self._throttle[session] = deque()
        while window and now - window[0] >= THROTTLE_WINDOW_S:
            window.popleft()
        if len(window) >= limit.value:
            return ("max_orders_per_second", OrdRejReason.OTHER,
                    f"max_orders_per_second: order {len(window) + 1} within one second exceeds limit {_lim(limit)}")
        window.append(now)
        return None

    def _price_checks(self, instrument: Instrument, side: Side, price: Decimal | None, stop_price: Decimal | None,
                      reference: Price, rules: OrderRules) -> Refusal | None:
        ref = reference.value
        if (collar := rules.price_collar_pct) is not None:
            for label, value in (("price", price), ("stop price", stop_price)):
                if value is None:
                    continue
                if abs(value - ref) * _HUNDRED <= collar.value * ref:   # exact, and no division when it passes
                    continue
                away = abs(value - ref) / ref * _HUNDRED
                return ("price_collar", _PRICE_BAND,
                        f"price_collar_pct: {label} {_num(value)} is {_pct(away)}% from the reference "
                        f"{_num(ref)} ({reference.source}), limit {_lim(collar, '%')}")
        if (fat_finger := rules.fat_finger_pct) is not None and price is not None:
            through = (price - ref) if side is Side.BUY else (ref - price)
            if through * _HUNDRED > fat_finger.value * ref:
                through = through / ref * _HUNDRED
                direction = "above" if side is Side.BUY else "below"
                return ("fat_finger", _PRICE_BAND,
                        f"fat_finger_pct: limit price {_num(price)} is {_pct(through)}% {direction} the reference "
                        f"{_num(ref)} ({reference.source}), limit {_lim(fat_finger, '%')}")
        return None

    def _exposure_checks(self, account: str | None, instrument: Instrument, side: Side, add_qty: Decimal,
                         add_notional: Decimal, rules: OrderRules) -> Refusal | None:
        who = account or "(no account)"
        credit = rules.credit_limit
        if credit is not None and add_notional > ZERO:
            used = self.exposure.account(account).used
            if used + add_notional > credit.value:
                return ("credit_limit", _LIMITED,
                        f"credit_limit: {who} open+filled today {_num(used)} + order {_num(add_notional)} = "
                        f"{_num(used + add_notional)} exceeds limit {_lim(credit)}")
        concentration = rules.max_concentration_pct
        limit = rules.max_position_qty
        if limit is None and concentration is None:
            return None
        position = self.exposure.position(account, instrument.id)
        if limit is not None and add_qty > ZERO:
            if side is Side.BUY:
                worst, direction = position.net_filled_qty + position.open_buy_qty + add_qty, "long"
            else:
                worst, direction = position.open_sell_qty + add_qty - position.net_filled_qty, "short"
            if worst > limit.value:
                return ("max_position_qty", _LIMITED,
                        f"max_position_qty: {who} could be {direction} {_num(worst)} {instrument.id} (filled today "
                        f"{_num(position.net_filled_qty)}, open and this order included), limit {_lim(limit)}")
        if (concentration is not None and credit is not None and add_notional > ZERO
                and (position.used + add_notional) * _HUNDRED > concentration.value * credit.value):
            share = (position.used + add_notional) / credit.value * _HUNDRED
            return ("max_concentration_pct", _LIMITED,
                    f"max_concentration_pct: {who} exposure in {instrument.id} would be {_pct(share)}% of its "
                    f"credit limit {_num(credit.value)} (open+filled {_num(position.used)} + order "
                    f"{_num(add_notional)}), limit {_lim(concentration, '%')}")
        return None

    def _duplicate(self, order: NewOrder) -> Refusal | None:
        window_ms = self.rules.config.duplicate_window_ms
        if not window_ms:
            return None
        seen = self._recent.get((order.account, order.side, order.instrument_id, order.order_qty, order.price))
        if seen is None:
            return None
        age_ms = int((self._monotonic() - seen) * 1000)
        if age_ms >= window_ms:
            return None
        return ("duplicate_order", OrdRejReason.DUPLICATE_ORDER,
                f"duplicate_window_ms: same account, side, instrument, qty and price as an order sent {age_ms} ms "
                f"ago, window {window_ms} ms (risk.duplicate_window_ms)")

    def _reference(self, instrument_id: str, rules: OrderRules | None = None) -> Price | None:
        """The composite reference (fixgw/marketdata/reference.py): market data, else the static price when the
        instrument's policy allows; never our own fills."""
        return self.market.price(instrument_id)

    # ------------------------------------------------------------------ router observer

    def on_order_event(self, fx: Effects, order: Order, event: EventName, detail: Mapping[str, str]) -> None:
        try:
            if order.venue is not None:
                self._observe(order, event, detail)
        except Exception as exc:  # risk bookkeeping must never break the router's pass
            log.exception("risk.observer_failed", order_id=order.order_id, event_name=event, error=repr(exc))
        self._flush(fx)

    def on_venue_error(self, venue: str, error: str) -> None:
        try:
            self._venue_error(venue, error)
        except Exception as exc:
            log.exception("risk.observer_failed", venue=venue, error=repr(exc))

    def _observe(self, order: Order, event: EventName, detail: Mapping[str, str]) -> None:
        assert order.venue is not None
        if event == EventName.ROUTE:
            self._routed(order)
        elif event == EventName.FILL:
            fill = order.fills.get(detail.get("exec_id", ""))
            if fill is not None:
                self._on_trade(order, fill)
                self.market.fill(order, fill.exec_id)
        elif event in (EventName.TRADE_CANCEL, EventName.TRADE_CORRECT):
            self.market.sync(order)
        elif event == EventName.ACK:
            self._venue_answer(order.venue, rejected=False)
        elif event == EventName.REJECT:
            self._venue_answer(order.venue, rejected=True)
        elif event in (EventName.PROTOCOL_ERROR, EventName.OUTCOME_UNKNOWN):
            self._venue_error(order.venue, f"{event} on order {order.order_id}")
        if event not in _SAME_EXPOSURE:
            self.exposure.update(order, self._arrival.get(order.order_id))
        if not order.is_open:
            self._arrival.pop(order.order_id, None)
            self._kill_attempts.pop(order.order_id, None)

    def _routed(self, order: Order) -> None:
        if order.price is None and order.stop_price is None:
            reference = self._reference(order.instrument_id)
            if reference is not None:
                self._arrival[order.order_id] = reference.value
        window_ms = self.rules.config.duplicate_window_ms
        if window_ms:
            now = self._monotonic()
            key = (order.account, order.side, order.instrument_id, order.order_qty, order.price)
            self._recent[key] = now
            self._recent.move_to_end(key)
            while self._recent:
                oldest = next(iter(self._recent.values()))
                if (now - oldest) * 1000 < window_ms:
                    break
                self._recent.popitem(last=False)

    def _on_trade(self, order: Order, fill: Fill) -> None:
        before = self._reference(order.instrument_id)   # fills never move it (DESIGN.md invariant 9)
        threshold = self.config.slippage_alert_bps
        if threshold is None or order.ord_type is not OrdType.MARKET:
            return
        reference = self._arrival.get(order.order_id) or (before.value if before is not None else None)
        if not reference:
            return
        worse_bps = (fill.price - reference) / reference * _BPS * (1 if order.side is Side.BUY else -1)
        if worse_bps > threshold:
            self.alerts.raise_alert(
                "slippage", f"instrument:{order.instrument_id}",
                f"market order {order.order_id} filled at {_num(fill.price)}, {_pct(worse_bps)} bps worse than "
                f"the reference {_num(reference)} (alert above {_num(threshold)} bps)",
                order_id=order.order_id, venue=fill.venue, exec_id=fill.exec_id, account=order.account or "")

    def note_price(self, instrument_id: str, price: Decimal, source: str = "venue",
                   at: datetime | None = None) -> None:
        """A venue's market price offered as the market-data source `source` (a malformed one is dropped); on the
        router thread. Trips the instrument's breaker when it is more than `breakers.price_jump_pct` from the
        reference before it (the once-a-second tick watches the composite the same way).
        """
        before = self._reference(instrument_id)
        if self.market.references.offer_raw(source, instrument_id, last=price, venue_time=at) is None:
            return
        jump = self.config.breakers.price_jump_pct
        if jump is None or before is None or not before.value:
            return
        move = abs(price - before.value) / before.value * _HUNDRED
        if move > jump:
            self._trip(f"instrument:{instrument_id}", f"price jump: {source} {_num(price)} is {_pct(move)}% from "
                                                      f"the previous reference {_num(before.value)} ({before.source})")

    def _venue_answer(self, venue: str, *, rejected: bool) -> None:
        config = self.config.breakers
        now = self._monotonic()
        answers = self._venue_answers.get(venue)
        if answers is None:
            answers = self._venue_answers[venue] = deque()
        answers.append((now, rejected))
        rejects = self._venue_rejects.get(venue, 0) + rejected
        while answers and now - answers[0][0] > config.reject_window_seconds:
            rejects -= answers.popleft()[1]
        self._venue_rejects[venue] = rejects
        if len(answers) >= config.reject_min_orders and rejects * _HUNDRED > config.reject_rate_pct * len(answers):
            self._trip(f"venue:{venue}", f"reject rate {rejects}/{len(answers)} new orders in "
                                         f"{config.reject_window_seconds}s above {_num(config.reject_rate_pct)}%")

    def _venue_error(self, venue: str, what: str) -> None:
        config = self.config.breakers
        self.counters.incr("venue_errors")
        now = self._monotonic()
        errors = self._venue_errors.get(venue)
        if errors is None:
            errors = self._venue_errors[venue] = deque()
        errors.append(now)
        while errors and now - errors[0] > config.error_window_seconds:
            errors.popleft()
        if len(errors) >= config.error_burst:
            self._trip(f"venue:{venue}", f"{len(errors)} errors in {config.error_window_seconds}s (last: {what})")

    # ------------------------------------------------------------------ switches

    def _trip(self, scope: str, reason: str) -> None:
        if self.switches.is_tripped(scope):
            return
        switch = Switch(BREAKER, scope, True, GATEWAY, reason, self._clock())
        self.switches.apply(switch)
        self._pending_state[switch.key] = switch.to_json()
        self._pending_events.append(switch.audit())
        self.counters.incr("breaker_trips")
        log.error("risk.breaker_tripped", scope=scope, reason=reason)
        self.alerts.raise_alert("circuit_breaker", scope, f"circuit breaker tripped for {scope}: {reason}")

    def _flush(self, fx: Effects) -> None:
        if self._pending_state:
            fx.state.update(self._pending_state)
            self._pending_state.clear()
        if self._pending_events:
            fx.events.extend(self._pending_events)
            self._pending_events.clear()

    def set_switch(self, switch: Switch, core: RouterCore, fx: Effects) -> bool:
        """An operator change made inside the gateway (admin API, via `runner.call`): applied, journaled, audited."""
        switch = supersede(switch, self.switches.get(switch.kind, switch.scope))
        if not self._take(switch, core, fx):
            return False
        fx.state[switch.key] = switch.to_json()
        fx.events.append(switch.audit())
        return True

    def apply_persisted(self, switches: Iterable[Switch], core: RouterCore, fx: Effects) -> None:
        """Changes read from the journal (the CLI, another gateway); each applies if newer than what we hold."""
        for switch in switches:
            self._take(switch, core, fx)
        self._flush(fx)

    def _take(self, switch: Switch, core: RouterCore, fx: Effects) -> bool:
        if not self.switches.apply(switch):
            return False
        log.warning("risk.switch_changed", kind=switch.kind, scope=switch.scope, active=switch.active,
                    who=switch.who, reason=switch.reason, cancel_open=switch.cancel_open)
        self.counters.incr(f"switch_changes.{switch.kind}")
        if switch.kind == KILL:
            self._kill_attempts.clear()
            if switch.active:
                self.alerts.raise_alert("kill_switch", switch.scope, switch.describe(), who=switch.who)
        elif switch.kind == BREAKER and not switch.active:
            # A reset starts the statistics afresh, or the next error would trip it again at once.
            name = switch.scope.partition(":")[2]
            self._venue_errors.pop(name, None)
            self._venue_answers.pop(name, None)
            self._venue_rejects.pop(name, None)
        self._sweep(core, fx)
        return True

    def on_tick(self, core: RouterCore, fx: Effects) -> None:
        """Once a second on the router thread: a new day, market data and P&L stops, kill-switch cancels, queued
        journal rows."""
        self.exposure.roll_day(self._clock().date())
        self._market_tick(core, fx)
        self._sweep(core, fx)
        self._flush(fx)

    def _market_tick(self, core: RouterCore, fx: Effects) -> None:
        self.market.symbols = core.symbols
        found = self.market.tick(self.config.breakers.price_jump_pct)
        for change in found.changes:
            kind = "reference_price" if change.kind == "state" else "price_divergence"
            self.counters.incr(f"reference.{change.kind}")
            self.alerts.raise_alert(kind, f"instrument:{change.instrument_id}", change.message, **change.detail)
        for jump in found.jumps:
            self._trip(f"instrument:{jump.instrument_id}",
                       f"price jump: the reference moved {_pct(jump.move_pct)}% in a second, {_num(jump.before)} "
                       f"to {_num(jump.after)}")
        for stop in found.stops:
            self.counters.incr(f"pnl_stops.{stop.limit}")
            self.alerts.raise_alert("pnl_stop", f"account:{stop.account}", stop.message, account=stop.account,
                                    limit=stop.limit, value=_num(stop.value), currency=stop.currency)
            kill = self.switches.get(KILL, f"account:{stop.account}")
            if kill is None or not kill.active:
                self.set_switch(new_switch(KILL, f"account:{stop.account}", True, who=GATEWAY, reason=stop.message,
                                           cancel_open=True, at=self._clock()), core, fx)

    def _sweep(self, core: RouterCore, fx: Effects) -> None:
        """Cancel every open order under a kill switch set with cancel_open (retried while it stays open)."""
        kills = [kill for kill in self.switches.kills() if kill.cancel_open]
        if not kills:
            return
        for order in core.book.open_orders():
            if not any(_in_scope(kill.scope, order) for kill in kills):
                continue
            attempts = self._kill_attempts.get(order.order_id, 0)
            if attempts >= KILL_CANCEL_ATTEMPTS:
                continue
            if core.gateway_cancel(order, fx, tag=f"KILL{len(order.venue_cl_ord_ids)}", event=EventName.KILL_CANCEL):
                self._kill_attempts[order.order_id] = attempts + 1
                self.counters.incr("kill_cancels")
                log.info("risk.kill_cancel", order_id=order.order_id, session=order.ems_session,
                         account=order.account, venue=order.venue, attempt=attempts + 1)


def _in_scope(scope: str, order: Order) -> bool:
    kind, _, name = scope.partition(":")
    if kind == "global":
        return True
    value = {"session": order.ems_session, "account": order.account, "venue": order.venue}.get(kind)
    return value is not None and value == name


def _num(value: Decimal) -> str:
    return fmt_decimal(value)


def _pct(value: Decimal) -> str:
    return fmt_decimal(value.quantize(_CENT))


def _lim(limit: Limit, unit: str = "") -> str:
    return f"{fmt_decimal(limit.value)}{unit} ({limit.source})"
