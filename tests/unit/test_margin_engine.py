"""Margin engine formulas against hand-computed books, and its properties (hypothesis)."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixgw.model.margin import (
    Balance,
    MarginMode,
    MarginState,
    MissingPrice,
    Pool,
    Thresholds,
    Valuation,
    VenueAccount,
    account_figures,
    desk_figures,
    margin_state,
    pool_figures,
)
from fixgw.model.margin_haircuts import AssetRule, KinkRate, MarginTable, MarginTableError, realized_vol_daily
from fixgw.model.margin_interest import accrue_interest, drift_pct, pb_way
from fixgw.model.margin_stress import Shock, deltas, parse_shock, stress

D = Decimal
TABLE = MarginTable({
    "USD": AssetRule("USD", cash=True),
    "BTC": AssetRule("BTC", haircut=D("0.10"), maintenance=D("0.10"), initial=D("0.20")),
    "ETH": AssetRule("ETH", haircut=D("0.15"), maintenance=D("0.15"), initial=D("0.30")),
})
PRICES = {"BTC": D(50_000), "ETH": D(3_000)}
VALUATION = Valuation(PRICES, TABLE)


def cross(*balances: Balance, venue: str = "pb") -> VenueAccount:
    return VenueAccount(venue, "USD", MarginMode.CROSS, (Pool("cross", balances),))


def test_long_only_book() -> None:
    # C = 2 x 50,000 x 0.9 + 10,000 = 100,000; M = 100,000 x 0.10; I = 100,000 x 0.20; nothing owed
    figures = account_figures(cross(Balance("BTC", D(2)), Balance("USD", D(10_000))), VALUATION, Thresholds())
    total = figures.total
    assert (total.collateral_value, total.liabilities, total.equity) == (D(100_000), D(0), D(100_000))
    assert (total.requirement_maintenance, total.requirement_initial) == (D(10_000), D(20_000))
    assert figures.margin_ratio == D(10) and total.excess == D(90_000)
    assert figures.liquidation_distance_pct is None   # no debt: no fall brings equity to the requirement
    assert figures.state is MarginState.OK


def test_long_short_book_liquidates_on_a_rise() -> None:
    # long 2 BTC, short 60 ETH (180,000), 200,000 USD: C = 90,000 + 200,000; L = 180,000; E = 110,000
    # M = 100,000 x 0.10 + 180,000 x 0.15 = 37,000; E - M at a move s: 200,000 - 127,000 s = 0 -> s = 1.5748...
    book = cross(Balance("BTC", D(2)), Balance("ETH", D(-60)), Balance("USD", D(200_000)))
    figures = account_figures(book, VALUATION, Thresholds())
    total = figures.total
    assert (total.collateral_value, total.liabilities, total.equity) == (D(290_000), D(180_000), D(110_000))
    assert (total.requirement_maintenance, total.requirement_initial) == (D(37_000), D(74_000))
    assert figures.margin_ratio == D(110_000) / D(37_000)
    move = total.liquidation_move_pct
    assert move is not None and move > 0
    assert move.quantize(D("0.0001")) == (D(200_000) / D(127_000) - 1).scaleb(2).quantize(D("0.0001"))


def test_borrowed_usd_book() -> None:
    # 2 BTC bought with 60,000 USD borrowed: C = 90,000, L = 60,000, E = 30,000, M = 10,000, ratio 3
    # E - M at s: 80,000 s - 60,000 = 0 -> s = 0.75: a 25% fall
    book = cross(Balance("BTC", D(2)), Balance("USD", D(0), borrowed=D(60_000)))
    figures = account_figures(book, VALUATION, Thresholds())
    assert figures.total.equity == D(30_000) and figures.margin_ratio == D(3)
    assert figures.total.excess == D(20_000)
    assert figures.total.liquidation_move_pct is not None
    assert figures.total.liquidation_move_pct.quantize(D("0.000001")) == D("-25.000000")
    lines = {line.asset: line for line in figures.total.assets}
    assert lines["USD"].value == D(-60_000) and lines["BTC"].value == D(90_000)


def test_accrued_interest_is_a_liability_at_price() -> None:
    book = cross(Balance("BTC", D(0), borrowed=D(1), interest=D("0.01")), Balance("USD", D(100_000)))
    total = account_figures(book, VALUATION, Thresholds()).total
    assert total.liabilities == D("1.01") * D(50_000)
    assert total.requirement_maintenance == D("1.01") * D(50_000) * D("0.10")   # short 1.01 BTC net


def test_cross_versus_isolated() -> None:
    # pool A: 1 BTC on 40,000 USD borrowed: C 45,000, L 40,000, E 5,000, M 5,000 -> ratio 1 (critical)
    # pool B: 100,000 USD idle. Cross: one pool, E 105,000, M 5,000 -> ratio 21 (ok)
    a = (Balance("BTC", D(1)), Balance("USD", D(0), borrowed=D(40_000)))
    b = (Balance("USD", D(100_000)),)
    isolated = VenueAccount("pb", "USD", MarginMode.ISOLATED, (Pool("BTCUSD", a), Pool("USD", b)))
    joined = VenueAccount("pb", "USD", MarginMode.CROSS, (Pool("cross", a + b),))
    iso = account_figures(isolated, VALUATION, Thresholds())
    crossed = account_figures(joined, VALUATION, Thresholds())
    assert iso.margin_ratio == D(1) and iso.state is MarginState.CRITICAL
    assert [p.margin_ratio for p in iso.pools] == [D(1), None]
    assert iso.total.liquidation_distance_pct == D(0)
    assert crossed.margin_ratio == D(21) and crossed.state is MarginState.OK
    assert iso.total.equity == crossed.total.equity == D(105_000)


def test_volatility_scaled_haircut() -> None:
    # returns +a, -a, +a with a = ln 1.1: sample variance 4a^2/3, sigma = 2a/sqrt(3) (daily observations)
    sigma = realized_vol_daily([D(100), D(110), D(100), D(110)], timedelta(days=1))
    a = D("1.1").ln()
    assert sigma is not None and abs(sigma - 2 * a / D(3).sqrt()) < D("1e-20")
    rule = AssetRule("BTC", haircut=D("0.10"), vol_k=D(3), vol_floor=D("0.05"), vol_cap=D("0.50"),
                     horizon_days=D(2), maintenance=D("0.10"))
    expected = 3 * sigma * D(2).sqrt()   # 0.4669...
    assert abs(rule.haircut_for(sigma) - expected) < D("1e-20") and D("0.466") < expected < D("0.467")
    assert rule.haircut_for(sigma, D(2)) == D("0.50")             # the volatility shock hits the cap
    assert rule.haircut_for(D("0.001")) == D("0.05")              # and a calm market the floor
    assert rule.haircut_for(None) == D("0.10")                    # no history: the fixed fallback
    valuation = Valuation(PRICES, MarginTable({"BTC": rule}), sigmas={"BTC": sigma})
    total = pool_figures(Pool("p", (Balance("BTC", D(1)),)), "USD", valuation)
    assert total.collateral_value == D(50_000) * (1 - expected)


def test_realized_vol_scales_to_a_day() -> None:
    hourly = realized_vol_daily([D(100), D(110), D(100), D(110)], timedelta(hours=1))
    daily = realized_vol_daily([D(100), D(110), D(100), D(110)], timedelta(days=1))
    assert hourly is not None and daily is not None
    assert abs(hourly - daily * D(24).sqrt()) < D("1e-20")
    assert realized_vol_daily([D(1), D(2)], timedelta(days=1)) is None


def test_states_follow_the_thresholds_and_a_margin_call() -> None:
    levels = Thresholds()
    assert [margin_state(D(r), levels) for r in ("1.6", "1.5", "1.49", "1.25", "1.24", "1.1", "1.09")] == [
        MarginState.OK, MarginState.OK, MarginState.WARN, MarginState.WARN, MarginState.REDUCE_ONLY,
        MarginState.REDUCE_ONLY, MarginState.CRITICAL]
    assert margin_state(None, levels) is MarginState.OK
    assert margin_state(D(5), levels, margin_call=True) is MarginState.CRITICAL


def test_a_missing_price_is_an_error_not_zero() -> None:
    with pytest.raises(MissingPrice, match="SOL"):
        account_figures(cross(Balance("SOL", D(1))), VALUATION, Thresholds())


def test_desk_total_with_and_without_cross_venue_netting() -> None:
    rich = account_figures(cross(Balance("USD", D(100_000)), Balance("BTC", D(1)), venue="a"), VALUATION,
                           Thresholds())
    poor = account_figures(cross(Balance("BTC", D(1)), Balance("USD", D(0), borrowed=D(44_000)), venue="b"),
                           VALUATION, Thresholds())
    assert poor.total.excess == D(-4_000)   # 45,000 - 44,000 - 5,000
    netted = desk_figures([rich, poor], cross_venue_netting=True)
    apart = desk_figures([rich, poor])
    assert netted.excess == rich.total.excess + poor.total.excess
    assert apart.excess == D(-4_000)
    assert netted.equity == apart.equity == rich.total.equity + poor.total.equity


def test_interest_venue_rate_else_kink_model() -> None:
    kink = KinkRate(D("0.02"), D("0.10"), D("1.00"), D("0.80"), line=D(100_000))
    table = MarginTable({"USD": AssetRule("USD", cash=True, interest=kink), "BTC": TABLE.rule("BTC")})
    book = cross(Balance("BTC", D(2)), Balance("USD", D(0), borrowed=D(90_000)))
    # U = 0.9: 0.02 + 0.10 x 0.8 + 1.00 x 0.1 = 0.20 a year; a day: 90,000 x 0.20 / 365
    [model] = accrue_interest(book, table)
    assert (model.source, model.annual_rate) == ("model", D("0.20"))
    assert model.accrued == D(90_000) * D("0.20") / D(365)
    venue = VenueAccount("pb", "USD", MarginMode.CROSS, book.pools, borrow_rates={"USD": D("0.07")})
    [reported] = accrue_interest(venue, table, D(2))
    assert (reported.source, reported.accrued) == ("venue", D(90_000) * D("0.07") * 2 / D(365))


def test_stress_and_delta() -> None:
    book = cross(Balance("BTC", D(2)), Balance("USD", D(0), borrowed=D(60_000)))
    [minus20, vol] = stress([book], {"pb": VALUATION}, [parse_shock("-20%"), Shock("vol", {}, D(2))],
                            {"pb": Thresholds()})
    # -20%: C = 2 x 40,000 x 0.9 = 72,000; E = 12,000; M = 8,000 -> ratio 1.5
    assert minus20.accounts[0].margin_ratio == D("1.5") and minus20.accounts[0].total.excess == D(4_000)
    # vol x2 doubles the fixed 10% haircut: C = 80,000, E = 20,000, M = 10,000
    assert vol.accounts[0].margin_ratio == D(2)
    assert parse_shock("BTC:-30%,vol:x1.5").moves_pct == {"BTC": D(-30)}
    [delta] = deltas([book], {"pb": VALUATION})
    assert (delta.asset, delta.quantity, delta.notional) == ("BTC", D(2), D(100_000))


def test_drift_is_computed_the_pb_way() -> None:
    book = cross(Balance("BTC", D(2)), Balance("USD", D(0), borrowed=D(60_000), interest=D(10)))
    ours, theirs = pb_way(book, VALUATION, {"margin_level": "1.66"}, "margin_level")
    assert ours == D(100_000) / D(60_010) and theirs == D("1.66")   # no haircut in Binance's margin level
    drift = drift_pct(ours, theirs)
    assert drift is not None and D("0.38") < drift < D("0.39")
    equity, _ = pb_way(book, VALUATION, {}, "margin_equity")
    assert equity == D(39_990)
    assert drift_pct(D(1), None) is None and drift_pct(D(1), D(0)) is None


def test_the_shipped_haircut_table_loads_and_bad_entries_name_their_key() -> None:
    path = Path(__file__).resolve().parents[2] / "specs" / "margin" / "haircuts.toml"
    table = MarginTable.from_mapping(tomllib.loads(path.read_text()))
    assert table.rule("BTC").volatility_scaled and table.rule("USD").cash
    assert table.rule("DOGE").maintenance == D("0.10")   # an unlisted asset takes the crypto class
    with pytest.raises(MarginTableError, match=r"asset\.BTC\.haircut"):
        MarginTable.from_mapping({"asset": {"BTC": {"haircut": 0.1}}})
    with pytest.raises(MarginTableError, match=r"asset\.BTC\.haircut"):
        MarginTable.from_mapping({"asset": {"BTC": {"haircut": "1.5"}}})
    with pytest.raises(MarginTableError, match=r"asset\.BTC\.haircutt"):
        MarginTable.from_mapping({"asset": {"BTC": {"haircutt": "0.1"}}})


money = st.decimals(min_value=D(0), max_value=D(1_000_000), places=2)
quantity = st.decimals(min_value=D("0.01"), max_value=D(100), places=2)
price = st.decimals(min_value=D(1), max_value=D(100_000), places=2)


@settings(max_examples=60, deadline=None)
@given(btc=quantity, eth=quantity, cash=money, debt=money, btc_px=price, eth_px=price,
       fall=st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2))
def test_the_ratio_falls_as_prices_fall_for_a_long_book(btc: Decimal, eth: Decimal, cash: Decimal, debt: Decimal,
                                                        btc_px: Decimal, eth_px: Decimal, fall: Decimal) -> None:
    # financed long (USD borrowed beyond the USD held): the ratio falls with the price; any long: the excess does
    # (an unlevered long's ratio rises as it falls, since the requirement shrinks faster than the equity)
    def at(moved: Decimal) -> tuple[Decimal | None, Decimal]:
        valuation = Valuation({"BTC": btc_px * moved, "ETH": eth_px * moved}, TABLE)
        figures = pool_figures(book, "USD", valuation, with_distance=False)
        return figures.margin_ratio, figures.excess

    book = Pool("p", (Balance("BTC", btc), Balance("ETH", eth), Balance("USD", min(cash, debt), borrowed=debt)))
    (ratio_before, excess_before), (ratio_after, excess_after) = at(D(1)), at(1 - fall)
    assert ratio_before is not None and ratio_after is not None
    assert ratio_after <= ratio_before and excess_after <= excess_before


@settings(max_examples=60, deadline=None)
@given(btc=st.decimals(min_value=D(-50), max_value=D(50), places=2),
       eth=st.decimals(min_value=D(-500), max_value=D(500), places=1), cash=money, debt=money)
def test_at_the_liquidation_distance_the_ratio_is_one(btc: Decimal, eth: Decimal, cash: Decimal,
                                                      debt: Decimal) -> None:
    book = Pool("p", (Balance("BTC", btc), Balance("ETH", eth), Balance("USD", cash, borrowed=debt)))
    figures = pool_figures(book, "USD", VALUATION)
    move = figures.liquidation_move_pct
    if move is None or move == 0:
        return
    factor = 1 + move / 100
    moved = pool_figures(book, "USD", VALUATION.moved(factor, "USD"), with_distance=False)
    assert moved.margin_ratio is not None and abs(moved.margin_ratio - 1) < D("1e-9")
    # and a move 1% smaller, up or down, leaves the ratio above 1
    for nearer in (1 + move * D("0.0099"), 1 - move * D("0.0099")):
        if nearer > 0:
            closer = pool_figures(book, "USD", VALUATION.moved(nearer, "USD"), with_distance=False)
            assert closer.margin_ratio is None or closer.margin_ratio > 1


def test_the_engine_is_pure() -> None:
    import subprocess
    import sys

    code = ("import sys, fixgw.model.margin, fixgw.model.margin_stress, fixgw.model.margin_interest;"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'httpx', 'quickfix', 'asyncio', 'socket', 'threading', 'fixgw') and "
            "not m.startswith('fixgw.model'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [name for name in loaded.split() if name not in ("fixgw", "threading")] == []
