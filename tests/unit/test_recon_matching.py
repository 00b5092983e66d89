"""The matching engine (sans-I/O): every kind of break, tolerances, the fallback key, positions, cash,
settlement dates on the holiday calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from fixgw.model.enums import Side
from fixgw.model.instruments import SymbolMaster
from fixgw.recon.matching import TradeMatcher, cash_from_trades, match_holdings, positions_from_trades
from fixgw.recon.records import BreakKind, Category, Tolerances, Trade
from fixgw.recon.settlement import Calendar, CalendarError, SettlementRules, load_calendars

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TICKS = {"AAPL": Decimal("0.01"), "BTC/USD": Decimal("0.01")}


def trade(trade_id: str, qty: str = "100", price: str = "190.25", *, instrument: str = "AAPL",
          side: Side = Side.BUY, seconds: int = 0) -> Trade:
    return Trade(trade_id, instrument, side, Decimal(qty), Decimal(price), T0 + timedelta(seconds=seconds))


def matcher(**tolerances: object) -> TradeMatcher:
    return TradeMatcher(Tolerances(**tolerances), TICKS.get)  # type: ignore[arg-type]


def kinds(result: object) -> list[BreakKind]:
    return sorted((b.kind for b in result.breaks), key=lambda k: k.value)  # type: ignore[attr-defined]


def test_a_clean_day_has_no_breaks() -> None:
    ours = [trade(f"E{i}", seconds=i) for i in range(50)]
    theirs = [trade(f"E{i}", seconds=i) for i in reversed(range(50))]
    result = matcher().match(ours, theirs)
    assert result.breaks == [] and result.matched == 50
    assert result.counts()["breaks"] == 0 and result.counts()["ours"] == result.counts()["theirs"] == 50


@pytest.mark.parametrize(("ours", "theirs", "expected"), [
    ([trade("E1"), trade("E2")], [trade("E1")], [BreakKind.MISSING_AT_BROKER]),
    ([trade("E1")], [trade("E1"), trade("E9", price="191")], [BreakKind.MISSING_INTERNALLY]),
    ([trade("E1")], [trade("E1", qty="90")], [BreakKind.QUANTITY_MISMATCH]),
    ([trade("E1")], [trade("E1", price="190.26")], [BreakKind.PRICE_MISMATCH]),
    ([trade("E1")], [trade("E1"), trade("E1")], [BreakKind.DUPLICATE]),
    ([trade("E1"), trade("E1")], [trade("E1")], [BreakKind.DUPLICATE]),
    ([trade("E1")], [trade("E1", side=Side.SELL)], [BreakKind.QUANTITY_MISMATCH]),
    ([trade("E1")], [trade("E1", qty="90", price="190.30")],
     [BreakKind.PRICE_MISMATCH, BreakKind.QUANTITY_MISMATCH]),
], ids=["missing-at-broker", "missing-internally", "qty", "price", "duplicate-theirs", "duplicate-ours", "side",
        "qty-and-price"])
def test_each_kind_of_break_by_trade_id(ours: list[Trade], theirs: list[Trade], expected: list[BreakKind]) -> None:
    result = matcher().match(ours, theirs)
    assert kinds(result) == expected
    for found in result.breaks:
        assert found.category is Category.TRADE and found.detail
        assert found.ours is not None or found.theirs is not None   # evidence of at least one side


def test_a_statement_in_our_order_finds_what_an_unordered_one_does() -> None:
    """Rows in step on both sides are compared column against column, without looking ids up: repeated ids, rows
    without an id, broker rows past our last one and changed rows must still come out as when nothing is in step."""
    ours = [trade(f"E{i}", seconds=i) for i in range(40)]
    ours[5] = trade("E3", seconds=5)                                  # our repeat of an id, in step with theirs
    ours[9] = trade("", seconds=9)                                    # our row without an id
    theirs = [trade(t.trade_id, str(t.qty), str(t.price), seconds=i) for i, t in enumerate(ours)]
    theirs[12] = trade("E12", "101", seconds=12)                      # quantity
    theirs[20] = trade("E20", price="190.50", seconds=20)             # price
    theirs[30] = trade("E7", seconds=30)                              # the broker's repeat, in our row 30
    theirs += [trade("E15", seconds=15), trade("X1", seconds=99)]     # past our last row: a repeat, an unknown
    in_step = matcher().match(ours, theirs)
    shuffled = matcher().match(ours, theirs[::-1])
    assert (in_step.matched, kinds(in_step)) == (shuffled.matched, kinds(shuffled))
    assert sorted((b.kind, b.ref) for b in in_step.breaks) == sorted((b.kind, b.ref) for b in shuffled.breaks)
    # repeats: E3 ours and theirs, E7 and E15 theirs; our E30 pairs with X1 by the fallback key, "" with ""
    assert kinds(in_step) == [BreakKind.DUPLICATE] * 4 + [BreakKind.PRICE_MISMATCH, BreakKind.QUANTITY_MISMATCH]
    assert in_step.matched == 39


def test_missing_breaks_carry_the_evidence_of_the_side_that_has_the_trade() -> None:
    ours, theirs = [trade("E1"), trade("E2")], [trade("E1"), trade("X9", qty="7", price="191")]
    ours[1].source, theirs[1].source = "journal fills#2", "statement.csv:3"
    result = matcher(time_window=timedelta(0)).match(ours, theirs)
    by_kind = {b.kind: b for b in result.breaks}
    assert by_kind[BreakKind.MISSING_AT_BROKER].ours["source"] == "journal fills#2"  # type: ignore[index]
    assert by_kind[BreakKind.MISSING_AT_BROKER].theirs is None
    assert by_kind[BreakKind.MISSING_INTERNALLY].theirs["source"] == "statement.csv:3"  # type: ignore[index]


def test_price_and_quantity_tolerances() -> None:
    ours, theirs = [trade("E1")], [trade("E1", qty="100.5", price="190.27")]
    assert kinds(matcher().match(ours, theirs)) == [BreakKind.PRICE_MISMATCH, BreakKind.QUANTITY_MISMATCH]
    assert kinds(matcher(price_ticks=2, qty=Decimal("0.5")).match(ours, theirs)) == []
    assert kinds(matcher(price_ticks=1, qty=Decimal("0.5")).match(ours, theirs)) == [BreakKind.PRICE_MISMATCH]


def test_an_instrument_without_a_tick_size_matches_prices_exactly() -> None:
    ours, theirs = [trade("E1", instrument="ZZZ")], [trade("E1", instrument="ZZZ", price="190.26")]
    assert kinds(matcher(price_ticks=5).match(ours, theirs)) == [BreakKind.PRICE_MISMATCH]


def test_fallback_key_pairs_trades_without_a_common_id() -> None:
    ours = [trade("E1", seconds=0), trade("E2", qty="50", seconds=10)]
    theirs = [trade("", qty="50", seconds=40), trade("B-77", seconds=-30)]    # the broker's own ids, or none
    result = matcher(time_window=timedelta(minutes=1)).match(ours, theirs)
    assert result.breaks == [] and result.matched == 2


def test_fallback_respects_the_time_window_and_the_side() -> None:
    ours = [trade("E1", seconds=0)]
    far = matcher(time_window=timedelta(seconds=30)).match(ours, [trade("", seconds=31)])
    assert kinds(far) == [BreakKind.MISSING_AT_BROKER, BreakKind.MISSING_INTERNALLY]
    other_side = matcher().match(ours, [trade("", side=Side.SELL)])
    assert kinds(other_side) == [BreakKind.MISSING_AT_BROKER, BreakKind.MISSING_INTERNALLY]


def test_fallback_classifies_a_near_match_as_a_mismatch() -> None:
    ours = [trade("E1"), trade("E2", qty="10", price="50", instrument="BTC/USD")]
    theirs = [trade("", price="190.40", seconds=5), trade("", qty="11", price="50", instrument="BTC/USD")]
    assert kinds(matcher().match(ours, theirs)) == [BreakKind.PRICE_MISMATCH, BreakKind.QUANTITY_MISMATCH]


def test_fallback_takes_the_nearest_in_time_and_each_broker_trade_once() -> None:
    ours = [trade("E1", seconds=0), trade("E2", seconds=100)]
    theirs = [trade("", seconds=95), trade("", seconds=2)]
    result = matcher(time_window=timedelta(minutes=5)).match(ours, theirs)
    assert result.breaks == [] and result.matched == 2
    twice = matcher().match([trade("E1"), trade("E2")], [trade("")])
    assert kinds(twice) == [BreakKind.MISSING_AT_BROKER]


def test_positions_by_instrument() -> None:
    trades = [trade("E1"), trade("E2", qty="30", side=Side.SELL), trade("E3", qty="5", side=Side.SELL_SHORT)]
    ours = positions_from_trades(trades, {"MSFT": Decimal(10)})
    assert ours == {"AAPL": Decimal(65), "MSFT": Decimal(10)}
    assert match_holdings(ours, {"AAPL": Decimal(65), "MSFT": Decimal(10)}, Decimal(0), Category.POSITION) == []
    breaks = match_holdings(ours, {"AAPL": Decimal(64), "SPY": Decimal(3)}, Decimal(0), Category.POSITION)
    assert {(b.ref, b.kind) for b in breaks} == {("AAPL", BreakKind.QUANTITY_MISMATCH),
                                                  ("MSFT", BreakKind.MISSING_AT_BROKER),
                                                  ("SPY", BreakKind.MISSING_INTERNALLY)}
    assert all(b.category is Category.POSITION for b in breaks)


def test_cash_by_currency_with_base_legs_and_commissions() -> None:
    buy = trade("E1", qty="2", price="100", instrument="BTC/USD")
    buy.commission = Decimal("0.5")
    sell = trade("E2", qty="10", price="190", side=Side.SELL)
    legs = {"BTC/USD": ("USD", "BTC", Decimal(1)), "AAPL": ("USD", None, Decimal(1))}
    cash = cash_from_trades([buy, sell], legs.__getitem__, {"USD": Decimal(1000)})
    assert cash == {"USD": Decimal("1000") - Decimal("200.5") + Decimal("1900"), "BTC": Decimal(2)}
    assert match_holdings(cash, {"USD": Decimal("2699.495"), "BTC": Decimal(2)}, Decimal("0.01"), Category.CASH) == []
    [wrong] = match_holdings(cash, {"USD": Decimal("2699.40"), "BTC": Decimal(2)}, Decimal("0.01"), Category.CASH)
    assert wrong.kind is BreakKind.QUANTITY_MISMATCH and wrong.ref == "USD" and wrong.category is Category.CASH


def test_settlement_dates_follow_the_cycle_and_the_holiday_calendar() -> None:
    symbols = SymbolMaster.from_toml((REPO / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    rules = SettlementRules(symbols, load_calendars(REPO / "specs" / "recon" / "calendars"))
    assert rules.settle_date("AAPL", date(2026, 11, 20)) == date(2026, 11, 23)      # Friday -> Monday (T+1)
    assert rules.settle_date("AAPL", date(2026, 11, 25)) == date(2026, 11, 27)      # over Thanksgiving
    assert rules.settle_date("AAPL", date(2026, 10, 9)) == date(2026, 10, 13)       # Columbus Day: no settlement
    assert rules.settle_date("AAPL", date(2026, 12, 31)) == date(2027, 1, 4)        # New Year, then a weekend
    assert rules.settle_date("BTC/USD", date(2026, 11, 21)) == date(2026, 11, 21)   # crypto T+0 on a Saturday
    assert rules.settle_date("NOT-LISTED", date(2026, 11, 21)) == date(2026, 11, 21)
    calendar = Calendar("x", True, frozenset({date(2026, 11, 23)}))
    assert calendar.add_business_days(date(2026, 11, 20), 2) == date(2026, 11, 25)


def test_the_settlement_calendar_does_not_run_out_of_years() -> None:
    symbols = SymbolMaster.from_toml((REPO / "specs" / "symbols.toml").read_text(encoding="utf-8"))
    rules = SettlementRules(symbols, load_calendars(REPO / "specs" / "recon" / "calendars"))
    assert rules.settle_date("AAPL", date(2028, 11, 22)) == date(2028, 11, 24)      # over Thanksgiving 2028
    assert rules.settle_date("AAPL", date(2031, 10, 10)) == date(2031, 10, 14)      # Columbus Day 2031 (Fed)
    assert rules.settle_date("AAPL", date(2035, 3, 22)) == date(2035, 3, 26)        # Good Friday 2035 (NYSE)


def test_an_unknown_market_calendar_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "bad"\nmarkets = ["XNYS", "NOPE"]\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="NOPE"):
        load_calendars(tmp_path)
