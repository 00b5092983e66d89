"""The crypto-PB simulator's price process: a seeded random walk, steps only every step_s, frozen assets hold."""

from __future__ import annotations

from decimal import Decimal

from fixgw.sim.crypto_pb.prices import PriceProcess

D = Decimal


def walk(process: PriceProcess, steps: int) -> list[dict[str, Decimal]]:
    prices = {"BTC": D("65000.00"), "ETH": D("3500.00")}
    seen = []
    for step in range(steps):
        process.advance(prices, 10.0 + step)
        seen.append(dict(prices))
    return seen


def test_a_seeded_walk_repeats_keeps_the_price_scale_and_skips_frozen_assets() -> None:
    first = walk(PriceProcess(vol_bps=D(20), step_s=1, seed=5, frozen={"ETH"}), 20)
    assert first == walk(PriceProcess(vol_bps=D(20), step_s=1, seed=5, frozen={"ETH"}), 20)
    assert len({p["BTC"] for p in first}) > 10
    assert all(p["ETH"] == D("3500.00") for p in first)
    assert all(p["BTC"].as_tuple().exponent == -2 and p["BTC"] > 0 for p in first)


def test_no_volatility_or_too_soon_moves_nothing() -> None:
    prices = {"BTC": D("65000.00")}
    assert not PriceProcess().advance(prices, 100.0)
    process = PriceProcess(vol_bps=D(20), step_s=5)
    assert process.advance(prices, 100.0)
    assert not process.advance(prices, 104.0)
    assert process.advance(prices, 105.0)
