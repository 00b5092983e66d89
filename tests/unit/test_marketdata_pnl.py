"""P&L against hand-computed cases: average cost, partial fills, both sides, through zero, fees, busts, the day's
high-water mark and drawdown, and the stops."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from fixgw.marketdata.pnl import PnlBook, Position, Trade, breaches, day_start
from fixgw.model.enums import Side

D = Decimal
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BUY, SELL = Side.BUY, Side.SELL
KEY = ("ACC1", "BTC/USD", "cbp")


def t(side: Side, qty: str, price: str, minute: int, fee: str = "0") -> Trade:
    return Trade(side, D(qty), D(price), T0 + timedelta(minutes=minute), D(fee))


def book() -> PnlBook:
    return PnlBook(T0 - timedelta(hours=9), lambda instrument: "USD")


def test_partial_fills_of_a_long_with_fees() -> None:
    pnl = book()
    # One buy order filled in two parts, then a partial sell.
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "1", "100", 1, "0.5")})
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "1", "100", 1, "0.5"), "e2": t(BUY, "3", "104", 2, "1.5")})
    pnl.sync_order("o2", KEY, SELL, {"e3": t(SELL, "2", "110", 3, "1")})
    [line] = pnl.lines({"BTC/USD": D(105)})
    # avg = (1x100 + 3x104) / 4 = 103; realized = 2 x (110 - 103) = 14; unrealized = 2 x (105 - 103) = 4
    assert (line.position, line.avg_cost, line.realized, line.unrealized, line.fees) == (
        D(2), D(103), D(14), D(4), D(3))
    assert line.total == D(15)


def test_short_then_buy_through_zero() -> None:
    pnl = book()
    pnl.sync_order("o1", KEY, SELL, {"e1": t(SELL, "2", "50", 1), "e2": t(SELL, "2", "40", 2)})
    pnl.sync_order("o2", KEY, BUY, {"e3": t(BUY, "5", "42", 3)})
    [line] = pnl.lines({"BTC/USD": D(40)})
    # short 4 @ 45; buying 5 @ 42 closes 4: realized 4 x (45 - 42) = 12, then long 1 @ 42; 1 x (40 - 42) = -2
    assert (line.position, line.avg_cost, line.realized, line.unrealized, line.total) == (
        D(1), D(42), D(12), D(-2), D(10))


def test_closing_exactly_flat_leaves_no_cost_and_no_unrealized() -> None:
    position = Position()
    position.apply(t(BUY, "2", "10", 1))
    position.apply(t(SELL, "2", "9", 2))
    assert (position.qty, position.avg_cost, position.realized) == (D(0), D(0), D(-2))
    assert position.unrealized(None) == D(0)


def test_fills_arriving_out_of_time_order_are_replayed_by_time() -> None:
    in_order, late = book(), book()
    buy_low, sell, buy_high = t(BUY, "1", "100", 1), t(SELL, "1", "120", 2), t(BUY, "1", "130", 3)
    in_order.sync_order("a", KEY, BUY, {"e1": buy_low})
    in_order.sync_order("b", KEY, SELL, {"e2": sell})
    in_order.sync_order("c", KEY, BUY, {"e3": buy_high})
    late.sync_order("c", KEY, BUY, {"e3": buy_high})
    late.sync_order("a", KEY, BUY, {"e1": buy_low})
    late.sync_order("b", KEY, SELL, {"e2": sell})
    marks = {"BTC/USD": D(125)}
    assert in_order.lines(marks) == late.lines(marks)
    assert in_order.lines(marks)[0].realized == D(20)


def test_a_bust_recomputes_the_position() -> None:
    pnl = book()
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "1", "100", 1), "e2": t(BUY, "1", "200", 2)})
    pnl.sync_order("o2", KEY, SELL, {"e3": t(SELL, "1", "160", 3)})
    assert pnl.lines({})[0].realized == D(10)
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "1", "100", 1)})     # e2 busted
    [line] = pnl.lines({"BTC/USD": D(150)})
    assert (line.position, line.realized, line.unrealized) == (D(0), D(60), D(0))


def test_fills_before_the_cut_off_are_not_the_days() -> None:
    pnl = PnlBook(T0, lambda instrument: "USD")
    pnl.sync_order("o1", KEY, BUY, {"e0": t(BUY, "1", "100", -5), "e1": t(BUY, "1", "110", 5)})
    assert pnl.lines({})[0].position == D(1)


def test_accounts_sum_venues_and_instruments_and_keep_the_high_water_mark() -> None:
    pnl = PnlBook(T0 - timedelta(hours=9), lambda instrument: "EUR" if instrument.endswith("EUR") else "USD")
    pnl.sync_order("o1", ("ACC1", "BTC/USD", "cbp"), BUY, {"e1": t(BUY, "1", "100", 1, "1")})
    pnl.sync_order("o2", ("ACC1", "BTC/USD", "binance"), BUY, {"e2": t(BUY, "2", "101", 2)})
    pnl.sync_order("o3", ("ACC1", "ETH/EUR", "cbp"), SELL, {"e3": t(SELL, "1", "50", 3)})
    pnl.sync_order("o4", ("ACC2", "BTC/USD", "cbp"), SELL, {"e4": t(SELL, "1", "100", 4)})
    rising = {(a.account, a.currency): a for a in pnl.accounts({"BTC/USD": D(110), "ETH/EUR": D(45)})}
    # ACC1 USD: 1 x (110-100) + 2 x (110-101) - fee 1 = 27
    assert (rising["ACC1", "USD"].total, rising["ACC1", "USD"].high_water) == (D(27), D(27))
    assert rising["ACC1", "EUR"].total == D(5)
    assert rising["ACC2", "USD"].total == D(-10)
    assert rising["ACC2", "USD"].high_water == D(0)     # the day starts at zero
    falling = {(a.account, a.currency): a for a in pnl.accounts({"BTC/USD": D(99), "ETH/EUR": None})}
    # 1 x (99-100) + 2 x (99-101) - 1 = -6; high water stays 27: drawdown 33
    assert (falling["ACC1", "USD"].total, falling["ACC1", "USD"].drawdown) == (D(-6), D(33))
    assert falling["ACC1", "EUR"].unpriced == ["ETH/EUR"]
    assert falling["ACC1", "EUR"].unrealized == D(0)


def test_stops_fire_above_their_limits_only() -> None:
    pnl = book()
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "10", "100", 1)})
    pnl.accounts({"BTC/USD": D(120)})                       # high water 200
    accounts = pnl.accounts({"BTC/USD": D(90)})             # total -100, drawdown 300
    limits = {"ACC1": (D(100), D(300))}
    assert breaches(accounts, lambda a: limits.get(a, (None, None))) == []   # at the limit, not above
    limits = {"ACC1": (D("99.99"), D(299))}
    found = breaches(accounts, lambda a: limits.get(a, (None, None)))
    assert [(b.limit, b.value, b.threshold) for b in found] == [
        ("max_daily_loss", D(100), D("99.99")), ("max_drawdown", D(300), D(299))]
    assert "risk.accounts.ACC1.max_drawdown" in found[1].message


def test_roll_carries_open_positions_rebased_at_the_mark() -> None:
    pnl = book()
    pnl.sync_order("o1", KEY, BUY, {"e1": t(BUY, "2", "100", 1, "1")})
    pnl.sync_order("o2", KEY, SELL, {"e2": t(SELL, "1", "110", 2)})
    pnl.accounts({"BTC/USD": D(130)})
    pnl.roll(T0 + timedelta(days=1), {"BTC/USD": D(120)})
    [line] = pnl.lines({"BTC/USD": D(125)})
    assert (line.position, line.avg_cost, line.realized, line.fees, line.unrealized) == (
        D(1), D(120), D(0), D(0), D(5))
    assert pnl.accounts({"BTC/USD": D(125)})[0].high_water == D(5)
    pnl.sync_order("o3", KEY, SELL, {"e3": t(SELL, "1", "121", 24 * 60 + 5)})
    assert pnl.lines({})[0].realized == D(1)


@pytest.mark.parametrize(("now", "cutoff", "start"), [
    (datetime(2026, 12, 7, 9, tzinfo=UTC), time(0), datetime(2026, 12, 7, tzinfo=UTC)),
    (datetime(2026, 12, 7, 9, tzinfo=UTC), time(22), datetime(2026, 12, 6, 22, tzinfo=UTC)),
    (datetime(2026, 12, 7, 22, tzinfo=UTC), time(22), datetime(2026, 12, 7, 22, tzinfo=UTC)),
])
def test_day_start(now: datetime, cutoff: time, start: datetime) -> None:
    assert day_start(now, cutoff) == start


def test_add_fill_matches_sync_order_even_out_of_time_order() -> None:
    added, synced = book(), book()
    fills = {"e1": t(BUY, "2", "100", 1), "e3": t(SELL, "1", "130", 3), "e2": t(BUY, "2", "110", 2)}
    for exec_id, trade in fills.items():          # e2 arrives after e3 but happened before it
        added.add_fill("o1", KEY, trade.side, exec_id, trade)
    added.add_fill("o1", KEY, BUY, "e1", fills["e1"])      # a repeated fill counts once
    synced.sync_order("o1", KEY, BUY, fills)
    assert added.lines({}) == synced.lines({})
    # by time: long 4 @ 105, then sell 1 @ 130: realized 25
    assert (added.lines({})[0].position, added.lines({})[0].realized) == (D(3), D(25))
