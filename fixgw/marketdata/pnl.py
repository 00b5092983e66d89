"""P&L per (account, instrument, venue) from fills and reference prices, the day's P&L and its drawdown.

Method (README "P&L"): average cost. A fill that adds to a position (or opens one) moves its average cost to
the quantity-weighted mean; a fill that reduces it realizes (fill price - average cost) x quantity closed (the
sign flipped for a short) and leaves the average cost alone; a fill through zero closes the old position and
opens the remainder at the fill price. Unrealized = position x (reference - average cost). Fees (the venue's
commission, in the instrument's currency) are counted apart and taken off the total.
The book holds the fills since the trading-day cut-off: a position carried over the cut-off is re-based at
the reference then (its average cost becomes that mark, nothing realized), so every figure is the day's.
The day's high-water mark is the highest total seen since the cut-off (starting at 0); drawdown is the
distance from it. Pure: Decimal arithmetic, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from fixgw.model.decimals import ZERO
from fixgw.model.enums import Side

PositionKey = tuple[str, str, str]
"""(account, instrument id, venue); an order without an account books under ""."""


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill as P&L needs it."""

    side: Side
    qty: Decimal
    price: Decimal
    at: datetime
    fee: Decimal = ZERO


@dataclass(slots=True)
class Position:
    qty: Decimal = ZERO
    """Signed: long > 0."""
    avg_cost: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO

    def apply(self, trade: Trade) -> None:
        signed = trade.qty if trade.side is Side.BUY else -trade.qty
        self.fees += trade.fee
        if self.qty == ZERO or (self.qty > ZERO) == (signed > ZERO):
            total = self.qty + signed
            self.avg_cost = (self.qty * self.avg_cost + signed * trade.price) / total
            self.qty = total
            return
        closed = min(abs(signed), abs(self.qty))
        direction = 1 if self.qty > ZERO else -1
        self.realized += closed * (trade.price - self.avg_cost) * direction
        self.qty += signed
        if self.qty == ZERO:
            self.avg_cost = ZERO
        elif (self.qty > ZERO) == (signed > ZERO):   # went through zero: the rest is a new position
            self.avg_cost = trade.price

    def unrealized(self, mark: Decimal | None) -> Decimal | None:
        if self.qty == ZERO:
            return ZERO
        return None if mark is None else self.qty * (mark - self.avg_cost)


@dataclass(frozen=True, slots=True)
class PnlLine:
    account: str
    instrument_id: str
    venue: str
    currency: str
    position: Decimal
    avg_cost: Decimal
    realized: Decimal
    unrealized: Decimal | None
    """None: a position without a reference price (not valued)."""
    fees: Decimal
    mark: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.realized + (self.unrealized or ZERO) - self.fees


@dataclass(slots=True)
class AccountPnl:
    """The day's P&L of one account in one currency."""

    account: str
    currency: str
    realized: Decimal = ZERO
    unrealized: Decimal = ZERO
    fees: Decimal = ZERO
    high_water: Decimal = ZERO
    unpriced: list[str] = field(default_factory=list)
    """Instruments with an open position and no reference: left out of `unrealized`."""

    @property
    def total(self) -> Decimal:
        return self.realized + self.unrealized - self.fees

    @property
    def drawdown(self) -> Decimal:
        return self.high_water - self.total


@dataclass(frozen=True, slots=True)
class StopBreach:
    account: str
    currency: str
    limit: str
    """"max_daily_loss" or "max_drawdown"."""
    value: Decimal
    threshold: Decimal

    @property
    def message(self) -> str:
        what = "day's loss" if self.limit == "max_daily_loss" else "drawdown from the day's high-water mark"
        return (f"{self.account}: {what} {self.value:f} {self.currency} exceeds {self.limit} "
                f"{self.threshold:f} (risk.accounts.{self.account}.{self.limit})")


def day_start(now: datetime, cutoff: time) -> datetime:
    """The latest trading-day cut-off at or before `now` (both UTC)."""
    start = datetime.combine(now.date(), cutoff, tzinfo=now.tzinfo)
    return start if start <= now else start - timedelta(days=1)


