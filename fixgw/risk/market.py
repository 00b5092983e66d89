"""What the risk checks know of the market: the composite reference price per instrument (market data, never
our own fills) and the day's P&L with its loss stops.

Owned by the RiskChecks and used on the router thread, except `references`, which market-data feed threads
write (fixgw/marketdata/reference.py says how that is safe). `tick` (once a second) finds what needs an alert
or a switch: reference state changes and divergences, reference jumps beyond `breakers.price_jump_pct`, and
accounts past `max_daily_loss` / `max_drawdown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fixgw.marketdata.pnl import PnlBook, StopBreach, Trade, breaches, day_start
from fixgw.marketdata.reference import Reference, ReferenceBook, ReferenceChange
from fixgw.marketdata.settings import MarketDataConfig
from fixgw.model.decimals import ZERO
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import FillGroup
from fixgw.model.state import Order
from fixgw.risk.exposure import Price
from fixgw.risk.settings import RiskConfig

_HUNDRED = Decimal(100)
RESTORED_VENUE = "(restored)"
"""Venue of the day's closed-order fills a restart reads grouped (the groups carry no venue)."""


def static_prices(risk: RiskConfig) -> dict[str, Decimal]:
    return {name: section.reference_price for name, section in risk.instruments.items()
            if section.reference_price is not None}


@dataclass(frozen=True, slots=True)
class Jump:
    instrument_id: str
    before: Decimal
    after: Decimal
    move_pct: Decimal


@dataclass(slots=True)
class MarketTick:
    changes: list[ReferenceChange] = field(default_factory=list)
    jumps: list[Jump] = field(default_factory=list)
    stops: list[StopBreach] = field(default_factory=list)


class MarketView:
    def __init__(self, risk: RiskConfig, marketdata: MarketDataConfig, clock: Callable[[], datetime]) -> None:
        self.marketdata = marketdata
        self._risk = risk
        self._clock = clock
        self.references = ReferenceBook(marketdata.policies(static_prices(risk)), clock=clock)
        self.symbols: SymbolMaster | None = None
        self.pnl = PnlBook(day_start(clock(), marketdata.day_cutoff), self._currency)
        self._last: dict[str, Decimal] = {}
        """The reference each instrument had at the last jump check."""
        self._stopped: set[tuple[str, str, str]] = set()
        """(account, currency, limit) stops fired since the cut-off: each fires once a day."""
        self._restored = 0
        self._known: set[str] = set()
        """Orders whose fills P&L holds."""
        self._prices: dict[str, tuple[Reference, Price | None]] = {}
        """The order path's Price for the reference it was made from (the book caches references)."""

    def set_risk(self, risk: RiskConfig) -> None:
        """A reload: static prices and account stops may have changed."""
        self._risk = risk
        self.references.set_policies(self.marketdata.policies(static_prices(risk)))

    # --- the order path -----------------------------------------------------------------------------------

    def reference(self, instrument_id: str) -> Reference:
        return self.references.reference(instrument_id)

    def price(self, instrument_id: str) -> Price | None:
        """The order path's lookup (cached: fixgw/marketdata/reference.py `current`)."""
        reference = self.references.current(instrument_id)
        held = self._prices.get(instrument_id)
        if held is not None and held[0] is reference:
            return held[1]
        price = None if reference.price is None else Price(reference.price, reference.label, self._clock())
        self._prices[instrument_id] = (reference, price)
        return price

    def has_live_sources(self, instrument_id: str) -> bool:
        policy = self.references.policy(instrument_id)
        return policy is not None and bool(policy.live_sources)

    # --- P&L ------------------------------------------------------------------------------------------------

    def fill(self, order: Order, exec_id: str) -> None:
        """A new fill of `order`: P&L books it (O(1))."""
        fill = order.fills.get(exec_id)
        if fill is None:
            return
        self._known.add(order.order_id)
        self.pnl.add_fill(order.order_id, (order.account or "", order.instrument_id, fill.venue), order.side,
                          exec_id, Trade(order.side, fill.qty, fill.price, fill.time, fill.commission or ZERO))

    def sync(self, order: Order) -> None:
        """The order's fills changed some other way (a bust, a correction, a restart): P&L follows, O(fills)."""
        if not order.fills and order.order_id not in self._known:
            return
        account = order.account or ""
        trades: dict[str, Trade] = {}
        keys = set()
        for exec_id, fill in order.fills.items():
            keys.add(fill.venue)
            trades[exec_id] = Trade(order.side, fill.qty, fill.price, fill.time, fill.commission or ZERO)
        venue = next(iter(keys)) if len(keys) == 1 else (order.venue or "")
        self._known.add(order.order_id)
        self.pnl.sync_order(order.order_id, (account, order.instrument_id, venue), order.side, trades)

    def restore(self, orders: Iterable[Order], closed_fills: Iterable[FillGroup]) -> None:
        for group in closed_fills:
            self._restored += 1
            trade = Trade(group.side, group.qty * group.count, group.price, group.last_at)
            self.pnl.sync_order(f"restored:{self._restored}",
                                (group.account or "", group.instrument_id, RESTORED_VENUE), group.side,
                                {"group": trade})
        for order in orders:
            self.sync(order)

    def marks(self) -> dict[str, Decimal | None]:
        """The reference of every instrument P&L holds a position in."""
        return {instrument: self.references.current(instrument).price for instrument in self.pnl.instruments()}

    def _currency(self, instrument_id: str) -> str:
        symbols = self.symbols
        if symbols is not None:
            try:
                return symbols.get(instrument_id).currency
            except KeyError:
                pass
        return "?"

    def _limits(self, account: str) -> tuple[Decimal | None, Decimal | None]:
        section = self._risk.accounts.get(account)
        return (None, None) if section is None else (section.max_daily_loss, section.max_drawdown)

    # --- once a second --------------------------------------------------------------------------------------

    def tick(self, jump_pct: Decimal | None) -> MarketTick:
        now = self._clock()
        references = self.references.references(now)
        found = MarketTick(changes=self.references.changes(now, references))
        start = day_start(now, self.marketdata.day_cutoff)
        if start > self.pnl.since:
            self.pnl.roll(start, self.marks())
            self._stopped.clear()
        if jump_pct is not None:
            for reference in references:
                if reference.price is None or reference.static:
                    self._last.pop(reference.instrument_id, None)   # a gap: the next price is no jump
                    continue
                before = self._last.get(reference.instrument_id)
                self._last[reference.instrument_id] = reference.price
                if before:
                    move = abs(reference.price - before) * _HUNDRED / before
                    if move > jump_pct:
                        found.jumps.append(Jump(reference.instrument_id, before, reference.price, move))
        accounts = self.pnl.accounts(self.marks())   # also raises each account's high-water mark
        for breach in breaches(accounts, self._limits):
            slot = (breach.account, breach.currency, breach.limit)
            if slot not in self._stopped:
                self._stopped.add(slot)
                found.stops.append(breach)
        return found

    def snapshot(self, account: str | None = None) -> Mapping[str, object]:
        """P&L lines and account totals now (for the admin API and the CLI)."""
        marks = self.marks()
        return {"since": self.pnl.since, "lines": self.pnl.lines(marks, account),
                "accounts": [a for a in self.pnl.accounts(marks) if account is None or a.account == account]}
