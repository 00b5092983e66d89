"""The exposure the checks read: open and filled notional per account, positions per (account, instrument),
last prices per instrument.

Kept incrementally from order events: each event recomputes that one order's contribution and applies the
difference, so fills, busts, corrections, replaces and cancels are all accounted the same way, in
O(fills of the order). "Filled" means filled today (UTC); the router's once-a-second tick rolls the day and
recomputes every tracked order (until then yesterday's fills still count: the safe side).
A pending replace counts with the larger of its old and new terms until the venue answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fixgw.model.decimals import ZERO
from fixgw.model.enums import Side
from fixgw.model.state import Order


@dataclass(slots=True)
class Totals:
    open_notional: Decimal = ZERO
    filled_notional: Decimal = ZERO
    net_filled_qty: Decimal = ZERO
    """Signed: bought minus sold today."""
    open_buy_qty: Decimal = ZERO
    open_sell_qty: Decimal = ZERO

    @property
    def used(self) -> Decimal:
        """Open plus filled notional."""
        return self.open_notional + self.filled_notional

    def add(self, other: Totals, sign: int) -> None:
        self.open_notional += sign * other.open_notional
        self.filled_notional += sign * other.filled_notional
        self.net_filled_qty += sign * other.net_filled_qty
        self.open_buy_qty += sign * other.open_buy_qty
        self.open_sell_qty += sign * other.open_sell_qty

    def is_zero(self) -> bool:
        return not (self.open_notional or self.filled_notional or self.net_filled_qty or self.open_buy_qty
                    or self.open_sell_qty)


@dataclass(frozen=True, slots=True)
class Price:
    value: Decimal
    source: str
    """"last trade", "venue" or "configured"."""
    at: datetime
    """When we received it (our clock): what orders prices; a venue's clock may be skewed."""
    venue_at: datetime | None = None
    """The venue's own time for it (a fill's TransactTime), kept as data."""


_EMPTY = Totals()


class Exposure:
    def __init__(self, today: date) -> None:
        self.day = today
        self._accounts: dict[str, Totals] = {}
        self._positions: dict[tuple[str, str], Totals] = {}
        self._orders: dict[str, tuple[Order, Decimal | None, Totals]] = {}
        self._prices: dict[str, Price] = {}

    # --- reading (hot path) -------------------------------------------------------------------------------

    def account(self, account: str | None) -> Totals:
        return self._accounts.get(account or "", _EMPTY)

    def position(self, account: str | None, instrument_id: str) -> Totals:
        return self._positions.get((account or "", instrument_id), _EMPTY)

    def order(self, order_id: str) -> Totals:
        """What one order contributes now."""
        tracked = self._orders.get(order_id)
        return tracked[2] if tracked else _EMPTY

    def price(self, instrument_id: str) -> Price | None:
        return self._prices.get(instrument_id)

    # --- updating (router thread) -------------------------------------------------------------------------

    def note_price(self, instrument_id: str, value: Decimal, source: str, at: datetime,
                   venue_at: datetime | None = None) -> Price | None:
        """Record a market price received at `at` (our clock); returns the one it replaces. An older price than the
        one held is ignored."""
        previous = self._prices.get(instrument_id)
        if previous is None or at >= previous.at:
            self._prices[instrument_id] = Price(value, source, at, venue_at)
        return previous

    def update(self, order: Order, valuation: Decimal | None) -> None:
        """Recompute `order`'s contribution; `valuation` prices its open quantity when it has no price."""
        tracked = self._orders.get(order.order_id)
        new = self._contribution(order, valuation)
        key = (order.account or "", order.instrument_id)
        if tracked is not None:
            self._book(key, tracked[2], -1)
        if new.is_zero():
            self._orders.pop(order.order_id, None)
        else:
            self._orders[order.order_id] = (order, valuation, new)
        self._book(key, new, 1)

    def add_closed_fills(self, account: str | None, instrument_id: str, side: Side, qty: Decimal,
                         notional: Decimal) -> None:
        """At restart: today's fills of closed orders kept in the journal only (store/daybook.py), summed; each
        of those orders is `adopt`ed if it is read back later, so its own events account for it from then on."""
        totals = Totals(filled_notional=notional, net_filled_qty=qty if side is Side.BUY else -qty)
        self._book((account or "", instrument_id), totals, 1)

    def adopt(self, order: Order) -> None:
        """Track a closed order read back from the journal whose contribution `add_closed_fills` already counted:
        the next `update` replaces that contribution instead of adding to it."""
        if order.order_id in self._orders:
            return
        contribution = self._contribution(order, None)
        if not contribution.is_zero():
            self._orders[order.order_id] = (order, None, contribution)

    def _book(self, key: tuple[str, str], totals: Totals, sign: int) -> None:
        """Add (sign 1) or take back (-1) `totals` on the account of `key` = (account, instrument) and its position."""
        self._accounts.setdefault(key[0], Totals()).add(totals, sign)
        self._positions.setdefault(key, Totals()).add(totals, sign)

    def roll_day(self, today: date) -> None:
        """A new UTC day: yesterday's fills no longer count."""
        if today == self.day:
            return
        self.day = today
        tracked = list(self._orders.values())
        self._orders.clear()
        self._accounts.clear()
        self._positions.clear()
        for order, valuation, _ in tracked:
            self.update(order, valuation)

    def _contribution(self, order: Order, valuation: Decimal | None) -> Totals:
        totals = Totals()
        if order.venue is None:
            return totals  # never left: nothing at risk
        day = self.day
        filled_qty = ZERO
        for fill in order.fills.values():
            if fill.time.date() >= day:   # after midnight, before the tick rolls the day: today's
                filled_qty += fill.qty
                totals.filled_notional += fill.qty * fill.price
        totals.net_filled_qty = filled_qty if order.side is Side.BUY else -filled_qty
        if order.is_open:
            open_qty = order.leaves_qty
            price = order.price or order.stop_price or valuation or ZERO
            notional = open_qty * price
            pending = order.pending
            if pending is not None and pending.kind == "replace" and pending.order_qty is not None:
                # Until the venue answers, either terms may be in force: count the larger.
                new_qty = max(pending.order_qty - order.cum_qty, ZERO)
                new_price = pending.price or pending.stop_price or price
                open_qty = max(open_qty, new_qty)
                notional = max(notional, new_qty * new_price)
            totals.open_notional = notional
            if order.side is Side.BUY:
                totals.open_buy_qty = open_qty
            else:
                totals.open_sell_qty = open_qty
        return totals