class PnlBook:
    """Day P&L of every (account, instrument, venue) that traded since the cut-off; one owner thread."""

    def __init__(self, since: datetime, currency_of: Callable[[str], str]) -> None:
        self.since = since
        self._currency_of = currency_of
        self._orders: dict[str, tuple[PositionKey, Side, dict[str, Trade]]] = {}
        self._positions: dict[PositionKey, Position] = {}
        self._carried: dict[PositionKey, Position] = {}
        """Positions at the cut-off, re-based at the mark then: where a recomputation starts."""
        self._high_water: dict[tuple[str, str], Decimal] = {}
        self._last_at: dict[PositionKey, datetime] = {}

    def sync_order(self, order_id: str, key: PositionKey, side: Side, trades: Mapping[str, Trade]) -> None:
        """The order's fills now (by exec id): new fills are applied; a bust or correction recomputes the
        position from every fill of it in time order. Fills before the cut-off are not the day's."""
        trades = {exec_id: t for exec_id, t in trades.items() if t.at >= self.since}
        held = self._orders.get(order_id)
        before = held[2] if held is not None else {}
        if not trades and not before:
            return
        self._orders[order_id] = (key, side, trades)
        changed = any(trades.get(exec_id) != trade for exec_id, trade in before.items())
        added = sorted((t for exec_id, t in trades.items() if exec_id not in before), key=lambda t: t.at)
        last = self._last_at.get(key)
        if changed or (added and last is not None and added[0].at < last):
            self._recompute(key)   # avg cost depends on the order of fills: always replay them by time
            return
        position = self._positions.setdefault(key, _copy(self._carried.get(key)))
        for trade in added:
            position.apply(trade)
            self._last_at[key] = trade.at

    def add_fill(self, order_id: str, key: PositionKey, side: Side, exec_id: str, trade: Trade) -> None:
        """One new fill of an order (the common case, O(1)); `sync_order` handles busts and corrections."""
        if trade.at < self.since:
            return
        held = self._orders.get(order_id)
        if held is None:
            held = self._orders[order_id] = (key, side, {})
        if exec_id in held[2]:
            return
        held[2][exec_id] = trade
        last = self._last_at.get(key)
        if last is not None and trade.at < last:
            self._recompute(key)
            return
        self._positions.setdefault(key, _copy(self._carried.get(key))).apply(trade)
        self._last_at[key] = trade.at

    def _recompute(self, key: PositionKey) -> None:
        self._last_at.pop(key, None)
        position = _copy(self._carried.get(key))
        trades = [t for k, _s, ts in self._orders.values() if k == key for t in ts.values()]
        for trade in sorted(trades, key=lambda t: t.at):
            position.apply(trade)
            self._last_at[key] = trade.at
        self._positions[key] = position

    def roll(self, since: datetime, marks: Mapping[str, Decimal | None]) -> None:
        """A new trading day: open positions are carried, re-based at `marks` (a position without a mark keeps
        its average cost); realized P&L, fees and the high-water mark start at zero."""
        self.since = since
        self._carried = {key: Position(p.qty, marks.get(key[1]) or p.avg_cost)
                         for key, p in self._positions.items() if p.qty != ZERO}
        self._positions = {key: _copy(p) for key, p in self._carried.items()}
        self._orders.clear()
        self._high_water.clear()
        self._last_at.clear()

    def instruments(self) -> set[str]:
        return {key[1] for key in self._positions}

    def lines(self, marks: Mapping[str, Decimal | None], account: str | None = None) -> list[PnlLine]:
        found = []
        for key, position in sorted(self._positions.items()):
            if account is not None and key[0] != account:
                continue
            mark = marks.get(key[1])
            found.append(PnlLine(key[0], key[1], key[2], self._currency_of(key[1]), position.qty,
                                 position.avg_cost, position.realized, position.unrealized(mark), position.fees,
                                 mark))
        return found

    def accounts(self, marks: Mapping[str, Decimal | None]) -> list[AccountPnl]:
        """Each account's day P&L per currency; raises each one's high-water mark to its total now."""
        totals: dict[tuple[str, str], AccountPnl] = {}
        for line in self.lines(marks):
            slot = (line.account, line.currency)
            pnl = totals.get(slot)
            if pnl is None:
                pnl = totals[slot] = AccountPnl(*slot)
            pnl.realized += line.realized
            pnl.fees += line.fees
            if line.unrealized is None:
                pnl.unpriced.append(line.instrument_id)
            else:
                pnl.unrealized += line.unrealized
        for slot, pnl in totals.items():
            pnl.high_water = self._high_water[slot] = max(self._high_water.get(slot, ZERO), pnl.total)
        return [totals[slot] for slot in sorted(totals)]


def breaches(accounts: Iterable[AccountPnl],
             limits: Callable[[str], tuple[Decimal | None, Decimal | None]]) -> list[StopBreach]:
    """Accounts over their stop: `limits(account)` is (max_daily_loss, max_drawdown), each None when unset."""
    found = []
    for pnl in accounts:
        max_loss, max_drawdown = limits(pnl.account)
        if max_loss is not None and -pnl.total > max_loss:
            found.append(StopBreach(pnl.account, pnl.currency, "max_daily_loss", -pnl.total, max_loss))
        if max_drawdown is not None and pnl.drawdown > max_drawdown:
            found.append(StopBreach(pnl.account, pnl.currency, "max_drawdown", pnl.drawdown, max_drawdown))
    return found


def _copy(position: Position | None) -> Position:
    return Position() if position is None else Position(position.qty, position.avg_cost, position.realized,
                                                        position.fees)
